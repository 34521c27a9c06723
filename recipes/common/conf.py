#!/usr/bin/env python3
"""Read a recipe config (``recipes/<corpus>/conf/*.yaml``) from ``run.sh``.

A recipe config is one YAML file with

* ``recipe:``: settings of the stages themselves (subset size, split sizes,
  how much held-out audio to vocode, ...), read with ``get``;
* ``mel:``: the feature settings that ``wavekit preprocess --config`` reads;
* ``kind``, ``model``, ``data``, ``train``: the experiment that
  ``wavekit train`` runs (``experiment`` writes exactly these sections to
  their own file, because the trainer's config is strict);
* optionally more experiments under their own key (``tts:`` in the espeak
  recipe: a second ``{kind, model, data, train}``), written with
  ``experiment --section tts``.

Usage (from run.sh):
  python recipes/common/conf.py get CONF recipe.test_count 4     # prints the value or the default
  python recipes/common/conf.py experiment CONF OUT.yaml [--section tts]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

EXPERIMENT_KEYS = ("kind", "model", "data", "train")


def load(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"Error: recipe config {p} not found")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"Error: {p}: the top level must be a mapping")
    return data


def lookup(data: dict[str, Any], dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; None when any part is missing."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def shell_value(value: Any) -> str:
    """A YAML value as run.sh wants it: booleans as true/false, lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(shell_value(v) for v in value)
    return str(value)


def experiment(data: dict[str, Any], section: str | None) -> dict[str, Any]:
    src = data if section is None else lookup(data, section)
    if not isinstance(src, dict):
        raise SystemExit(f"Error: the recipe config has no '{section}:' section")
    exp = {k: src[k] for k in EXPERIMENT_KEYS if k in src}
    if "kind" not in exp:
        raise SystemExit(f"Error: no 'kind:' in {'the config' if section is None else section}")
    return exp


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get", help="print one value (dotted key) or the default")
    g.add_argument("conf")
    g.add_argument("key")
    g.add_argument("default", nargs="?", default=None)
    e = sub.add_parser("experiment", help="write the {kind, model, data, train} sections to their own YAML")
    e.add_argument("conf")
    e.add_argument("out", type=Path)
    e.add_argument("--section", default=None, help="take the experiment from this key (e.g. tts)")
    args = ap.parse_args(argv)

    data = load(args.conf)
    if args.cmd == "get":
        value = lookup(data, args.key)
        if value is None:
            if args.default is None:
                raise SystemExit(f"Error: {args.conf} has no key {args.key} and no default was given")
            print(args.default)
        else:
            print(shell_value(value))
        return 0
    text = yaml.safe_dump(experiment(data, args.section), sort_keys=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(f"# written by run.sh from {args.conf}; edit that file, not this one\n" + text, encoding="utf-8")
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
