"""`wavekit vocode`, `wavekit generate` and `wavekit bench`: thin click wrappers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wavekit.errors import CheckpointError, ConfigError, WavekitError


def _load(checkpoint: str, device: str):
    """The checkpoint as a :class:`wavekit.checkpoint.LoadedModel` on ``device``; CheckpointError unless a WaveNet."""
    import torch

    from wavekit.checkpoint import load

    if device == "cuda" and not torch.cuda.is_available():
        raise WavekitError("--device cuda: no CUDA device is available; use --device cpu")
    loaded = load(checkpoint)
    if not hasattr(loaded.model, "config") or not hasattr(loaded.model.config, "cin_channels"):
        raise CheckpointError(f"{checkpoint} is not a WaveNet vocoder checkpoint")
    loaded.model.to(device)
    return loaded


def _speaker(model, speaker: str | None, checkpoint: str) -> int | None:
    """--speaker resolved against the model; errors name the checkpoint."""
    from wavekit.generate.vocode import resolve_speaker

    try:
        return resolve_speaker(model, speaker)
    except CheckpointError as e:
        raise CheckpointError(f"{checkpoint}: {e}") from None


DEVICE_HELP = "cpu: compiled kernel; cuda: torch step replayed as a CUDA graph."
SPEAKER_HELP = "Speaker id, or a name the checkpoint records (models with global conditioning only)."


@click.command()
@click.option("--checkpoint", "-c", "checkpoint", default="pretrained:vocoder", show_default=True, type=click.Path(),
              help="Vocoder checkpoint (.pt); without it, the vocoder embedded in wavekit.")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Folder for the .wav files.")
@click.option("--slots", default=8, show_default=True, help="Utterances generated together (batch slots).")
@click.option("--temperature", default=1.0, show_default=True, help="Sampling temperature (0 = most likely value).")
@click.option("--seed", default=0, show_default=True, help="Seed of the first input (input i uses seed + i).")
@click.option("--speaker", default=None, metavar="ID|NAME", help=SPEAKER_HELP + " Used for every input.")
@click.option("--skip-existing", is_flag=True, help="Leave inputs whose OUTDIR/<name>.wav exists (resume a run).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help=DEVICE_HELP)
def vocode(checkpoint, inputs, outdir, slots, temperature, seed, speaker, skip_existing, device) -> None:
    """Turn mel .npy files, audio files (copy synthesis) or folders of them into waveforms.

    Without -c the vocoder embedded in wavekit is used (`wavekit info
    pretrained:vocoder`): 16 kHz, 80-band log-mel, any voice.

    Mel files must hold the checkpoint's normalised log-mel (n_mels, frames).
    Each output OUTDIR/<name>.wav is written as soon as it is finished. A
    multi-speaker vocoder needs --speaker; vocode each speaker's files in
    their own call.

    \b
    Examples:
      wavekit vocode speech.wav -o exp/copy           # copy synthesis with the embedded vocoder
      wavekit vocode -c exp/voc/train/checkpoints/best.pt exp/heldout/mel -o exp/vocoded
    """
    from tqdm import tqdm

    from wavekit.generate.vocode import RateMeter, audio_settings, collect_inputs, vocode_files

    kept = sum((Path(outdir) / f"{p.stem}.wav").is_file() for p in collect_inputs(inputs)) if skip_existing else 0
    model = _load(checkpoint, device)
    sid = _speaker(model, speaker, checkpoint) if model.model.config.cin_channels else None
    settings = audio_settings(model)
    rate = settings.mel.sample_rate if settings.mel is not None else 16000
    meter = RateMeter(rate)
    with tqdm(desc="vocode", unit="sample", unit_scale=True) as bar:

        def on_samples(n: int) -> None:
            bar.update(n)
            bar.set_postfix(meter.add(n), refresh=False)

        written = vocode_files(
            model, inputs, outdir, slots=slots, temperature=temperature, seed=seed, device=device,
            speaker=sid, skip_existing=skip_existing, on_samples=on_samples,
        )
    click.echo(f"wrote {len(written)} file(s) to {outdir}" + (f"; {kept} already vocoded (kept)" if kept else ""))


@click.command()
@click.option("--checkpoint", "-c", "checkpoint", required=True, type=click.Path(), help="WaveNet checkpoint (.pt).")
@click.option("--speaker", default=None, metavar="ID|NAME", help=SPEAKER_HELP)
@click.option("--seconds", default=1.0, show_default=True, help="Length of each sample.")
@click.option("-n", "count", default=1, show_default=True, help="How many samples.")
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False))
@click.option("--temperature", default=1.0, show_default=True)
@click.option("--seed", default=0, show_default=True, help="Seed of sample 0 (sample i uses seed + i).")
@click.option("--slots", default=8, show_default=True)
@click.option("--sample-rate", default=16000, show_default=True, help="Rate of the written files.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help=DEVICE_HELP)
def generate(checkpoint, speaker, seconds, count, outdir, temperature, seed, slots, sample_rate, device) -> None:
    """Sample unconditionally (or for one speaker) from a WaveNet without local conditioning.

    \b
    Example:
      wavekit generate -c exp/uncond/train/checkpoints/best.pt -n 4 --seconds 2 -o exp/samples
    """
    from tqdm import tqdm

    from wavekit.audio.io import save_wav
    from wavekit.generate.engine import GenerationEngine, Request
    from wavekit.generate.vocode import check_sampling

    loaded = _load(checkpoint, device)
    model = loaded.model
    cfg = model.config
    if cfg.cin_channels:
        raise WavekitError(
            f"{checkpoint} is a vocoder conditioned on {cfg.cin_channels} mel bands; it cannot generate "
            "unconditionally: use `wavekit vocode` with mel or audio inputs"
        )
    sid = _speaker(loaded, speaker, checkpoint)
    check_sampling(slots, temperature)
    if sample_rate < 1:
        raise ConfigError(f"--sample-rate must be a positive number of Hz, got {sample_rate}")
    length = int(round(seconds * sample_rate))
    if length < 1 or count < 1:
        raise ConfigError(f"--seconds and -n must be positive (at least one sample), got {seconds} and {count}")
    engine = GenerationEngine(model, slots=slots, device=device)
    for i in range(count):
        engine.submit(Request(speaker=sid, length=length, temperature=temperature, seed=seed + i, key=i))
    out = Path(outdir)
    with tqdm(total=length * count, desc="generate", unit="sample", unit_scale=True) as bar:
        for i, wav in engine.run(progress=bar.update):
            save_wav(out / f"sample_{i:03d}.wav", wav, sample_rate)
    click.echo(f"wrote {count} file(s) to {outdir}")


@click.command()
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--quick", is_flag=True, help="Tiny measurements (seconds; for tests).")
def bench(device, as_json, quick) -> None:
    """Measure naive vs incremental generation, the engine at 1/8/32 streams, RTF and training speed.

    \b
    Example:
      wavekit bench --quick --json
    """
    from wavekit.generate.bench import format_table, run_bench

    result = run_bench(device=device, quick=quick)
    click.echo(json.dumps(result) if as_json else format_table(result))
