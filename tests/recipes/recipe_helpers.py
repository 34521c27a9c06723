"""Recipe-script helpers: run a ``recipes/<corpus>/local/*.py`` script as a user would.

Importing this module also puts ``recipes/`` on ``sys.path`` for ``common.corpus``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes"
if str(RECIPES) not in sys.path:
    sys.path.insert(0, str(RECIPES))  # for `common.corpus` / `common.standin`


def run_script(corpus: str, script: str, *args: str) -> subprocess.CompletedProcess:
    """``python recipes/<corpus>/local/<script> ARGS`` from the repository root; never raises."""
    cmd = [sys.executable, str(RECIPES / corpus / "local" / script), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
