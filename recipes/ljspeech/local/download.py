#!/usr/bin/env python3
"""Download, verify (sha256) and extract LJSpeech-1.1 into OUT/LJSpeech-1.1/.

Resumable: a finished extraction is skipped, a partial download continues.
``--source`` takes a mirror URL, a local copy of the archive, or a folder
holding it (tests use a local stand-in from make_standin.py); ``--checksums``
names a ``sha256sum``-style file whose entry replaces the built-in checksum.

Usage:
  .venv/bin/python recipes/ljspeech/local/download.py --out downloads
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import Archive, ensure_corpus, read_checksums, run_main  # noqa: E402

ARCHIVE = Archive(
    name="LJSpeech-1.1.tar.bz2",
    url="https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2",
    sha256="be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5",
    extract_to="",
    marker="LJSpeech-1.1/metadata.csv",
)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("downloads"), help="download/extract folder (downloads)")
    ap.add_argument("--source", default=None, help="mirror URL, local archive, or folder holding the archive")
    ap.add_argument("--checksums", type=Path, default=None, help="sha256sum-style file overriding the checksum")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    sha = read_checksums(args.checksums).get(ARCHIVE.name) if args.checksums else None
    ensure_corpus(ARCHIVE, args.out, source=args.source, sha256=sha, progress=not args.quiet)
    print(f"LJSpeech ready: {args.out / 'LJSpeech-1.1'}")
    return 0


if __name__ == "__main__":
    run_main(main)
