"""``wavekit train`` and ``wavekit info``: thin click wrappers over :mod:`wavekit.train`.

Also the checks every training command (``train``, ``image train``) makes
before the expensive part: the config file is read naming itself in every
error (recipe configs' ``recipe:`` and ``mel:`` sections are skipped), the
output folder is proved writable, and after the data is built, a crop longer
than every item is pointed out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from wavekit.cli_options import checkpoint_option, outdir_option, pick_checkpoint, pick_outdir
from wavekit.errors import ConfigError

# Sections of a recipe config (recipes/common/conf.py) that are not the trainer's.
RECIPE_SECTIONS = {"recipe": "the recipe's run.sh", "mel": "`wavekit preprocess --config`"}


def load_experiment_file(path: str | Path, sets: tuple[str, ...] | list[str] = ()) -> Any:
    """The experiment in YAML file ``path`` with ``--set`` overrides; every config error names the file.

    A recipe config's ``recipe:`` and ``mel:`` sections are dropped with one
    line on stderr; a further experiment in it (a mapping with its own
    ``kind``, e.g. ``tts:``) is refused saying how to train it.
    """
    from wavekit.config import apply_overrides, load_yaml
    from wavekit.train.experiment import SECTIONS, experiment_from_dict

    data = load_yaml(path)
    skipped = [k for k in RECIPE_SECTIONS if k in data]
    if skipped and "kind" in data:
        readers = ", ".join(f"{k}: by {RECIPE_SECTIONS[k]}" for k in skipped)
        click.echo(f"{path}: ignoring the {', '.join(k + ':' for k in skipped)} section(s) (read {readers})", err=True)
        data = {k: v for k, v in data.items() if k not in RECIPE_SECTIONS}
    for key, value in data.items():
        if key not in SECTIONS and isinstance(value, dict) and "kind" in value:
            raise ConfigError(
                f"{path}: {key}: is a second experiment; write it to its own file with "
                f"`python recipes/common/conf.py experiment {path} OUT.yaml --section {key}` and train that"
            )
    try:
        return experiment_from_dict(apply_overrides(data, sets))
    except ConfigError as e:
        try:
            experiment_from_dict(data)
        except ConfigError as alone:
            if str(alone) == str(e):
                raise ConfigError(f"{path}: {e}") from None
        raise ConfigError(f"{e} (after --set {' '.join(sets)})" if sets else f"{path}: {e}") from None


def prepare_output(out_dir: str | Path) -> list[Path]:
    """Prove ``out_dir`` and its ``checkpoints/`` writable (OutputError otherwise); clean dead runs' temporaries.

    Returns the folders this call created (so a failure before training can remove them again).
    """
    from wavekit.atomic import check_writable_dir, clean_stale_temps

    out = Path(out_dir)
    created = [d for d in (out / "checkpoints", out) if not d.exists()]
    for folder in (check_writable_dir(out), check_writable_dir(out / "checkpoints")):
        clean_stale_temps(folder)
    return created


def build_trainer(exp: Any, out_dir: str | Path, resume: bool, quiet: bool, main: bool) -> Any:
    """:func:`prepare_training` after :func:`prepare_output`; a failure leaves no new empty folders.

    Write failures here (before any training) are one OutputError naming the path.
    """
    import contextlib

    from wavekit.atomic import output_errors
    from wavekit.train.experiment import prepare_training

    created = prepare_output(out_dir) if main else []
    try:
        with output_errors(out_dir):
            trainer = prepare_training(exp, out_dir, resume=resume, progress=not quiet)
    except BaseException:
        for d in created:
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    if main:
        from wavekit.atomic import check_free_space

        check_free_space(trainer.ckpt_dir, checkpoint_bytes(trainer), "a checkpoint (weights and optimizer state)")
    note = crop_warning(trainer.train_data) if main else None
    if note:
        click.echo(note, err=True)
    return trainer


def checkpoint_bytes(trainer: Any) -> int:
    """About the size of one checkpoint: weights, Adam's two moments, EMA copy, and a little more."""
    weights = sum(p.numel() * p.element_size() for p in trainer.model.parameters())
    return (4 + (trainer.ema is not None)) * weights + 32 * 1024


def crop_warning(dataset: Any) -> str | None:
    """A warning when the dataset's random crop is longer than every item it crops (all padding then)."""
    crop = getattr(dataset, "crop_samples", None)
    rows = getattr(dataset, "rows", None)
    if not crop or not rows or not all(isinstance(r, dict) and "samples" in r for r in rows):
        return None
    longest = max(int(r["samples"]) for r in rows)
    if crop <= longest:
        return None
    return (f"warning: data.crop_samples={crop} is longer than every training item (the longest has {longest} "
            f"samples), so every crop ends in padding (silence); lower data.crop_samples to at most {longest}")


def training_errors(out_dir: str | Path) -> Any:
    """Write failures while training: one OutputError saying that the last checkpoint is kept."""
    from wavekit.atomic import output_errors

    return output_errors(out_dir, "the checkpoints saved so far are kept: fix this, then rerun with --resume")


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Experiment YAML (sections: kind, model, data, train).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set model.layers=20 --set train.lr=5e-4 (repeatable).")
@outdir_option("Output folder: config.yaml, metrics.jsonl, checkpoints/.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in -o/--outdir.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Same as --set train.device=...")
@click.option("--threads", type=click.IntRange(min=0), default=None,
              help="Same as --set train.threads=... (CPU threads per process; 0 = auto).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_path: str, sets: tuple[str, ...], outdir: str | None, old_outdir: str | None, resume: bool,
          device: str | None, threads: int | None, quiet: bool) -> None:
    """Train the model described by --config; checkpoints go to OUTDIR/checkpoints.

    Runs in one process, or one process per device under
    `torchrun --nproc_per_node N -m wavekit train ...` (batch_size is per
    process). Ctrl-C saves a checkpoint; rerun with --resume to continue.

    \b
    Example:
      wavekit train --config conf/vocoder.yaml -o exp/voc/train
    """
    from wavekit.train.distributed import env_info

    out_dir = pick_outdir(outdir, old_outdir)
    overrides = list(sets) + ([f"train.device={device}"] if device else [])
    overrides += [f"train.threads={threads}"] if threads is not None else []
    exp = load_experiment_file(config_path, overrides)
    main = env_info().is_main
    trainer = build_trainer(exp, out_dir, resume, quiet, main)
    with training_errors(out_dir):
        _train(trainer, exp, resume, main)


