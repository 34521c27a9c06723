#!/usr/bin/env python3
"""Build a tiny CMU ARCTIC stand-in (two speakers) (espeak-ng speech, real layout) and its archive, for offline tests.

Usage:
  .venv/bin/python recipes/cmu_arctic/local/make_standin.py --out /tmp/arctic_standin
  .venv/bin/python recipes/cmu_arctic/local/download.py --source /tmp/arctic_standin \
      --checksums /tmp/arctic_standin/SHA256SUMS --out downloads
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402
from common.standin import build_standin_cli  # noqa: E402

if __name__ == "__main__":
    run_main(lambda argv: build_standin_cli("cmu_arctic", argv))
