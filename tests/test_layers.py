"""Imports point down the floors: checked on the source, so a new upward import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import wavekit

ROOT = Path(wavekit.__file__).parent


def _imports(path: Path, *, skip_type_checking: bool = True) -> set[str]:
    """Every ``wavekit...`` module ``path`` imports, at any depth (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if skip_type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
                skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wavekit"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("wavekit"))
    return found


def _files(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]


def test_no_wing_below_eval_imports_eval():
    for path in _files("core", "audio", "train", "image", "tts") + [ROOT / "plotting.py", ROOT / "likelihood.py"]:
        up = {m for m in _imports(path) if m == "wavekit.eval" or m.startswith("wavekit.eval.")}
        assert not up, f"{path.relative_to(ROOT)} imports {sorted(up)}"


def test_image_caches_do_not_import_their_models_at_run_time():
    models = {"wavekit.image.gated_pixelcnn", "wavekit.image.pixelcnn", "wavekit.image.pixelcnnpp"}
    cache = ROOT / "image" / "cache.py"
    assert not _imports(cache) & models
    assert _imports(cache, skip_type_checking=False) & models  # the type hints still name them


def test_ground_floor_modules_import_no_wing():
    wings = ("wavekit.audio", "wavekit.train", "wavekit.image", "wavekit.wavenet", "wavekit.generate",
             "wavekit.tts", "wavekit.eval", "wavekit.cli")
    for name in ("atomic.py", "config.py", "errors.py", "plotting.py", "likelihood.py", "checkpoint.py", "registry.py"):
        up = {m for m in _imports(ROOT / name) if m.startswith(wings)}
        assert not up, f"{name} imports {sorted(up)}"
