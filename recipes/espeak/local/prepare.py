#!/usr/bin/env python3
"""Speak generated English sentences with espeak-ng: the espeak recipe's corpus.

Writes ``OUT/wavs/uttNNNNN.wav`` (22.05 kHz, as espeak-ng speaks) and
``OUT/manifest.csv`` (``path,text,speaker``) for ``wavekit preprocess``,
through :func:`wavekit.tts.espeak_corpus.make_espeak_corpus`. The sentences
(templates, names, numbers, dates, abbreviations) are the same for the same
``--count`` and ``--seed``; existing wavs are kept, so a rerun resumes.

Usage:
  .venv/bin/python recipes/espeak/local/prepare.py --out exp/espeak/data --count 400
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402

from wavekit.tts.espeak_corpus import make_espeak_corpus  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="corpus folder (wavs/ and manifest.csv)")
    ap.add_argument("--count", type=int, default=400, help="number of sentences (400)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sentence generator (0)")
    ap.add_argument("--voice", default="en-us", help="espeak-ng voice (en-us); comma-separated for several speakers")
    ap.add_argument("--speed", type=int, default=160, help="words per minute (160)")
    args = ap.parse_args(argv)
    voices = tuple(v for v in args.voice.split(",") if v)
    manifest = make_espeak_corpus(args.out, args.count, seed=args.seed, voices=voices, speed=args.speed)
    print(f"wrote {manifest}: {args.count} sentences spoken by {', '.join(voices)}")
    return 0


if __name__ == "__main__":
    run_main(main)
