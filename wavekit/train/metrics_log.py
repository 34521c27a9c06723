"""The Trainer's ``metrics.jsonl``: one JSON record per line, appended as training goes.

:func:`append` adds a record; :func:`trim_after` drops the records past a resumed step
(the work after that checkpoint is redone, so its records would appear twice).
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


def trim_after(path: Path, step: int) -> None:
    """Drop the lines of ``path`` whose ``step`` is past ``step``, and any line cut short by a crash;
    the file is replaced atomically, and only when something was dropped."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()

    def keep_line(line: str) -> bool:
        try:
            return json.loads(line).get("step", 0) <= step
        except (json.JSONDecodeError, AttributeError):
            return False  # a line cut short by a crash

    keep = [ln for ln in lines if keep_line(ln)]
    if len(keep) != len(lines):
        write_text_atomic(path, "".join(ln + "\n" for ln in keep))
