#!/usr/bin/env python3
"""Download, verify (sha256) and extract VCTK 0.92 into OUT/VCTK-Corpus-0.92/.

The zip (about 11 GB) has no top folder; its ``wav48_silence_trimmed/``,
``txt/`` and ``speaker-info.txt`` land in ``OUT/VCTK-Corpus-0.92/``.
Resumable: a finished extraction is skipped, a partial download continues.
``--source`` takes a mirror URL, a local copy of the zip, or a folder
holding it (tests use make_standin.py); ``--checksums`` names a
``sha256sum``-style file whose entry replaces the built-in checksum.

Usage:
  .venv/bin/python recipes/vctk/local/download.py --out downloads
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import Archive, ensure_corpus, read_checksums, run_main  # noqa: E402

ARCHIVE = Archive(
    name="VCTK-Corpus-0.92.zip",
    url="https://datashare.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
    sha256="f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c",
    extract_to="VCTK-Corpus-0.92",
    marker="VCTK-Corpus-0.92/speaker-info.txt",
)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("downloads"), help="download/extract folder (downloads)")
    ap.add_argument("--source", default=None, help="mirror URL, local zip, or folder holding the zip")
    ap.add_argument("--checksums", type=Path, default=None, help="sha256sum-style file overriding the checksum")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    sha = read_checksums(args.checksums).get(ARCHIVE.name) if args.checksums else None
    ensure_corpus(ARCHIVE, args.out, source=args.source, sha256=sha, progress=not args.quiet)
    print(f"VCTK ready: {args.out / 'VCTK-Corpus-0.92'}")
    return 0


if __name__ == "__main__":
    run_main(main)
