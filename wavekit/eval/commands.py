"""``wavekit eval``: objective metrics and the experiment report (thin click wrappers)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from wavekit.atomic import write_text_atomic
from wavekit.cli_options import outdir_option, pick_outdir, pick_spelling, postfilter_option
from wavekit.eval.baselines import BASELINES
from wavekit.eval.metrics import ALIGN_MODES, SpectralConfig
from wavekit.eval.report import build_report
from wavekit.eval.speech import SPEECH_COLUMNS
from wavekit.eval.speech import jsonable as _jsonable


def format_speech_table(result: dict) -> str:
    """Plain-text table: one row per utterance, then the mean."""
    cols = [(k, label) for k, label in SPEECH_COLUMNS]
    header = f"{'utterance':<32} " + " ".join(f"{label:>8}" for _, label in cols)
    lines = [header, "-" * len(header)]

    def row(name: str, d: dict) -> str:
        cells = [f"{d[k]:8.3f}" if isinstance(d.get(k), float) and math.isfinite(d[k]) else f"{'-':>8}"
                 for k, _ in cols]
        return f"{name[:32]:<32} " + " ".join(cells)

    lines += [row(u["id"], u) for u in result["utterances"]]
    lines += ["-" * len(header), row(f"mean ({result['mean']['utterances']} utt)", result["mean"])]
    return "\n".join(lines)


@click.group("eval")
def eval_group() -> None:
    """Evaluate generated speech and write experiment reports."""


@eval_group.command("speech")
@click.option("--ref", "refs", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Reference audio: a folder (searched recursively), files, or a manifest "
                   "(preprocess manifest.jsonl: id + source); repeatable.")
@click.option("--gen", "gen_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of generated audio, paired with references by file stem.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write all per-utterance and mean metrics to this JSON file.")
@click.option("--align", type=click.Choice(ALIGN_MODES), default="auto", show_default=True,
              help="Frame alignment: time (frame i with frame i), dtw, or auto (time when lengths match).")
@click.option("--sample-rate", type=int, default=16000, show_default=True, help="Rate both sides are resampled to.")
@click.option("--split", default=None, help="With a manifest as --ref: only its items of this split (e.g. test).")
@click.option("--plots", "plot_dir", type=click.Path(path_type=Path), default=None,
              help="Also write a waveform+spectrogram comparison PNG per utterance into this folder.")
@click.option("--system", default=None,
              help="Name of the system that made --gen (e.g. 'WaveNet demo'); the report compares named systems.")
@click.option("--baseline", is_flag=True, help="Mark --system as a baseline (the report compares models with it).")
def speech_cmd(refs: tuple[Path, ...], gen_dir: Path, output: Path | None, align: str, sample_rate: int,
               split: str | None, plot_dir: Path | None, system: str | None, baseline: bool) -> None:
    """MCD, LSD, SNR, STOI, wide-band PESQ, F0 RMSE (cents), V/UV disagreement and harmonic contrast of generated
    vs reference speech.

    F0 comes from librosa.pyin (60-500 Hz, 1024-sample frames, hop 256); F0 RMSE is over frames voiced in both.
    Harmonic contrast: power at the harmonics of each signal's own F0 over the power between them, 1-4 kHz,
    in dB (white noise 0), over the frames voiced in both; "ref harm" is the reference's on the same frames.

    \b
    Example:
      wavekit eval speech --ref data/test_wavs --gen exp/vocoded -o exp/eval/metrics.json
      wavekit eval speech --ref dump/manifest.jsonl --split test --gen exp/vocoded --plots exp/eval/plots
    """
    from wavekit.eval.speech import evaluate_speech

    result = evaluate_speech(refs, gen_dir, SpectralConfig(sample_rate=sample_rate), align=align,
                             plot_dir=plot_dir, progress=True, split=split, system=system, baseline=baseline)
    click.echo(format_speech_table(result))
    if result["unpaired"]:
        click.echo(f"note: {len(result['unpaired'])} generated file(s) had no reference with the same stem "
                   f"(e.g. {result['unpaired'][0]}); they were skipped", err=True)
    if output is not None:
        write_text_atomic(output, json.dumps(_jsonable(result), indent=2, ensure_ascii=False) + "\n")
        click.echo(f"wrote {output}")


@eval_group.command("baselines")
@click.argument("mels", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--data", "data_root", required=True, type=click.Path(path_type=Path),
              help="Output folder of `wavekit preprocess`: its meta.json (mel settings) and stats.json "
                   "(the normalisation the mels carry).")
@outdir_option("Writes OUTDIR/<baseline>/<mel file stem>.wav.")
@click.option("--baseline", "names", multiple=True, type=click.Choice(BASELINES),
              help="Which baselines (repeatable; default: all).")
@click.option("--raw", is_flag=True, help="The mels are raw log-mels, not normalised with the corpus statistics.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise / random phase.")
@click.option("--ref", "refs", multiple=True, type=click.Path(path_type=Path),
              help="Also score each baseline against these references (as `eval speech --ref`; repeatable) ...")
@click.option("--metrics-dir", type=click.Path(path_type=Path), default=None,
              help="... into METRICS_DIR/baseline_<name>.json (labelled as baselines for the report).")
def baselines_cmd(mels: tuple[Path, ...], data_root: Path, outdir: str | None, old_outdir: str | None,
                  names: tuple[str, ...], raw: bool, seed: int, refs: tuple[Path, ...], metrics_dir: Path | None) -> None:
    """Classical vocoders from the same mels: Griffin-Lim, LPC envelope + white noise, and that noise postfiltered.

    MELS are .npy files or folders of them (searched recursively), as `wavekit vocode` reads them.
    With --ref and --metrics-dir each baseline is then scored like `wavekit eval speech --system NAME --baseline`.

    \b
    Example:
      wavekit eval baselines exp/heldout/mel --data exp/dump -o exp/baselines --ref exp/heldout/ref --metrics-dir exp/eval
    """
    from wavekit.eval.baselines import BASELINE_LABELS, write_baselines
    from wavekit.eval.speech import evaluate_speech

    out_dir = Path(pick_outdir(outdir, old_outdir))
    if bool(refs) != (metrics_dir is not None):
        raise click.UsageError("--ref and --metrics-dir go together (score the baselines) or not at all")
    written = write_baselines(mels, data_root, out_dir, names=names or BASELINES, normalized=not raw, seed=seed)
    for name, files in written.items():
        click.echo(f"{name}: {len(files)} file(s) -> {out_dir / name}")
        if metrics_dir is not None:
            result = evaluate_speech(refs, out_dir / name, system=BASELINE_LABELS[name], baseline=True)
            click.echo(format_speech_table(result))
            path = metrics_dir / f"baseline_{name}.json"
            write_text_atomic(path, json.dumps(_jsonable(result), indent=2, ensure_ascii=False) + "\n")
            click.echo(f"wrote {path}")


@eval_group.command("report")
@click.argument("expdir", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="Report title (default: the folder name).")
def report_cmd(expdir: Path, title: str | None) -> None:
    """Write EXPDIR/report.md: metrics, training curves, figures, audio links and wall times.

    \b
    Example:
      wavekit eval report exp/voc
    """
    path = build_report(expdir, title=title)
    click.echo(f"wrote {path}")


@eval_group.command("tts")
@click.option("-c", "--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Tacotron 2 checkpoint (.pt).  [required]")
@click.option("--acoustic", type=click.Path(dir_okay=False), default=None, hidden=True,
              help="Deprecated spelling of -c/--checkpoint.")
@click.option("--data", "data_root", required=True, type=click.Path(path_type=Path),
              help="Output folder of `wavekit preprocess` (its manifest needs a text column).")
@click.option("--split", default="test", show_default=True, help="Split of the corpus to score.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the means and per-sentence scores to this JSON file.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Sentences per batch.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None,
              help="Free-running decoding limit (default: the model's max_frames).")
@click.option("--band", type=click.FloatRange(min=0.0, max=1.0), default=0.1, show_default=True,
              help="Diagonality band: attention within this distance of the diagonal counts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of pre-net dropout.")
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda.")
def tts_cmd(checkpoint: str | None, acoustic: str | None, data_root: Path, split: str, output: Path | None, batch_size: int,
            max_frames: int | None, band: float, seed: int, device: str) -> None:
    """Held-out scores of a Tacotron 2: mel loss, alignment diagonality/focus, stop rate, length error.

    \b
    Example:
      wavekit eval tts -c exp/train_tts/checkpoints/best.pt --data exp/dump -o exp/eval/tts_acoustic_metrics.json
    """
    model_path = pick_spelling(checkpoint, acoustic, name="-c/--checkpoint", old="--acoustic", what="the checkpoint")
    from tqdm import tqdm

    from wavekit.checkpoint import load
    from wavekit.errors import CheckpointError
    from wavekit.tts.evaluate import evaluate_acoustic
    from wavekit.tts.tacotron2 import Tacotron2

    loaded = load(model_path, map_location=device)
    if not isinstance(loaded.model, Tacotron2):
        raise CheckpointError(f"{model_path} is a {type(loaded.model).__name__}, not a tacotron2 checkpoint")
    with tqdm(desc="eval tts", unit="sent", leave=False) as bar:
        result = evaluate_acoustic(loaded, data_root, split, batch_size=batch_size, max_frames=max_frames,
                                   band=band, seed=seed, progress=bar.update)
    for key in ("sentences", "mel_loss", "mel_loss_before_postnet", "diagonality", "focus_rate", "stop_rate",
                "length_error"):
        click.echo(f"{key:<24} {result[key]:.4g}" if isinstance(result[key], float) else f"{key:<24} {result[key]}")
    if output is not None:
        write_text_atomic(output, json.dumps(_jsonable(result), indent=2, ensure_ascii=False) + "\n")
        click.echo(f"wrote {output}")


@eval_group.command("copy-synthesis")
@click.option("-c", "--checkpoint", default="pretrained:vocoder", show_default=True, type=click.Path(dir_okay=False),
              help="Vocoder checkpoint (.pt); without it, the vocoder embedded in wavekit.")
@click.option("--list", "list_path", required=True, type=click.Path(path_type=Path),
              help="Held-out list: TSV with the columns id, speaker, group, path.")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Folder the list's relative paths start from (default: the list's folder).")
@outdir_option("Output folder: ref/, mel/, gen/, baselines/, eval/ and report.md.")
@click.option("--per-group", type=click.IntRange(min=1), default=None, help="Only the first N items of each group.")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Cut each utterance to this length (0: whole; generation is sample by sample).")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Vocoder sampling temperature.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the vocoder and the baselines' noise.")
@click.option("--title", default=None, help="Title of OUTDIR/report.md.")
@click.option("--system", default=None, help="Name of the vocoder in the report (default: from the checkpoint).")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write OUTDIR/report.md (a recipe reports its whole experiment folder instead).")
@postfilter_option
def copy_synthesis_cmd(checkpoint: str, list_path: Path, root: Path | None, outdir: str | None,
                       old_outdir: str | None, per_group: int | None, max_seconds: float, temperature: float,
                       seed: int, title: str | None, system: str | None, report: bool, postfilter: bool) -> None:
    """Vocode the real speech of a held-out list and score it beside the classical baselines, per group.

    Each utterance is analysed with the vocoder's own mel settings and
    normalisation; the vocoder's output (postfiltered, and as the network made
    it) is scored beside Griffin-Lim, LPC + noise and LPC + noise through the
    same postfilter; the report (OUTDIR/report.md) compares them once per group
    of the list (e.g. trained speakers, held-out speaker).

    \b
    Example:
      wavekit eval copy-synthesis --list recipes/fillets_cs/conf/pretrained_heldout.tsv \\
        --root /usr/share/games/fillets-ng --per-group 2 -o exp/demo/pretrained
    """
    from tqdm import tqdm

    from wavekit.eval.copy_synthesis import copy_synthesis, pick, read_heldout_list, summary_rows

    out_dir = Path(pick_outdir(outdir, old_outdir))
    items = pick(read_heldout_list(list_path, root), per_group)
    with tqdm(desc="vocode", unit="sample", unit_scale=True) as bar:
        results = copy_synthesis(checkpoint, items, out_dir, max_seconds=max_seconds, temperature=temperature,
                                 seed=seed, system=system or f"WaveNet ({Path(checkpoint).name})",
                                 postfilter=postfilter, on_samples=bar.update)
    header = f"{'group':<28} {'system':<36} " + " ".join(f"{label:>8}" for _, label in SPEECH_COLUMNS)
    click.echo(header)
    for row in summary_rows(results):
        cells = [f"{row[k]:8.3f}" if isinstance(row.get(k), float) and math.isfinite(row[k]) else f"{'-':>8}"
                 for k, _ in SPEECH_COLUMNS]
        click.echo(f"{row['group'][:28]:<28} {row['system'][:36]:<36} " + " ".join(cells))
    if report:
        path = build_report(out_dir, title=title or f"Copy synthesis of held-out speech: {checkpoint}")
        click.echo(f"wrote {path}")
