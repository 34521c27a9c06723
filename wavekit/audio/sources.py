"""What to preprocess: list a corpus folder or manifest, name items, split them.

A source is either

- a folder, searched recursively for ``.wav``, ``.flac`` and ``.ogg`` files
  (sorted by path); the speaker is the name of each file's parent folder; or
- a manifest ``.csv`` (header row) or ``.jsonl`` (one JSON object a line)
  with a ``path`` column (relative to the manifest's folder, or absolute)
  and optional ``text``, ``speaker`` and ``id`` columns; a row without a
  speaker takes its parent folder name.

Item ids come from the path relative to the folder/manifest (without the
suffix; ``/`` becomes ``__``, other unsafe characters ``_``; files outside
the manifest's folder: relative to their deepest common folder) unless the
manifest gives them. The train/dev/test split is a pure function of the ids
and the seed: items are ordered by ``sha256(f"{seed}:{id}")`` and the first
``n_test`` go to "test", the next ``n_dev`` to "dev", the rest to "train".
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from wavekit.audio.io import AUDIO_SUFFIXES
from wavekit.errors import DataError

SPLITS = ("train", "dev", "test")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SourceItem:
    """One input file: its id, absolute path, speaker name and transcript ("" if none)."""

    id: str
    path: Path
    speaker: str
    text: str = ""


def make_id(rel: Path) -> str:
    """A file-system-safe item id from a relative path: ``a/b/c.wav`` -> ``a__b__c``."""
    parts = [_UNSAFE.sub("_", p) for p in rel.with_suffix("").parts if p not in ("", ".", "..")]
    return "__".join(parts) or "item"


def _folder_items(root: Path) -> list[SourceItem]:
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"no audio files (.wav, .flac, .ogg) found under {root}; point SRC at a corpus folder or manifest")
    return [SourceItem(make_id(p.relative_to(root)), p.resolve(), p.parent.name) for p in files]


def _read_manifest_rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None or "path" not in [f.strip() for f in reader.fieldnames]:
            raise DataError(f"{path}: a CSV manifest needs a header row with a 'path' column (optional: text, speaker, id)")
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{n}: each line must be a JSON object with a 'path' key")
        rows.append(row)
    return rows


def _manifest_items(path: Path) -> list[SourceItem]:
    base = path.parent.resolve()
    rows = _read_manifest_rows(path)
    paths = []
    for n, row in enumerate(rows, 1):
        raw = str(row.get("path") or "").strip()
        if not raw:
            raise DataError(f"{path}: row {n} has no 'path'; every row needs the audio file's path")
        p = Path(raw).expanduser()
        paths.append(Path(os.path.normpath(p if p.is_absolute() else base / p)))
    # ids of files outside the manifest's folder are relative to their common folder
    outside = [str(p.parent) for p in paths if not p.is_relative_to(base)]
    common = Path(os.path.commonpath(outside)) if outside else base
    items = []
    for n, (row, p) in enumerate(zip(rows, paths), 1):
        rel = p.relative_to(base) if p.is_relative_to(base) else p.relative_to(common)
        item_id = str(row.get("id") or "").strip() or make_id(rel)
        if _UNSAFE.search(item_id) or item_id.startswith("."):
            raise DataError(f"{path}: row {n}: id {item_id!r} may only use letters, digits, '.', '_' and '-'")
        speaker = str(row.get("speaker") or "").strip() or p.parent.name
        items.append(SourceItem(item_id, p, speaker, str(row.get("text") or "").strip()))
    if not items:
        raise DataError(f"manifest {path} lists no files")
    return items


def list_sources(src: str | Path, limit: int | None = None) -> list[SourceItem]:
    """The items of a corpus folder or manifest (see module docstring); the first ``limit`` if given."""
    src = Path(src).expanduser()
    if not src.exists():
        raise DataError(f"SRC not found: {src}; give a folder of audio files or a .csv/.jsonl manifest")
    if src.is_dir():
        items = _folder_items(src)
    elif src.suffix.lower() in (".csv", ".jsonl"):
        items = _manifest_items(src)
    else:
        raise DataError(f"SRC {src} is neither a folder nor a .csv/.jsonl manifest")
    seen: dict[str, Path] = {}
    for it in items:
        if it.id in seen:
            raise DataError(f"two inputs map to the same item id {it.id!r}: {seen[it.id]} and {it.path}; give unique ids")
        seen[it.id] = it.path
    return items[:limit] if limit is not None else items


def _split_size(fraction: float, count: int | None, n: int) -> int:
    if count is not None:
        return count
    if fraction <= 0:
        return 0
    return max(1, round(fraction * n)) if n >= 3 else 0


def assign_splits(
    ids: list[str],
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    valid_count: int | None = None,
    test_count: int | None = None,
    seed: int = 0,
) -> dict[str, str]:
    """Map each id to "train", "dev" or "test" (deterministic; see module docstring).

    A count, when given, overrides its fraction. A non-zero fraction gives at
    least one item once there are 3 or more items.
    """
    for name, v in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= v < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {v}")
    for name, c in (("valid_count", valid_count), ("test_count", test_count)):
        if c is not None and c < 0:
            raise ValueError(f"{name} must be >= 0, got {c}")
    n = len(ids)
    n_test = _split_size(test_fraction, test_count, n)
    n_dev = _split_size(valid_fraction, valid_count, n)
    if n and n_test + n_dev >= n:
        raise DataError(
            f"the split leaves no training items ({n} items, {n_dev} dev, {n_test} test); "
            "lower --valid-count/--test-count or the fractions"
        )
    order = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return {i: ("test" if k < n_test else "dev" if k < n_test + n_dev else "train") for k, i in enumerate(order)}
