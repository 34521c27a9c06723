#!/usr/bin/env python3
"""Manifest (path,text,speaker,id) of VCTK 0.92 for ``wavekit preprocess``.

Reads ``wav48_silence_trimmed/<spk>/<spk>_<nnn>_<mic>.flac`` (48 kHz FLAC;
``--mic`` mic1 by default) and the transcript ``txt/<spk>/<spk>_<nnn>.txt``.
Utterances without a transcript (all of p315, a few others) get empty
text, or are dropped with ``--require-text``. Speaker = ``<spk>``; id =
``<spk>_<nnn>``. Rows are sorted by path; ``--limit`` keeps N utterances
balanced over speakers.

Usage:
  .venv/bin/python recipes/vctk/local/prepare.py --root downloads -o data/vctk/manifest.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import balanced_subset, run_main, write_manifest  # noqa: E402

from wavekit.errors import DataError  # noqa: E402

WAV_DIR = "wav48_silence_trimmed"


def corpus_dir(root: Path) -> Path:
    for cand in (root, root / "VCTK-Corpus-0.92"):
        if (cand / WAV_DIR).is_dir():
            return cand
    raise DataError(f"{root}: no VCTK-Corpus-0.92/{WAV_DIR} here; run local/download.py first or pass --root")


def list_utterances(root: Path, mic: str = "mic1", speakers: list[str] | None = None,
                    require_text: bool = False) -> list[dict]:
    base = corpus_dir(root)
    rows = []
    suffix = f"_{mic}"
    for flac in sorted((base / WAV_DIR).glob(f"*/*{suffix}.flac")):
        spk = flac.parent.name
        if speakers and spk not in speakers:
            continue
        utt = flac.stem[: -len(suffix)]
        txt = base / "txt" / spk / f"{utt}.txt"
        text = txt.read_text(encoding="utf-8", errors="replace").strip() if txt.is_file() else ""
        if require_text and not text:
            continue
        rows.append({"path": str(flac.resolve()), "text": text, "speaker": spk, "id": utt})
    if speakers:
        absent = sorted(set(speakers) - {r["speaker"] for r in rows})
        if absent:
            raise DataError(f"speaker(s) {', '.join(absent)} have no {mic} audio under {base / WAV_DIR}")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("downloads"), help="folder holding VCTK-Corpus-0.92 (downloads)")
    ap.add_argument("-o", "--out", required=True, type=Path, help="manifest CSV to write")
    ap.add_argument("--mic", choices=("mic1", "mic2"), default="mic1", help="microphone (mic1)")
    ap.add_argument("--speakers", default=None, help="comma-separated speaker ids (default: all)")
    ap.add_argument("--require-text", action="store_true", help="drop utterances without a transcript")
    ap.add_argument("--limit", type=int, default=None, help="at most N utterances, balanced over speakers")
    args = ap.parse_args(argv)
    speakers = [s.strip() for s in args.speakers.split(",") if s.strip()] if args.speakers else None
    rows = list_utterances(args.root, args.mic, speakers, args.require_text)
    rows = balanced_subset(rows, args.limit)
    n = write_manifest(rows, args.out)
    no_text = sum(1 for r in rows if not r["text"])
    print(f"wrote {args.out}: {n} utterances, {len({r['speaker'] for r in rows})} speakers"
          + (f" ({no_text} without transcript)" if no_text else ""))
    return 0


if __name__ == "__main__":
    run_main(main)
