"""``wavekit preprocess``: the CLI wrapper of :func:`wavekit.audio.preprocess.preprocess_corpus`."""

from __future__ import annotations

from pathlib import Path

import click

from wavekit.errors import ConfigError


def mel_config_from(config: Path | None, sets: tuple[str, ...]):
    """MelConfig from the ``mel:`` section of a YAML file plus ``mel.KEY=VALUE`` overrides."""
    from wavekit.audio.features import MelConfig
    from wavekit.config import apply_overrides, from_dict, load_yaml

    data = load_yaml(config) if config is not None else {}
    if config is not None and "mel" not in data:
        raise ConfigError(f"{config}: no `mel:` section; put the mel settings (e.g. hop_length) under `mel:`")
    for item in sets:
        if not item.strip().startswith("mel."):
            raise ConfigError(f"--set {item!r}: preprocess only takes mel settings, e.g. --set mel.hop_length=200")
    if config is not None:
        try:
            from_dict(MelConfig, data.get("mel"), prefix="mel")
        except ConfigError as e:
            raise ConfigError(f"{config}: {e}") from None
    data = apply_overrides({"mel": data.get("mel") or {}}, sets)
    return from_dict(MelConfig, data["mel"], prefix="mel")


@click.command("preprocess")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel worker processes.")
@click.option("--config", type=click.Path(path_type=Path), help="YAML file; its `mel:` section sets the features (other sections are ignored).")
@click.option("--set", "sets", multiple=True, metavar="mel.KEY=VALUE", help="Override a mel setting (repeatable).")
@click.option("--valid-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.05, show_default=True, help="Share of items in the 'dev' split.")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.05, show_default=True, help="Share of items in the 'test' split.")
@click.option("--valid-count", type=click.IntRange(min=0), help="Exact number of 'dev' items (overrides --valid-fraction).")
@click.option("--test-count", type=click.IntRange(min=0), help="Exact number of 'test' items (overrides --test-fraction).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the deterministic split.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N files of SRC (sorted).")
@click.option("--min-seconds", type=float, default=0.25, show_default=True, help="Reject files shorter than this.")
@click.option("--silence-db", type=float, default=-60.0, show_default=True, help="Reject files whose peak is below this (dBFS).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def preprocess(src, out, jobs, config, sets, valid_fraction, test_fraction, valid_count, test_count, seed, limit,
               min_seconds, silence_db, quiet) -> None:
    """Turn the audio of SRC into aligned (waveform, log-mel) items in OUT.

    SRC is a folder (searched recursively for .wav/.flac/.ogg; speaker = parent
    folder name) or a .csv/.jsonl manifest with a `path` column (relative to
    the manifest) and optional `text`, `speaker` and `id` columns.

    OUT gets items/<id>.npz, manifest.jsonl (with a deterministic
    train/dev/test split), stats.json (train-split mel mean/std),
    speakers.json, meta.json and rejects.tsv (files not kept, with the reason).
    Rerunning the same command resumes: finished items are skipped.

    \b
    Example:
      wavekit preprocess data/wavs exp/dump --jobs 2
    """
    from wavekit.audio.preprocess import preprocess_corpus

    mel = mel_config_from(config, sets)
    summary = preprocess_corpus(
        src, out, mel=mel, jobs=jobs, valid_fraction=valid_fraction, test_fraction=test_fraction,
        valid_count=valid_count, test_count=test_count, seed=seed, limit=limit, min_seconds=min_seconds,
        silence_db=silence_db, progress=not quiet,
    )
    click.echo(str(summary))
