#!/usr/bin/env python3
"""Manifest (path,text,speaker,id) of LJSpeech-1.1 for ``wavekit preprocess``.

Reads ``LJSpeech-1.1/metadata.csv`` (``id|transcription|normalized
transcription``, no quoting) and ``wavs/<id>.wav``; the text is the
normalized transcription (numbers and abbreviations spelled out), the
speaker is "LJ". Rows keep the metadata order; listed files that are
missing are skipped and counted.

Usage:
  .venv/bin/python recipes/ljspeech/local/prepare.py --root downloads -o data/ljspeech/manifest.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import balanced_subset, run_main, write_manifest  # noqa: E402

from wavekit.errors import DataError  # noqa: E402


def corpus_dir(root: Path) -> Path:
    for cand in (root, root / "LJSpeech-1.1"):
        if (cand / "metadata.csv").is_file():
            return cand
    raise DataError(f"{root}: no LJSpeech-1.1/metadata.csv here; run local/download.py first or pass --root")


def list_utterances(root: Path) -> tuple[list[dict], int]:
    """Manifest rows and the number of listed-but-missing wavs."""
    base = corpus_dir(root)
    rows, missing = [], 0
    with open(base / "metadata.csv", encoding="utf-8", newline="") as f:
        for n, rec in enumerate(csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE), 1):
            if not rec:
                continue
            if len(rec) < 2:
                raise DataError(f"{base / 'metadata.csv'}:{n}: expected 'id|text|normalized text'")
            utt = rec[0].strip()
            text = rec[2] if len(rec) > 2 and rec[2].strip() else rec[1]
            wav = base / "wavs" / f"{utt}.wav"
            if not wav.is_file():
                missing += 1
                continue
            rows.append({"path": str(wav.resolve()), "text": text, "speaker": "LJ", "id": utt})
    return rows, missing


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("downloads"), help="folder holding LJSpeech-1.1 (downloads)")
    ap.add_argument("-o", "--out", required=True, type=Path, help="manifest CSV to write")
    ap.add_argument("--limit", type=int, default=None, help="at most N utterances, spread over the corpus")
    args = ap.parse_args(argv)
    rows, missing = list_utterances(args.root)
    n = write_manifest(balanced_subset(rows, args.limit), args.out)
    print(f"wrote {args.out}: {n} utterances" + (f" ({missing} listed wavs missing, skipped)" if missing else ""))
    return 0


if __name__ == "__main__":
    run_main(main)
