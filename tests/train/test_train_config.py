"""Strict experiment configs: bad keys and types are named; --set overrides; schedules."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import train_tiny as T
import yaml

from wavekit.errors import ConfigError
from wavekit.train import TrainConfig, experiment_from_dict, experiment_to_yaml, load_experiment, lr_factor

BASE = {
    "kind": T.KIND,
    "model": {"hidden": 5, "act": {"slope": 0.2}},
    "data": {"items": 12},
    "train": {"steps": 3, "lr": 0.002, "device": "cpu"},
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def with_change(section: str | None, key: str, value) -> dict:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    (data[section] if section else data)[key] = value
    return data


def test_load_and_override(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, BASE), ["model.hidden=16", "train.adam_betas=[0.8, 0.95]",
                                                  "model.act.slope=0.3", "data.augment=true"])
    assert exp.kind == T.KIND
    assert isinstance(exp.model, T.TinyConfig) and exp.model.hidden == 16 and exp.model.act.slope == 0.3
    assert isinstance(exp.data, T.TinyDataConfig) and exp.data.items == 12 and exp.data.augment is True
    assert isinstance(exp.train, TrainConfig) and exp.train.lr == 0.002 and exp.train.adam_betas == (0.8, 0.95)
    assert exp.train.batch_size == TrainConfig().batch_size  # defaults fill the rest
    # The resolved YAML (as written to OUT/config.yaml) loads back to the same experiment.
    assert experiment_from_dict(yaml.safe_load(experiment_to_yaml(exp))) == exp


@pytest.mark.parametrize(
    "data, key",
    [
        (with_change(None, "trian", {}), "trian"),
        (with_change("train", "stepz", 3), "train.stepz"),
        (with_change("model", "hiden", 3), "model.hiden"),
        (with_change("model", "act", {"slop": 1.0}), "model.act.slop"),
        (with_change("model", "act", {"slope": "steep"}), "model.act.slope"),
        (with_change("train", "lr", "fast"), "train.lr"),
        (with_change("train", "steps", 2.5), "train.steps"),
        (with_change("train", "amp", "yes"), "train.amp"),
        (with_change("data", "items", [1]), "data.items"),
        (with_change("train", "lr_schedule", "linear"), "train.lr_schedule"),
        (with_change("train", "adam_betas", [0.9]), "train.adam_betas"),
        (with_change(None, "kind", "no_such_model"), "no_such_model"),
    ],
)
def test_bad_key_or_type_names_the_key(tmp_path: Path, data: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_experiment(write(tmp_path, data))


@pytest.mark.parametrize(
    "override, key",
    [("train.steps=abc", "train.steps"), ("model.act=3", "model.act"), ("model.widht=3", "model.widht"),
     ("trainer.lr=1", "trainer")],
)
def test_bad_override_names_the_key(tmp_path: Path, override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_experiment(write(tmp_path, BASE), [override])


@pytest.mark.parametrize(
    "override, message",
    [("train.steps=0", "steps must be > 0"), ("train.ema_decay=1.0", "ema_decay"),
     ("model.hidden=0", "hidden must be > 0"), ("train.grad_clip=-1", "grad_clip")],
)
def test_invalid_values_are_config_errors(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_experiment(write(tmp_path, BASE), [override])


def test_lr_schedules_follow_their_formulas() -> None:
    warm = lr_factor("constant", steps=100, warmup_steps=4)
    assert [warm(k) for k in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    cos = lr_factor("cosine", steps=104, warmup_steps=4, min_ratio=0.1)
    assert cos(4) == pytest.approx(1.0)
    assert cos(54) == pytest.approx(0.1 + 0.9 * 0.5)  # half way down
    assert cos(104) == pytest.approx(0.1) and cos(500) == pytest.approx(0.1)
    expo = lr_factor("exponential", steps=10, gamma=0.5, decay_steps=10)
    assert expo(10) == pytest.approx(0.5) and expo(5) == pytest.approx(math.sqrt(0.5))
    step = lr_factor("step", steps=10, gamma=0.5, decay_steps=10)
    assert [step(k) for k in (0, 9, 10, 19, 20)] == [1.0, 1.0, 0.5, 0.5, 0.25]
