"""`wavekit vocode`, `wavekit generate` and `wavekit bench`: thin click wrappers.

``vocode`` loads the checkpoint, builds the run's one checked plan
(:func:`wavekit.generate.plan.plan_vocode`: every input and option checked
before anything is generated) and runs it (:func:`wavekit.generate.vocode.run_plan`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from wavekit.cli_options import postfilter_option
from wavekit.errors import CheckpointError, ConfigError, WavekitError

if TYPE_CHECKING:
    from wavekit.checkpoint import LoadedModel
    from wavekit.wavenet.model import WaveNet


def _load(checkpoint: str, device: str) -> LoadedModel:
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
@postfilter_option
@click.option("--raw-outdir", default=None, type=click.Path(file_okay=False),
              help="Also write the network's output before the postfilter here (to compare the two).")
def vocode(
    checkpoint: str, inputs: tuple[str, ...], outdir: str, slots: int, temperature: float, seed: int,
    speaker: str | None, skip_existing: bool, device: str, postfilter: bool, raw_outdir: str | None,
) -> None:
    """Turn mel .npy files, audio files (copy synthesis) or folders of them into waveforms.

    Without -c the vocoder embedded in wavekit is used (`wavekit info
    pretrained:vocoder`): 16 kHz, 80-band log-mel, any voice.

    Mel files must hold the checkpoint's normalised log-mel (n_mels, frames).
    By default each waveform then goes through the postfilter: a pitch comb
    carries its own periodicity to the whole band, and its band levels are
    matched to its mel (--no-postfilter: the network's samples as they are). Each output
    OUTDIR/<name>.wav is written as soon as it is finished. A multi-speaker
    vocoder needs --speaker; vocode each speaker's files in their own call.

    \b
    Examples:
      wavekit vocode speech.wav -o exp/copy           # copy synthesis with the embedded vocoder
      wavekit vocode -c exp/voc/train/checkpoints/best.pt exp/heldout/mel -o exp/vocoded
    """
    from tqdm import tqdm

    from wavekit.generate.plan import OutputOptions, plan_vocode
    from wavekit.generate.vocode import RateMeter, run_plan

    model = _load(checkpoint, device)
    plan = plan_vocode(
        model, inputs, outdir, slots=slots, temperature=temperature, seed=seed, device=device, speaker=speaker,
        skip_existing=skip_existing, origin=checkpoint, output=OutputOptions(postfilter, raw_outdir),
    )
    meter = RateMeter(plan.sample_rate)
    with tqdm(desc="vocode", unit="sample", unit_scale=True) as bar:

        def on_samples(n: int) -> None:
            bar.update(n)
            bar.set_postfix(meter.add(n), refresh=False)

        written = run_plan(model, plan, on_samples=on_samples)
    kept = plan.kept
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
def generate(
    checkpoint: str, speaker: str | None, seconds: float, count: int, outdir: str, temperature: float, seed: int,
    slots: int, sample_rate: int, device: str,
) -> None:
    """Sample unconditionally (or for one speaker) from a WaveNet without local conditioning.

    \b
    Example:
      wavekit generate -c exp/uncond/train/checkpoints/best.pt -n 4 --seconds 2 -o exp/samples
    """
    from tqdm import tqdm

    from wavekit.audio.io import save_wav
    from wavekit.generate.engine import GenerationEngine, Request
    from wavekit.generate.plan import check_sampling, resolve_speaker

    loaded = _load(checkpoint, device)
    model = cast("WaveNet", loaded.model)  # _load checked that it is a WaveNet
    cfg = model.config
    if cfg.cin_channels:
        raise WavekitError(
            f"{checkpoint} is a vocoder conditioned on {cfg.cin_channels} mel bands; it cannot generate "
            "unconditionally: use `wavekit vocode` with mel or audio inputs"
        )
    sid = resolve_speaker(loaded, speaker, origin=checkpoint)
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
@click.option("--contention", is_flag=True,
              help="Also time training while a neighbour process keeps one core busy (CPU; about a minute).")
def bench(device: str, as_json: bool, quick: bool, contention: bool) -> None:
    """Measure naive vs incremental generation, the engine at 1/8/32 streams, RTF and training speed.

    \b
    Example:
      wavekit bench --quick --json
      wavekit bench --contention        # + training beside a busy neighbour
    """
    from wavekit.generate.bench import format_table, run_bench

    result = run_bench(device=device, quick=quick, contention=contention)
    click.echo(json.dumps(result) if as_json else format_table(result))
