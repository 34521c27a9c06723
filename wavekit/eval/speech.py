"""Reference-vs-generated speech evaluation over whole folders.

References and generated files are paired by file stem
(``ref/foo.ogg`` <-> ``gen/foo.wav``): ``wavekit vocode`` names its outputs
after its inputs, so a vocoded held-out set pairs with its references
without a list. A reference source may also be a manifest: the
``manifest.jsonl`` that ``wavekit preprocess`` writes (key ``id``, audio
``source``, optionally filtered by ``split``) or a CSV/JSONL manifest with
``path`` (and optional ``id``) columns, so references pair with outputs
named after item ids. Every file is read with
:func:`wavekit.audio.load_wav` (mono, resampled to the evaluation rate).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from wavekit.errors import DataError
from wavekit.eval.metrics import SpectralConfig, speech_metrics

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
METRIC_KEYS = ("mcd_db", "lsd_db", "snr_db", "stoi", "pesq", "f0_rmse_cents", "vuv_error", "harmonic_db",
               "harmonic_ref_db")
SPEECH_COLUMNS = (  # (key, short label) of every per-utterance metric, in table order
    ("mcd_db", "MCD (dB)"),
    ("lsd_db", "LSD (dB)"),
    ("snr_db", "SNR (dB)"),
    ("stoi", "STOI"),
    ("pesq", "PESQ-WB"),
    ("f0_rmse_cents", "F0 cents"),
    ("vuv_error", "V/UV err"),
    ("harmonic_db", "harm dB"),
    ("harmonic_ref_db", "ref harm"),
)


MANIFEST_SUFFIXES = (".jsonl", ".csv")


def _manifest_audio(path: Path, split: str | None) -> list[tuple[str, Path]]:
    """(key, audio path) rows of a manifest; key = ``id`` or the file stem."""
    import csv
    import json

    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise DataError(f"{path}: not a JSONL manifest ({e.msg})") from None
    out = []
    for row in rows:
        if split is not None and row.get("split") != split:
            continue
        raw = row.get("source") or row.get("path")
        if not raw:
            raise DataError(f"{path}: a reference manifest needs a 'source' or 'path' column")
        audio = Path(raw) if Path(raw).is_absolute() else path.parent / raw
        out.append((str(row.get("id") or audio.stem), audio))
    return out


def collect_audio(sources: Iterable[str | Path], split: str | None = None) -> dict[str, Path]:
    """Map key -> path for audio given as files, folders (searched recursively) or manifests.

    The key is the file stem, or the item id for manifest rows (``split``
    keeps only rows of that split). Raises :class:`DataError` for a missing
    path or two files with the same key.
    """
    found: dict[str, Path] = {}
    for src in sources:
        p = Path(src)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)
            entries = [(f.stem, f) for f in files]
        elif p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES:
            entries = _manifest_audio(p, split)
        elif p.is_file():
            entries = [(p.stem, p)]
        else:
            raise DataError(f"{p}: no such file or folder; pass existing audio files, folders or a manifest")
        for key, f in entries:
            if key in found and found[key] != f:
                raise DataError(f"two audio files share the name {key!r}: {found[key]} and {f}; "
                                "rename one so pairs by name are unambiguous")
            found[key] = f
    return found


def pair_by_stem(refs: dict[str, Path], gens: dict[str, Path]) -> list[tuple[str, Path, Path]]:
    """Sorted (stem, ref_path, gen_path) for stems present on both sides; DataError if none."""
    common = sorted(set(refs) & set(gens))
    if not common:
        raise DataError(
            f"no generated file matches a reference by file stem ({len(refs)} references, "
            f"{len(gens)} generated); name generated files after their reference (foo.ogg -> foo.wav)"
        )
    return [(s, refs[s], gens[s]) for s in common]


def _finite(v: object) -> bool:
    """A finite number (JSON files hold null where a metric was nan or inf)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def jsonable(obj: Any) -> Any:
    """Replace non-finite floats with None so the file is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def _per_voiced_frame(rows: Sequence[dict], key: str) -> list[tuple[float, int]]:
    """(value of ``key``, frames voiced in both) of every utterance where both are finite and frames > 0."""
    return [(r[key], r["voiced_both"]) for r in rows
            if _finite(r.get(key)) and _finite(r.get("voiced_both")) and r["voiced_both"] > 0]


def summarize(rows: Sequence[dict]) -> dict[str, float]:
    """Mean of each metric over utterances (finite values only; SNR of an exact copy is inf).

    F0 RMSE is pooled instead: the RMS over every frame voiced in both, of
    every utterance (an utterance with two such frames does not weigh as
    much as one with two hundred); so are the harmonic contrasts (the mean
    over those frames).
    """
    out: dict[str, float] = {}
    for key in METRIC_KEYS:
        vals = [r[key] for r in rows if _finite(r.get(key))]
        if vals:
            out[key] = float(np.mean(vals))
    for key in ("f0_rmse_cents", "harmonic_db", "harmonic_ref_db"):
        pooled = _per_voiced_frame(rows, key)
        if not pooled:
            continue
        n = sum(c for _, c in pooled)
        if key == "f0_rmse_cents":  # an RMS per utterance: pooled as the RMS over all the frames
            out[key] = float(math.sqrt(sum(v * v * c for v, c in pooled) / n))
            out["voiced_both"] = n
        else:  # a mean per utterance: pooled as the mean over all the frames
            out[key] = float(sum(v * c for v, c in pooled) / n)
    out["utterances"] = len(rows)
    out["ref_seconds"] = float(sum(r["ref_seconds"] for r in rows))
    out["gen_seconds"] = float(sum(r["gen_seconds"] for r in rows))
    return out


def evaluate_speech(
    ref_sources: Iterable[str | Path],
    gen_dir: str | Path,
    config: SpectralConfig = SpectralConfig(),
    align: str = "auto",
    plot_dir: str | Path | None = None,
    progress: bool = False,
    split: str | None = None,
    system: str | None = None,
    baseline: bool = False,
) -> dict:
    """Evaluate every generated file in ``gen_dir`` against its reference.

    Returns ``{"utterances": [{"id", "ref", "gen", "mcd_db", "lsd_db",
    "snr_db", "stoi", "pesq", "f0_rmse_cents", "vuv_error", "harmonic_db",
    "harmonic_ref_db", "ref_seconds", "gen_seconds"}, ...], "mean": {...},
    "unpaired": [stems of generated files without reference], "config": {...}}``.
    With ``plot_dir`` a waveform + spectrogram comparison PNG per utterance
    is written there as ``<id>.png``. ``split`` filters manifest references.
    ``system`` (a label such as ``"WaveNet"`` or ``"Griffin-Lim"``) and
    ``baseline`` are stored with the result, so that :mod:`wavekit.eval.report`
    can put systems evaluated on the same references side by side.
    """
    from wavekit.audio import load_wav

    gen_path = Path(gen_dir)
    if not gen_path.is_dir():
        raise DataError(f"{gen_path}: generated-audio folder not found; run vocode/synthesize first or fix the path")
    refs = collect_audio(ref_sources, split=split)
    gens = collect_audio([gen_path])
    pairs = pair_by_stem(refs, gens)
    rows = []
    iterator: Iterable = pairs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(pairs, desc="eval speech", unit="utt")
    for stem, ref_file, gen_file in iterator:
        ref = load_wav(ref_file, sample_rate=config.sample_rate)
        gen = load_wav(gen_file, sample_rate=config.sample_rate)
        row = {"id": stem, "ref": str(ref_file), "gen": str(gen_file)}
        row.update(speech_metrics(ref, gen, config, align))
        if plot_dir is not None:
            from wavekit.eval.plots import plot_speech_comparison

            png = plot_speech_comparison(ref, gen, Path(plot_dir) / f"{stem}.png", config.sample_rate, title=stem)
            row["plot"] = str(png)
        rows.append(row)
    return {
        "utterances": rows,
        "mean": summarize(rows),
        "unpaired": sorted(set(gens) - set(refs)),
        "config": {"align": align, **{k: getattr(config, k) for k in config.__dataclass_fields__}},
        **({"system": system, "baseline": bool(baseline)} if system else {}),
    }
