"""Systems side by side on the same held-out utterances: the model against the classical baselines.

Input: speech results of :func:`wavekit.eval.speech.evaluate_speech` that
carry a ``system`` label (``wavekit eval speech --system NAME [--baseline]``).
:func:`comparison_section` returns the Markdown of ``report.md``'s
comparison: one table (a row per system, means over the utterances that
every system has, the best value of each column in bold), one line per
model saying which baselines it beats on which metrics, and per utterance a
stack of spectrograms (reference, models, baselines) with audio links.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wavekit.eval.speech import summarize

# (key, column label, True when higher is better). SNR is left out: it scores phase, which no vocoder keeps.
COMPARED = (
    ("stoi", "STOI ↑", True),
    ("pesq", "PESQ-WB ↑", True),
    ("f0_rmse_cents", "F0 RMSE cents ↓", False),
    ("vuv_error", "V/UV error ↓", False),
    ("mcd_db", "MCD dB ↓", False),
    ("lsd_db", "LSD dB ↓", False),
)


def _better(a: float, b: float, higher: bool) -> bool:
    return a > b if higher else a < b


def compare_means(results: list[dict]) -> tuple[list[str], list[dict[str, float]]]:
    """(ids every result has, per-result means over exactly those ids)."""
    id_sets = [{u["id"] for u in r.get("utterances", [])} for r in results]
    common = sorted(set.intersection(*id_sets)) if id_sets else []
    means = [summarize([u for u in r["utterances"] if u["id"] in common]) for r in results]
    return common, means


def verdicts(results: list[dict], means: list[dict[str, float]]) -> list[str]:
    """One Markdown line per model (non-baseline result) and baseline: the metrics on which the model wins."""
    lines = []
    models = [i for i, r in enumerate(results) if not r.get("baseline")]
    bases = [i for i, r in enumerate(results) if r.get("baseline")]
    for m in models:
        for b in bases:
            keys = [(k, label.split(" ")[0], hi) for k, label, hi in COMPARED
                    if math.isfinite(means[m].get(k, math.nan)) and math.isfinite(means[b].get(k, math.nan))]
            won = [name for k, name, hi in keys if _better(means[m][k], means[b][k], hi)]
            lost = [name for k, name, hi in keys if name not in won]
            tag = "**beats**" if keys and not lost else "does **not** beat"
            lines.append(f"- {results[m]['system']} {tag} {results[b]['system']}: better on {len(won)}/{len(keys)} "
                         f"metrics" + (f" ({', '.join(won)})" if won else "")
                         + (f"; worse or equal on {', '.join(lost)}" if lost else ""))
    return lines


def comparison_section(
    results: list[tuple[Path, dict]],
    root: Path,
    assets: Path,
    link: Callable[[str | Path, Path, str | None], str],
    max_plots: int = 40,
    group: str | None = None,
) -> tuple[list[str], set[Path]]:
    """Markdown lines and the files they show, for speech results with a ``system`` label (>= 2 of them).

    ``group``: the name of the set of utterances these results share, put in the heading.
    """
    from wavekit.audio.io import load_wav
    from wavekit.eval.plots import plot_spectrogram_stack

    named = sorted((d for _, d in results if d.get("system")), key=lambda d: bool(d.get("baseline")))
    if len(named) < 2:
        return [], set()
    common, means = compare_means(named)
    lines = ["## Model against the classical baselines" + (f": {group}" if group else ""), ""]
    lines += [f"Means over the {len(common)} held-out utterances every system was evaluated on (same references, "
              "same mels); best of each column in bold; F0 RMSE is pooled over the frames voiced in both the reference and "
              "the system's output (last column). Harmonics: the harmonic contrast between 1 and 4 kHz (power at the "
              "harmonics of each signal's own F0 over the power between them; white noise 0 dB) over those frames, "
              "the reference's over the same frames in brackets: the closer the two, the more the system shows "
              "harmonics where the reference has them. Baselines: " +
              ", ".join(d["system"] for d in named if d.get("baseline")) + ".", ""]
    header = ["system", *[label for _, label, _ in COMPARED], "harmonics dB (reference)", "frames voiced in both"]
    rows = []
    for d, mean in zip(named, means):
        cells = [d["system"] + (" (baseline)" if d.get("baseline") else "")]
        for k, _, hi in COMPARED:
            v = mean.get(k, math.nan)
            vals = [m.get(k, math.nan) for m in means if math.isfinite(m.get(k, math.nan))]
            best = vals and math.isfinite(v) and v == (max(vals) if hi else min(vals))
            cells.append(("**" + f"{v:.3g}" + "**") if best else (f"{v:.3g}" if math.isfinite(v) else "-"))
        h, h_ref = mean.get("harmonic_db", math.nan), mean.get("harmonic_ref_db", math.nan)
        cells.append(f"{h:.3g} ({h_ref:.3g})" if math.isfinite(h) and math.isfinite(h_ref) else "-")
        cells.append(str(int(mean.get("voiced_both", 0))))  # what the F0 RMSE and the harmonics rest on
        rows.append(cells)
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows] + [""]
    lines += verdicts(named, means) + [""]

    shown: set[Path] = set()
    by_id = [{u["id"]: u for u in d["utterances"]} for d in named]
    audio_rows = []
    for uid in common[:max_plots]:
        first = by_id[0][uid]
        if not Path(first["ref"]).is_file() or not all(Path(b[uid]["gen"]).is_file() for b in by_id):
            continue
        waves = [("reference", load_wav(first["ref"]))] + [(d["system"], load_wav(b[uid]["gen"]))
                                                           for d, b in zip(named, by_id)]
        png = plot_spectrogram_stack(waves, assets / f"compare_{uid}.png", title=uid)
        shown.add(png.resolve())
        shown.update(Path(b[uid]["gen"]).resolve() for b in by_id)
        lines += [f"![{uid}: reference, model and baselines]({Path(os.path.relpath(png, root)).as_posix()})", ""]
        audio_rows.append([uid, link(first["ref"], root, "reference"),
                           *[link(b[uid]["gen"], root, d["system"]) for d, b in zip(named, by_id)]])
    if audio_rows:
        hdr = ["utterance", "reference", *[d["system"] for d in named]]
        lines += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
        lines += ["| " + " | ".join(r) + " |" for r in audio_rows] + [""]
    return lines, shown


def is_baseline(data: Any) -> bool:
    """Whether a speech result is a baseline's (shown only in the comparison, not as its own section)."""
    return isinstance(data, dict) and bool(data.get("baseline")) and bool(data.get("system"))
