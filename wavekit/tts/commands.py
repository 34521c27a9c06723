"""``wavekit synthesize``: the CLI wrapper of :mod:`wavekit.tts.synthesize`."""

from __future__ import annotations

from pathlib import Path

import click

from wavekit.cli_options import postfilter_option
from wavekit.errors import TextError


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line of ``path``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TextError(f"cannot read --text-file {path} ({e}); give a UTF-8 text file, one sentence a line") from None
    rows = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise TextError(f"--text-file {path} has no non-empty lines; put one sentence on each line")
    return rows


@click.command("synthesize")
@click.argument("text", required=False)
@click.option("--acoustic", default="pretrained:en", show_default=True, type=click.Path(dir_okay=False),
              help="Tacotron 2 checkpoint (.pt); without it, the English voice embedded in wavekit.")
@click.option("--vocoder", default="pretrained:vocoder", show_default=True, type=click.Path(dir_okay=False),
              help="WaveNet vocoder checkpoint (.pt); without it, the vocoder embedded in wavekit.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Output .wav for TEXT; output folder for --text-file (one NNNN.wav per line).")
@click.option("--text-file", type=click.Path(path_type=Path), help="UTF-8 file, one sentence a line (blank lines skipped).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Lines decoded together.")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Vocoder sampling temperature (0 = mode).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of pre-net dropout and sampling.")
@click.option("--speaker", type=click.IntRange(min=0), help="Vocoder speaker id (multi-speaker vocoders; default 0).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop decoding a line after this many mel frames.")
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda.")
@click.option("--plot", is_flag=True, help="Also write each line's attention alignment as a PNG next to its wav.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@postfilter_option
def synthesize(text, acoustic, vocoder, output, text_file, batch_size, temperature, seed, speaker, max_frames, device,
               plot, quiet, postfilter) -> None:
    """Speak TEXT (or every line of --text-file) with an acoustic model and a WaveNet vocoder.

    Without --acoustic / --vocoder the models embedded in wavekit are used
    (`wavekit info`): an English (en-us) Tacotron 2 and a source-filter WaveNet.

    \b
    Examples:
      wavekit synthesize "Hello there." -o hello.wav          # the embedded voice and vocoder
      wavekit synthesize "Hello there." --acoustic tts.pt --vocoder voc.pt -o hello.wav
      wavekit synthesize --text-file lines.txt --acoustic tts.pt --vocoder voc.pt -o out/

    With --text-file, lines whose wav already exists in the output folder are
    skipped, so an interrupted run resumes.
    """
    from tqdm import tqdm

    from wavekit.audio.io import save_wav
    from wavekit.tts.synthesize import load_synthesizer

    if (text is None) == (text_file is None):
        raise click.UsageError("give either TEXT or --text-file (not both)")
    if text is not None and output.suffix.lower() != ".wav":
        raise click.UsageError(f"-o {output}: with TEXT the output is a .wav file")
    if text_file is not None and output.suffix.lower() == ".wav":
        raise click.UsageError(f"-o {output}: with --text-file the output is a folder")
    lines = [(1, text)] if text is not None else _read_lines(text_file)
    synth = load_synthesizer(acoustic, vocoder, device=device, speaker=speaker)
    for n, line in lines:  # every line is checked before any work starts
        try:
            synth.table.text_to_symbols(line)
        except TextError as e:
            raise TextError(f"{text_file}:{n}: {e}" if text_file is not None else str(e)) from None
    width = max(4, len(str(lines[-1][0])))
    targets = [output] if text is not None else [output / f"{n:0{width}d}.wav" for n, _ in lines]
    todo = [(line, path) for (_, line), path in zip(lines, targets) if text is not None or not path.is_file()]
    if not todo:
        click.echo(f"nothing to do: all {len(lines)} wavs are already in {output}")
        return
    bar = tqdm(total=len(todo), desc="synthesize", unit="line", disable=quiet)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        results = synth.synthesize([t for t, _ in chunk], batch_size=batch_size, temperature=temperature,
                                   seed=seed + start, max_frames=max_frames, postfilter=postfilter)
        for (_, path), res in zip(chunk, results):
            save_wav(path, res.wav, synth.sample_rate)
            if plot:
                from wavekit.plotting import plot_alignment

                plot_alignment(res.alignment, path.with_suffix(".png"), title=res.text[:60])
        bar.update(len(chunk))
    bar.close()
    click.echo(f"wrote {len(todo)} wav file(s) at {synth.sample_rate} Hz to {output}")
