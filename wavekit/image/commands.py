"""``wavekit image {train,sample,complete,receptive-field,eval}``: thin wrappers over wavekit.image."""

from __future__ import annotations

import click

from wavekit.cli_options import checkpoint_option, outdir_option, pick_checkpoint, pick_outdir
from wavekit.errors import ConfigError


def _load(checkpoint: str):
    """The checkpoint as a :class:`wavekit.checkpoint.LoadedModel`; ConfigError unless it is an image model."""
    from wavekit.checkpoint import load
    from wavekit.image.base import ImageModel

    loaded = load(checkpoint)
    if not isinstance(loaded.model, ImageModel):
        raise ConfigError(f"{checkpoint}: not an image model checkpoint (use the matching wavekit command)")
    return loaded


def _valid_images(loaded, checkpoint: str):
    from wavekit.config import from_dict
    from wavekit.image.pipeline import (
        ImageDataConfig,
        dataset_levels,
        load_splits,
        prepare,
    )

    info = loaded.image
    if not info:
        raise ConfigError(f"{checkpoint}: has no image data description; was it trained with `wavekit image train`?")
    cfg = from_dict(ImageDataConfig, info["data"], prefix="data")
    _, (vx, vy), native = load_splits(cfg)
    import torch

    return torch.from_numpy(prepare(vx, cfg, native)).long(), dataset_levels(cfg, native), vy


CHECKPOINT_HELP = "Image model checkpoint (.pt) written by `wavekit image train`."


def _check_output(output: str) -> None:
    """Prove the folder of ``output`` writable before any sampling (OutputError otherwise)."""
    from pathlib import Path

    from wavekit.atomic import check_writable_dir

    check_writable_dir(Path(output).parent)


def _check_label(model, label: int | None, checkpoint: str) -> None:
    if label is None:
        return
    if not model.num_classes:
        raise ConfigError(f"{checkpoint}: this model is not class-conditional (num_classes=0); drop --label")
    if not 0 <= label < model.num_classes:
        raise ConfigError(
            f"--label {label}: {checkpoint} knows classes 0..{model.num_classes - 1}; pass one of those")


@click.group("image")
def image() -> None:
    """PixelRNN, PixelCNN, Gated PixelCNN and PixelCNN++ on images."""


@image.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Experiment YAML: kind (pixelcnn|gated_pixelcnn|pixelcnnpp|pixelrnn), model, data, train.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value, e.g. --set model.layers=4.")
@outdir_option("Output folder: config.yaml, metrics.jsonl, checkpoints/.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in -o/--outdir.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_path: str, sets: tuple[str, ...], outdir: str | None, old_outdir: str | None, resume: bool,
          quiet: bool) -> None:
    """Train an image model with the shared Trainer; checkpoints go to OUTDIR/checkpoints.

    \b
    Example:
      wavekit image train --config conf/digits.yaml -o exp/digits/train
    """
    out_dir = pick_outdir(outdir, old_outdir)
    from wavekit.image.pipeline import KINDS
    from wavekit.train.commands import (
        build_trainer,
        load_experiment_file,
        training_errors,
    )

    exp = load_experiment_file(config_path, sets)
    if exp.kind not in KINDS:
        raise ConfigError(f"kind {exp.kind!r} is not an image model; use one of {', '.join(KINDS)}")
    trainer = build_trainer(exp, out_dir, resume, quiet, main=True)
    with training_errors(out_dir):
        metrics = trainer.train(resume=resume)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    click.echo(f"done at step {trainer.step}: {shown}; checkpoint {trainer.ckpt_dir / 'last.pt'}")


@image.command("sample")
@checkpoint_option(CHECKPOINT_HELP)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG grid to write.")
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True, help="Number of images.")
@click.option("--height", type=click.IntRange(min=1), default=None, help="Default: the training images' height.")
@click.option("--width", type=click.IntRange(min=1), default=None, help="Default: the training images' width.")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Sampling temperature (0 = most likely value).")
@click.option("--seed", default=0, show_default=True)
@click.option("--label", type=int, default=None, help="Class id 0..num_classes-1 (class-conditional models).")
@click.option("--naive", is_flag=True, help="Recompute the whole network per sub-pixel (no row cache).")
def sample(checkpoint, old_checkpoint, output, count, height, width, temperature, seed, label, naive) -> None:
    """Sample a grid of images from an image model.

    \b
    Example:
      wavekit image sample -c exp/digits/train/checkpoints/best.pt -o samples.png -n 16
    """
    import torch

    checkpoint = pick_checkpoint(checkpoint, old_checkpoint)
    from wavekit.image.plots import save_grid

    _check_output(output)
    loaded = _load(checkpoint)
    model = loaded.model
    _check_label(model, label, checkpoint)
    info = loaded.image or {}
    height, width = height or info.get("height"), width or info.get("width")
    if not height or not width:
        raise ConfigError("give --height and --width (the checkpoint does not record an image size)")
    y = torch.full((count,), label, dtype=torch.long) if label is not None else None
    x = model.sample(count, height, width, temperature, seed=seed, y=y, cached=not naive, progress=True)
    click.echo(f"wrote {save_grid(x, model.levels, output)}")


@image.command("complete")
@checkpoint_option(CHECKPOINT_HELP)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True,
              help="Held-out images to complete.")
@click.option("--keep-rows", type=click.IntRange(min=0), default=None,
              help="Rows kept from the top, less than the image height (default: half).")
