"""``report.md`` for a recipe experiment folder.

:func:`build_report` looks through ``EXPDIR`` for what the recipe stages
left there and writes one Markdown page with relative links (so the folder
can be moved or zipped together with its report):

* speech metrics written by ``wavekit eval speech`` (any ``*.json`` with
  ``"utterances"`` and ``"mean"``): a summary table and one row per
  utterance with links to the reference and generated audio; when two or
  more carry a ``system`` name (``--system``, ``--baseline``), first a
  comparison of the model with the baselines (:mod:`wavekit.eval.compare`),
  one per ``group`` when the results carry one (e.g. trained speakers and a
  held-out speaker, :mod:`wavekit.eval.copy_synthesis`);
* other metric files (``*metrics*.json``, ``*eval*.json``, ``bench*.json``
  holding a flat dict of numbers, e.g. image bits/dim): key/value tables;
* training logs (``metrics.jsonl``): final and best values, and a
  training-curve PNG drawn into ``EXPDIR/report_assets/``;
* wall times: ``times.tsv`` (``stage<TAB>seconds`` per line; a later line
  for the same stage wins) or ``times.json`` (``{stage: seconds}``);
* every other ``*.png`` (embedded) and ``*.wav`` (linked) under EXPDIR.

Reference audio or plots that live outside EXPDIR (e.g. the corpus's own
files) are copied into ``EXPDIR/report_assets/ref/`` so the folder is
self-contained.

The report is written atomically; rerunning it replaces it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from wavekit.atomic import write_text_atomic
from wavekit.errors import DataError
from wavekit.eval.compare import comparison_section, is_baseline
from wavekit.eval.speech import METRIC_KEYS, SPEECH_COLUMNS

ASSETS = "report_assets"
REPORT = "report.md"
MAX_FILES_PER_FOLDER = 40
_METRIC_GLOBS = ("*metrics*.json", "*eval*.json", "bench*.json")


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


def _rel(path: str | Path, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def _portable(path: Path, root: Path) -> Path:
    """``path`` itself if it lies inside ``root``, else a copy in ``root/report_assets/ref/``."""
    if path.resolve().is_relative_to(root.resolve()):
        return path
    copy = root / ASSETS / "ref" / path.name
    if not copy.is_file() or copy.stat().st_size != path.stat().st_size:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return copy


def _link(path: str | Path, root: Path, label: str | None = None) -> str:
    """Markdown link to ``path`` relative to the report (copied in if outside), or text if the file is gone."""
    p = Path(path)
    if not p.is_file():
        return f"{label or p.name} (missing)"
    return f"[{label or p.name}]({_rel(_portable(p, root), root)})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def read_times(expdir: Path) -> dict[str, float]:
    """Stage wall times from ``times.tsv`` / ``times.json`` (empty if neither exists)."""
    times: dict[str, float] = {}
    js = _load_json(expdir / "times.json") if (expdir / "times.json").is_file() else None
    if isinstance(js, dict):
        times.update({str(k): float(v) for k, v in js.items() if isinstance(v, (int, float))})
    tsv = expdir / "times.tsv"
    if tsv.is_file():
        for line in tsv.read_text(encoding="utf-8").splitlines():
            parts = line.strip().split("\t")
            if len(parts) >= 2:
                try:
                    times[parts[0]] = float(parts[1])
                except ValueError:
                    continue
    return times


def _speech_section(path: Path, data: dict, root: Path) -> list[str]:
    group = f" ({data['group']})" if data.get("group") else ""
    lines = [f"### Speech metrics{group}: `{_rel(path, root)}`", ""]
    mean = data.get("mean", {})
    keys = [k for k in (*METRIC_KEYS, "utterances", "ref_seconds", "gen_seconds") if k in mean]
    lines += _table(keys, [[_fmt(mean[k]) for k in keys]])
    cols = [(k, label) for k, label in SPEECH_COLUMNS if any(k in u for u in data.get("utterances", []))]
    rows = []
    for u in data.get("utterances", []):
        rows.append([
            str(u.get("id", "")),
            *[_fmt(u.get(k)) for k, _ in cols],
            _link(u["ref"], root, "reference") if "ref" in u else "",
            _link(u["gen"], root, "generated") if "gen" in u else "",
            _link(u["plot"], root, "plot") if u.get("plot") else "",
        ])
    if rows:
        lines += _table(["utterance", *[label for _, label in cols], "ref", "gen", "plot"], rows)
    plots = [u for u in data.get("utterances", []) if u.get("plot") and Path(u["plot"]).is_file()]
    for u in plots[:MAX_FILES_PER_FOLDER]:
        lines += [f"![{u['id']}: reference vs generated]({_rel(_portable(Path(u['plot']), root), root)})", ""]
    return lines


def _flat_numbers(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def _training_section(log: Path, root: Path, assets: Path) -> tuple[list[str], Path | None]:
    from wavekit.eval.plots import curves_from_records, plot_training_curves, read_metrics_jsonl

    records = read_metrics_jsonl(log)
    curves = curves_from_records(records)
    lines = [f"### Training log: `{_rel(log, root)}`", ""]
    if not curves:
        return lines + ["(no numeric curves yet)", ""], None
    rows = []
    for key, (steps, vals) in curves.items():
        best = int(vals.argmin())
        rows.append([key, _fmt(int(steps[-1])), _fmt(float(vals[-1])), _fmt(float(vals[best])), _fmt(int(steps[best]))])
    lines += _table(["curve", "last step", "last", "min", "at step"], rows)
    folder = _rel(log.parent, root).replace("/", "_").strip("._")
    name = f"curves_{folder}.png" if folder else "curves.png"
    png = plot_training_curves(records, assets / name, title=_rel(log, root))
    lines += [f"![training curves]({_rel(png, root)})", ""]
    return lines, png


def build_report(expdir: str | Path, title: str | None = None) -> Path:
    """Write ``EXPDIR/report.md`` from what the recipe left in EXPDIR; returns its path."""
    root = Path(expdir)
    if not root.is_dir():
        raise DataError(f"{root}: experiment folder not found; run the recipe stages first or fix the path")
    assets = root / ASSETS
    lines = [f"# {title or 'wavekit report: ' + root.resolve().name}", ""]

    times = read_times(root)
    if times:
        lines += ["## Wall times", ""]
        rows = [[k, f"{v:.1f}", f"{v / 60:.2f}"] for k, v in times.items()]
        rows.append(["**total**", f"{sum(times.values()):.1f}", f"{sum(times.values()) / 60:.2f}"])
        lines += _table(["stage", "seconds", "minutes"], rows)

    linked: set[Path] = set()
    speech, other = [], []
    for path in sorted(p for p in root.rglob("*.json") if ASSETS not in p.parts):
        data = _load_json(path)
        if isinstance(data, dict) and "utterances" in data and "mean" in data:
            speech.append((path, data))
        elif any(path.match(g) for g in _METRIC_GLOBS) and _flat_numbers(data):
            other.append((path, _flat_numbers(data)))
    for group in dict.fromkeys(d.get("group") for _, d in speech):  # one comparison per group of utterances
        part = [(p, d) for p, d in speech if d.get("group") == group]
        compare_lines, shown = comparison_section(part, root, assets, _link, MAX_FILES_PER_FOLDER, group=group)
        lines += compare_lines
        linked.update(shown)
    speech = [(p, d) for p, d in speech if not is_baseline(d)]  # baselines appear in the comparison only
    if speech or other:
        lines += ["## Metrics", ""]
    for path, data in speech:
        lines += _speech_section(path, data, root)
        for u in data.get("utterances", []):
            linked.update(Path(u[k]).resolve() for k in ("ref", "gen", "plot") if u.get(k))
    for path, flat in other:
        lines += [f"### `{_rel(path, root)}`", ""]
        lines += _table(["metric", "value"], [[k, _fmt(v)] for k, v in flat.items()])

    logs = sorted(p for p in root.rglob("metrics.jsonl") if ASSETS not in p.parts)
    if logs:
        lines += ["## Training", ""]
        for log in logs:
            section, png = _training_section(log, root, assets)
            lines += section
            if png is not None:
                linked.add(png.resolve())

    pngs = [p for p in sorted(root.rglob("*.png")) if p.resolve() not in linked and ASSETS not in p.parts]
    if pngs:
        lines += ["## Figures", ""]
        for p in pngs[: MAX_FILES_PER_FOLDER * 4]:
            lines += [f"![{p.stem}]({_rel(p, root)})", ""]
        linked.update(p.resolve() for p in pngs)

    wavs = [p for p in sorted(root.rglob("*.wav")) if p.resolve() not in linked]
    if wavs:
        lines += ["## Audio", ""]
        by_folder: dict[Path, list[Path]] = {}
        for w in wavs:
            by_folder.setdefault(w.parent, []).append(w)
        for folder, files in by_folder.items():
            links = ", ".join(_link(w, root, w.stem) for w in files[:MAX_FILES_PER_FOLDER])
            more = f" and {len(files) - MAX_FILES_PER_FOLDER} more" if len(files) > MAX_FILES_PER_FOLDER else ""
            lines += [f"- `{_rel(folder, root)}/`: {links}{more}"]
        lines += [""]

    if len(lines) <= 2:
        lines += ["Nothing to report yet: no metrics, training logs, figures or audio in this folder.", ""]
    return write_text_atomic(root / REPORT, "\n".join(lines))
