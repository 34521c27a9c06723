"""``wavekit train`` and ``wavekit info``: thin click wrappers over :mod:`wavekit.train`."""

from __future__ import annotations

import json

import click
import yaml


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Experiment YAML (sections: kind, model, data, train).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set model.layers=20 --set train.lr=5e-4 (repeatable).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: config.yaml, metrics.jsonl, checkpoints/.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="Same as --set train.device=...")
@click.option("--threads", type=click.IntRange(min=0), default=None,
              help="Same as --set train.threads=... (CPU threads per process; 0 = auto).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_path: str, sets: tuple[str, ...], out_dir: str, resume: bool, device: str | None,
          threads: int | None, quiet: bool) -> None:
    """Train the model described by --config; checkpoints go to OUT/checkpoints.

    Runs in one process, or one process per device under
    `torchrun --nproc_per_node N -m wavekit train ...` (batch_size is per
    process). Ctrl-C saves a checkpoint; rerun with --resume to continue.
    """
    from wavekit.train.distributed import env_info
    from wavekit.train.experiment import load_experiment, prepare_training

    overrides = list(sets) + ([f"train.device={device}"] if device else [])
    overrides += [f"train.threads={threads}"] if threads is not None else []
    exp = load_experiment(config_path, overrides)
    trainer = prepare_training(exp, out_dir, resume=resume, progress=not quiet)
    main = env_info().is_main
    if main:
        t = exp.train
        world = trainer.info.world_size
        click.echo(
            f"training {exp.kind} ({sum(p.numel() for p in trainer.model.parameters()):,} parameters) "
            f"on {trainer.device} x{world} for {t.steps} steps, "
            f"{t.batch_size * t.grad_accum * world} items per step"
        )
        click.echo(trainer.threads.describe())
        click.echo(f"checkpoints: {trainer.ckpt_dir} (last.pt, best.pt, every {t.save_every or t.steps} steps); "
                   f"metrics: {trainer.metrics_path}")
    metrics = trainer.train(resume=resume)
    if main:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
        click.echo(f"done at step {trainer.step}: {shown}; latest checkpoint {trainer.ckpt_dir / 'last.pt'}")


@click.command("info")
@click.argument("checkpoint", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def info(checkpoint: str, as_json: bool) -> None:
    """Describe a checkpoint: kind, step, parameters, receptive field, config and metrics."""
    from wavekit.train.checkpoint import summarize

    s = summarize(checkpoint)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
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
