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


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_image_wing_has_no_import_circle():
    """Counting lazy imports too: the row caches live beside their models, not in a module they import back."""
    graph = {}
    for path in _files("image"):
        name = "wavekit.image." + path.stem if path.stem != "__init__" else "wavekit.image"
        graph[name] = {m for m in _imports(path, skip_type_checking=False) if m.startswith("wavekit.image.")}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_ground_floor_modules_import_no_wing():
    wings = ("wavekit.audio", "wavekit.train", "wavekit.image", "wavekit.wavenet", "wavekit.generate",
             "wavekit.tts", "wavekit.eval", "wavekit.cli")
    for name in ("atomic.py", "config.py", "errors.py", "plotting.py", "likelihood.py", "checkpoint.py", "registry.py",
                 "cli_options.py"):
        up = {m for m in _imports(ROOT / name) if m.startswith(wings)}
        assert not up, f"{name} imports {sorted(up)}"
