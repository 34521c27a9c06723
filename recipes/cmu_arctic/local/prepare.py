#!/usr/bin/env python3
"""Manifest (path,text,speaker,id) of CMU ARCTIC speakers for ``wavekit preprocess``.

For each ``cmu_us_<spk>_arctic/`` under ``--root`` (or only ``--speakers``)
reads ``etc/txt.done.data`` (lines ``( arctic_a0001 "text" )``) and
``wav/<utt>.wav``. Speaker = ``<spk>``; id = ``<spk>_<utt>`` (utterance
names repeat across speakers). Rows are ordered by speaker, then as
listed; ``--limit`` keeps N utterances balanced over speakers.

Usage:
  .venv/bin/python recipes/cmu_arctic/local/prepare.py --root downloads -o data/cmu_arctic/manifest.csv
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import balanced_subset, run_main, write_manifest  # noqa: E402

from wavekit.errors import DataError  # noqa: E402

_LINE = re.compile(r'^\(\s*(\S+)\s+"(.*)"\s*\)\s*$')
_DIR = re.compile(r"^cmu_us_([a-z0-9]+)_arctic$")


def speaker_dirs(root: Path, speakers: list[str] | None) -> list[tuple[str, Path]]:
    if not root.is_dir():
        raise DataError(f"{root}: folder not found; run local/download.py first or pass --root")
    found = {m.group(1): d for d in sorted(root.iterdir()) if d.is_dir() and (m := _DIR.match(d.name))}
    if speakers:
        absent = [s for s in speakers if s not in found]
        if absent:
            raise DataError(f"speaker(s) {', '.join(absent)} not under {root}; download them first")
        found = {s: found[s] for s in speakers}
    if not found:
        raise DataError(f"no cmu_us_<spk>_arctic folders under {root}; run local/download.py first")
    return sorted(found.items())


def list_utterances(root: Path, speakers: list[str] | None = None) -> tuple[list[dict], int]:
    rows, missing = [], 0
    for spk, d in speaker_dirs(root, speakers):
        listing = d / "etc" / "txt.done.data"
        if not listing.is_file():
            raise DataError(f"{listing}: missing; the download of speaker {spk} is incomplete, rerun download.py")
        for n, line in enumerate(listing.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            m = _LINE.match(line.strip())
            if m is None:
                raise DataError(f'{listing}:{n}: expected ( utt_id "text" ), got {line.strip()[:60]!r}')
            utt, text = m.groups()
            wav = d / "wav" / f"{utt}.wav"
            if not wav.is_file():
                missing += 1
                continue
            rows.append({"path": str(wav.resolve()), "text": text, "speaker": spk, "id": f"{spk}_{utt}"})
    return rows, missing


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("downloads"), help="folder holding cmu_us_*_arctic (downloads)")
    ap.add_argument("-o", "--out", required=True, type=Path, help="manifest CSV to write")
    ap.add_argument("--speakers", default=None, help="comma-separated speaker codes (default: all found)")
    ap.add_argument("--limit", type=int, default=None, help="at most N utterances, balanced over speakers")
    args = ap.parse_args(argv)
    speakers = [s.strip() for s in args.speakers.split(",") if s.strip()] if args.speakers else None
    rows, missing = list_utterances(args.root, speakers)
    rows = balanced_subset(rows, args.limit)
    n = write_manifest(rows, args.out)
    spk = sorted({r["speaker"] for r in rows})
    print(f"wrote {args.out}: {n} utterances, speakers {', '.join(spk)}"
          + (f" ({missing} listed wavs missing, skipped)" if missing else ""))
    return 0


if __name__ == "__main__":
    run_main(main)
