"""Experiment configs: one YAML file that says which model to train, on what, and how.

Layout (every section is checked strictly against its dataclass)::

    kind: wavenet      # registry model kind
    model: {...}       # registry.get_model(kind).config_cls
    data: {...}        # registry.get_data(kind).config_cls
    train: {...}       # TrainConfig

``--set section.key=value`` overrides are applied before validation, so a bad
override fails exactly like a bad YAML line: a :class:`ConfigError` naming the
dotted key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from wavekit import registry
from wavekit.atomic import write_text_atomic
from wavekit.config import apply_overrides, from_dict, load_yaml, to_dict
from wavekit.errors import ConfigError
from wavekit.train import checkpoint as ckpt_io
from wavekit.train.distributed import env_info
from wavekit.train.optim import TrainConfig
from wavekit.train.trainer import Trainer

SECTIONS = ("kind", "model", "data", "train")


@dataclass
class ExperimentConfig:
    """A resolved experiment: model kind, its model and data configs, and the TrainConfig."""

    kind: str
    model: Any
    data: Any
    train: TrainConfig = field(default_factory=TrainConfig)


def experiment_from_dict(data: dict[str, Any]) -> ExperimentConfig:
    """Validate plain data (a parsed YAML file) into an :class:`ExperimentConfig`."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown config key {unknown[0]}; valid top-level keys: {', '.join(SECTIONS)}")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"kind: expected a model kind such as 'wavenet' (known: {', '.join(registry.model_kinds())})")
    model_cfg = from_dict(registry.get_model(kind).config_cls, data.get("model"), prefix="model")
    data_cfg = from_dict(registry.get_data(kind).config_cls, data.get("data"), prefix="data")
    train_cfg = from_dict(TrainConfig, data.get("train"), prefix="train")
    return ExperimentConfig(kind=kind, model=model_cfg, data=data_cfg, train=train_cfg)


def load_experiment(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Read ``path`` (YAML), apply ``--set`` style ``overrides``, validate."""
    return experiment_from_dict(apply_overrides(load_yaml(path), overrides))


def experiment_to_yaml(exp: ExperimentConfig) -> str:
    """The fully resolved config (defaults filled in) as YAML; loads back to the same experiment."""
    return yaml.safe_dump(to_dict(exp), sort_keys=False)


def prepare_training(exp: ExperimentConfig, out_dir: str | Path, resume: bool = False,
                     progress: bool = True) -> Trainer:
    """Build the model and data of ``exp`` from the registry and return a ready :class:`Trainer`.

    Writes ``OUT/config.yaml`` (the resolved config) from rank 0. Refuses to
    start over existing checkpoints without ``resume``, and to resume with a
    different model config than the one in ``OUT/config.yaml``.
    """
    out = Path(out_dir)
    cfg_path = out / "config.yaml"
    resolved = to_dict(exp)
    if resume and cfg_path.is_file():
        old = load_yaml(cfg_path)
        if old.get("kind") != resolved["kind"] or old.get("model") != resolved["model"]:
            raise ConfigError(
                f"{cfg_path} describes a different model than this config; resume with the same "
                "model settings or choose another -o/--outdir"
            )
    if not resume and ckpt_io.latest_checkpoint(out / "checkpoints") is not None:
        raise ConfigError(f"{out / 'checkpoints'} already holds checkpoints; add --resume or choose another -o/--outdir")
    ckpt_io.seed_everything(exp.train.seed)  # identical initial weights in every process
    model = registry.get_model(exp.kind).model_cls.from_config(exp.model)
    bundle = registry.get_data(exp.kind).build(exp.data, exp.model)
    if env_info().is_main:
        write_text_atomic(cfg_path, experiment_to_yaml(exp))
    return Trainer(
        model,
        bundle.train,
        valid_data=bundle.valid,
        collate=bundle.collate,
        config=exp.train,
        out_dir=out,
        checkpoint_extra=bundle.checkpoint_extra,
        kind=exp.kind,
        progress=progress,
    )
