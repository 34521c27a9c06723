#!/usr/bin/env python3
"""Download, verify (sha256) and extract CMU ARCTIC speakers into OUT/cmu_us_<spk>_arctic/.

One archive per speaker (``--speakers``, default the four voices of the
multi-speaker recipe: bdl, clb, rms, slt). Resumable: finished speakers
are skipped, a partial download continues. ``--source`` takes a mirror
URL (folder), or a local folder holding the archives (tests use
make_standin.py); ``--checksums`` names a ``sha256sum``-style file whose
entries replace the built-in checksums.

Usage:
  .venv/bin/python recipes/cmu_arctic/local/download.py --out downloads --speakers bdl,slt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import Archive, ensure_corpus, read_checksums, run_main  # noqa: E402

from wavekit.errors import DataError  # noqa: E402

BASE_URL = "http://festvox.org/cmu_arctic/packed"
DEFAULT_SPEAKERS = ("bdl", "clb", "rms", "slt")
SHA256 = {
    "aew": "645cb33c0f0b2ce41384fdd8d3db2c3f5fc15c1e688baeb74d2e08cab18ab406",
    "ahw": "024664adeb892809d646a3efd043625b46b5bfa3e6189b3500b2d0d59dfab06c",
    "aup": "2c55bc3050caa996758869126ad10cf42e1441212111db034b3a45189c18b6fc",
    "awb": "d74a950c9739a65f7bfc4dfa6187f2730fa03de5b8eb3f2da97a51b74df64d3c",
    "axb": "dd65c3d2907d1ee52f86e44f578319159e60f4bf722a9142be01161d84e330ff",
    "bdl": "26b91aaf48b2799b2956792b4632c2f926cd0542f402b5452d5adecb60942904",
    "clb": "3f16dc3f3b97955ea22623efb33b444341013fc660677b2e170efdcc959fa7c6",
    "eey": "8a0ee4e5acbd4b2f61a4fb947c1730ab3adcc9dc50b195981d99391d29928e8a",
    "fem": "3fcff629412b57233589cdb058f730594a62c4f3a75c20de14afe06621ef45e2",
    "gka": "dc82e7967cbd5eddbed33074b0699128dbd4482b41711916d58103707e38c67f",
    "jmk": "3a37c0e1dfc91e734fdbc88b562d9e2ebca621772402cdc693bbc9b09b211d73",
    "ksp": "8029cafce8296f9bed3022c44ef1e7953332b6bf6943c14b929f468122532717",
    "ljm": "b23993765cbf2b9e7bbc3c85b6c56eaf292ac81ee4bb887b638a24d104f921a0",
    "lnh": "4faf34d71aa7112813252fb20c5433e2fdd9a9de55a00701ffcbf05f24a5991a",
    "rms": "c6dc11235629c58441c071a7ba8a2d067903dfefbaabc4056d87da35b72ecda4",
    "rxr": "1fa4271c393e5998d200e56c102ff46fcfea169aaa2148ad9e9469616fbfdd9b",
    "slp": "54345ed55e45c23d419e9a823eef427f1cc93c83a710735ec667d068c916abf1",
    "slt": "7c173297916acf3cc7fcab2713be4c60b27312316765a90934651d367226b4ea",
}


def archive_for(speaker: str) -> Archive:
    if speaker not in SHA256:
        raise DataError(f"unknown CMU ARCTIC speaker {speaker!r}; choose from {', '.join(sorted(SHA256))}")
    name = f"cmu_us_{speaker}_arctic.tar.bz2"
    return Archive(name=name, url=f"{BASE_URL}/{name}", sha256=SHA256[speaker], extract_to="",
                   marker=f"cmu_us_{speaker}_arctic/etc/txt.done.data")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("downloads"), help="download/extract folder (downloads)")
    ap.add_argument("--speakers", default=",".join(DEFAULT_SPEAKERS), help="comma-separated speaker codes")
    ap.add_argument("--source", default=None, help="mirror URL folder, or local folder holding the archives")
    ap.add_argument("--checksums", type=Path, default=None, help="sha256sum-style file overriding checksums")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    sums = read_checksums(args.checksums) if args.checksums else {}
    speakers = [s.strip() for s in args.speakers.split(",") if s.strip()]
    for spk in speakers:
        arch = archive_for(spk)
        ensure_corpus(arch, args.out, source=args.source, sha256=sums.get(arch.name), progress=not args.quiet)
    print(f"CMU ARCTIC ready under {args.out}: {', '.join(speakers)}")
    return 0


if __name__ == "__main__":
    run_main(main)