@click.option("--samples", type=click.IntRange(min=1), default=3, show_default=True, help="Completions per image.")
@click.option("--seed", default=0, show_default=True)
def complete(checkpoint, old_checkpoint, output, count, keep_rows, samples, seed) -> None:
    """Complete the bottom of held-out images: rows are originals, then completions.

    \b
    Example:
      wavekit image complete -c exp/digits/train/checkpoints/best.pt -o completions.png --keep-rows 4
    """
    import torch

    checkpoint = pick_checkpoint(checkpoint, old_checkpoint)
    from wavekit.image.plots import save_grid

    _check_output(output)
    loaded = _load(checkpoint)
    model = loaded.model
    vx, _, vy = _valid_images(loaded, checkpoint)
    x = vx[:count]
    y = torch.from_numpy(vy[:count]).long() if model.num_classes and vy is not None else None
    keep = x.shape[2] // 2 if keep_rows is None else keep_rows
    if keep >= x.shape[2]:
        raise click.BadParameter(
            f"{keep} keeps every row of these {x.shape[2]}-row images, leaving nothing to complete; "
            f"use 0..{x.shape[2] - 1}", param_hint="--keep-rows")
    known = torch.zeros(x.shape[0], 1, *x.shape[2:], dtype=torch.bool)
    known[:, :, :keep] = True
    rows = [x] + [model.complete(x, known, seed=seed + k, y=y, progress=True) for k in range(samples)]
    click.echo(f"wrote {save_grid(torch.cat(rows), model.levels, output, nrow=x.shape[0])}")


@image.command("eval")
@checkpoint_option(CHECKPOINT_HELP)
@click.option("--batch-size", default=256, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Also write the metrics as one JSON object to this file (atomically).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON object instead of text.")
def evaluate(checkpoint, old_checkpoint, batch_size, output, as_json) -> None:
    """Held-out bits/dim (and nats per image for binary data) of an image model.

    The JSON (-o / --json) holds bits_per_dim, n_images, levels, checkpoint,
    data (the dataset name) and, for binary data, nats_per_image.

    \b
    Example:
      wavekit image eval -c exp/digits/train/checkpoints/best.pt -o exp/digits/eval.json
    """
    checkpoint = pick_checkpoint(checkpoint, old_checkpoint)
    import json

    import torch

    from wavekit.audio.io import write_text_atomic
    from wavekit.likelihood import held_out_nll

    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    loaded = _load(checkpoint)
    model = loaded.model
    vx, levels, vy = _valid_images(loaded, checkpoint)
    use_y = model.num_classes > 0
    batches = (
        {"x": vx[s : s + batch_size], "y": torch.from_numpy(vy[s : s + batch_size]).long() if use_y else None}
        for s in range(0, len(vx), batch_size)
    )
    nll = held_out_nll(model, batches)
    total = nll.total_nats
    metrics = {
        "bits_per_dim": nll.bits_per_dim,
        "n_images": len(vx),
        "levels": levels,
        "checkpoint": str(checkpoint),
        "data": str(loaded.image["data"].get("dataset", "")),
    }
    if levels == 2:
        metrics["nats_per_image"] = total / len(vx)
    if output is not None:
        write_text_atomic(output, json.dumps(metrics, indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(metrics))
        return
    click.echo(f"held-out images: {len(vx)}  bits/dim: {metrics['bits_per_dim']:.4f}")
    if levels == 2:
        click.echo(f"nats/image: {metrics['nats_per_image']:.2f}")
    if output is not None:
        click.echo(f"wrote {output}")


@image.command("receptive-field")
@click.option("--kind", type=click.Choice(["pixelcnn", "gated_pixelcnn", "pixelcnnpp", "pixelrnn"]), default=None,
              help="A freshly initialised model of this kind (or give --checkpoint).")
@click.option("-c", "--checkpoint", type=click.Path(dir_okay=False), default=None, help=CHECKPOINT_HELP)
@click.option("--layers", default=6, show_default=True, help="With --kind: number of layers.")
@click.option("--size", default=16, show_default=True, help="Image height and width.")
@click.option("--pixel", nargs=2, type=int, default=None, help="ROW COL of the target (default: centre).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG heat map.")
def receptive_field(kind, checkpoint, layers, size, pixel, output) -> None:
    """Heat map of which pixels change log p at one pixel (by perturbation, float64).

    Shows PixelCNN's blind spot (above right of the pixel) and Gated PixelCNN without it.

    \b
    Example:
      wavekit image receptive-field --kind gated_pixelcnn --layers 6 -o rf.png
    """
    import torch

    from wavekit import registry
    from wavekit.image.plots import save_heatmap
    from wavekit.image.receptive import influence_map

    if (kind is None) == (checkpoint is None):
        raise click.UsageError("give exactly one of --kind or --checkpoint")
    if checkpoint:
        model = _load(checkpoint).model
        name = type(model).__name__
    else:
        torch.manual_seed(0)
        entry = registry.get_model(kind)
        cfg = entry.config_cls(image_channels=1, levels=4, layers=layers, hidden_channels=8)
        model = entry.model_cls.from_config(cfg)
        name = f"{type(model).__name__} ({layers} layers, random weights)"
    model = model.double().eval()
    row, col = pixel if pixel else (size // 2, size // 2)
    y = torch.zeros(4, dtype=torch.long) if model.num_classes else None
    infl = influence_map(model, size, size, row, col, y=y)
    seen = (infl > 1e-12).float().numpy()
    path = save_heatmap(seen, (row, col), output, f"{name}: pixels that influence ({row}, {col})")
    click.echo(f"wrote {path}  ({int(seen.sum())} influencing pixels)")
