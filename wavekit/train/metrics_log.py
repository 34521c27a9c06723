"""The Trainer's ``metrics.jsonl``: one JSON record per line, appended as training goes.

:func:`append` adds a record; :func:`read` returns the records (what the plots and reports
read); :func:`trim_after` drops the records past a resumed step (the work after that checkpoint
is redone, so its records would appear twice). A blank line, a line cut short by a crash or a
line that is not a JSON object is no record, for both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wavekit.atomic import write_text_atomic


def append(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one line of ``path``."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _record(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``; None for a blank line, a torn line or anything but an object."""
    line = line.strip()
    if not line:
        return None
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


def read(path: Path) -> list[dict[str, Any]]:
    """The records of ``path``, in order."""
    return [rec for rec in map(_record, path.read_text(encoding="utf-8").splitlines()) if rec is not None]


def trim_after(path: Path, step: int) -> None:
    """Drop the lines of ``path`` whose ``step`` is past ``step``, and every line that is no record;
    the file is replaced atomically, and only when something was dropped."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    keep = [ln for ln in lines if (rec := _record(ln)) is not None and rec.get("step", 0) <= step]
    if len(keep) != len(lines):
        write_text_atomic(path, "".join(ln + "\n" for ln in keep))
