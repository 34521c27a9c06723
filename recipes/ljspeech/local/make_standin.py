#!/usr/bin/env python3
"""Build a tiny LJSpeech-1.1 stand-in (espeak-ng speech, real layout) and its archive, for offline tests.

Usage:
  .venv/bin/python recipes/ljspeech/local/make_standin.py --out /tmp/ljs_standin
  .venv/bin/python recipes/ljspeech/local/download.py --source /tmp/ljs_standin \
      --checksums /tmp/ljs_standin/SHA256SUMS --out downloads
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402
from common.standin import build_standin_cli  # noqa: E402

if __name__ == "__main__":
    run_main(lambda argv: build_standin_cli("ljspeech", argv))