def _train(trainer: Any, exp: Any, resume: bool, main: bool) -> None:
    if main:
        t = exp.train
        world = trainer.info.world_size
        click.echo(
            f"training {exp.kind} ({sum(p.numel() for p in trainer.model.parameters()):,} parameters) "
            f"on {trainer.device} x{world} for {t.steps} steps, "
            f"{t.batch_size * t.grad_accum * world} items per step"
        )
        click.echo(trainer.threads.describe())
        click.echo(f"precision: {trainer.precision}")
        click.echo(f"checkpoints: {trainer.ckpt_dir} (last.pt, best.pt, every {t.save_every or t.steps} steps); "
                   f"metrics: {trainer.metrics_path}")
    metrics = trainer.train(resume=resume)
    if main:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
        click.echo(f"done at step {trainer.step}: {shown}; latest checkpoint {trainer.ckpt_dir / 'last.pt'}")


@click.command("info")
@checkpoint_option("Checkpoint (.pt) to describe; also accepted positionally.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def info(checkpoint: str | None, old_checkpoint: str | None, as_json: bool) -> None:
    """Describe a checkpoint: kind, step, parameters, receptive field, config and metrics.

    With no checkpoint, list the models embedded in wavekit (what `vocode` and
    `synthesize` use when given none); `pretrained:NAME` describes one of them.

    \b
    Example:
      wavekit info
      wavekit info pretrained:vocoder
      wavekit info -c exp/voc/train/checkpoints/best.pt
      wavekit info exp/voc/train/checkpoints/best.pt --json
    """
    if checkpoint is None and old_checkpoint is None:
        _list_pretrained(as_json)
        return
    checkpoint = pick_checkpoint(checkpoint, old_checkpoint, deprecated=False)  # a file to describe: both read well
    from wavekit.pretrained import is_spec, resolve_source
    from wavekit.train.checkpoint import summarize

    s = summarize(resolve_source(checkpoint))  # an embedded model: its file
    if is_spec(checkpoint):
        s["pretrained"] = _describe_pretrained(checkpoint)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    if "pretrained" in s:
        p = s["pretrained"]
        click.echo(f"embedded:    {p['name']}: {p['description']}")
        click.echo(f"trained on:  {p['training_data']}")
        click.echo(f"model card:  {p['card'] or '(not installed)'}")
    click.echo(f"checkpoint:  {s['path']}")
    click.echo(f"kind:        {s['kind']}")
    click.echo(f"step:        {s['step']}" + (f" of {s['total_steps']}" if s["total_steps"] else ""))
    click.echo(f"parameters:  {s['parameters']:,}" + ("  (EMA weights)" if s["ema"] else ""))
    if "receptive_field" in s:
        line = f"receptive field: {s['receptive_field']} samples"
        if "receptive_field_ms" in s:
            line += f" = {s['receptive_field_ms']:.1f} ms at {s['sample_rate']} Hz"
        click.echo(line)
    if s["metrics"]:
        click.echo("metrics:     " + ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in s["metrics"].items()))
    if s["extra"]:
        click.echo("extra:       " + ", ".join(s["extra"]))
    click.echo("config:")
    click.echo("  " + yaml.safe_dump(s["config"], sort_keys=False).rstrip().replace("\n", "\n  "))


def _describe_pretrained(name: str) -> dict[str, Any]:
    """What ``wavekit info`` says of an embedded model (parameters only when its file is installed)."""
    from wavekit.checkpoint import load
    from wavekit.pretrained import card_path, entry, path_of

    e, path, card = entry(name), path_of(name), card_path(name)
    out: dict[str, Any] = {
        "name": e.spec, "kind": e.kind, "description": e.description, "file": str(path),
        "installed": path.is_file(), "training_data": e.training_data,
        "card": str(card) if card.is_file() else None,
    }
    if path.is_file():
        loaded = load(e.spec)
        out.update(parameters=sum(p.numel() for p in loaded.model.parameters()), step=loaded.step,
                   file_bytes=path.stat().st_size)
    return out


def _list_pretrained(as_json: bool) -> None:
    """``wavekit info`` with no checkpoint: every embedded model, installed or not."""
    from wavekit.pretrained import REGISTRY

    models = [_describe_pretrained(name) for name in REGISTRY]
    if as_json:
        click.echo(json.dumps({"pretrained": models}, indent=2))
        return
    click.echo("models embedded in wavekit (used when vocode / synthesize get no checkpoint):")
    for m in models:
        click.echo(f"{m['name']}  ({m['kind']}) {m['description']}")
        if m["installed"]:
            click.echo(f"  parameters: {m['parameters']:,}; file {m['file_bytes'] / 1e6:.2f} MB: {m['file']}")
        else:
            click.echo(f"  not installed in this copy of wavekit ({m['file']} missing)")
        click.echo(f"  trained on: {m['training_data']}")
        click.echo(f"  model card: {m['card'] or '(not installed)'}")
    click.echo("describe one: wavekit info pretrained:NAME; describe a checkpoint: wavekit info -c FILE")
