"""The shipped files of the embedded models: strip a trained checkpoint for shipping, describe an installed one.

    python -c 'from wavekit.pretrained.files import strip_checkpoint; strip_checkpoint("best.pt", "vocoder.pt")'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wavekit.checkpoint import load, load_checkpoint, save_checkpoint
from wavekit.pretrained import card_path, entry, path_of

# What a shipped checkpoint keeps: the weights and what rebuilding and using them needs.
KEEP_KEYS = ("kind", "config", "model", "step", "metrics", "train_config")
DROP_KEYS = ("optimizer", "scheduler", "scaler", "rng", "data_state", "ema", "format", "version")


def strip_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Write ``src`` without optimizer state to ``dst`` (EMA weights, when present, become the weights).

    Everything a data builder added (``audio``, ``speakers``, ``symbols``, ...) is kept.
    """
    ckpt = load_checkpoint(src)
    out = {k: ckpt[k] for k in KEEP_KEYS if k in ckpt}
    if ckpt.get("ema"):
        out["model"] = ckpt["ema"]
    out.update({k: v for k, v in ckpt.items() if k not in KEEP_KEYS and k not in DROP_KEYS})
    return save_checkpoint(dst, out)


def describe(name: str) -> dict[str, Any]:
    """What ``wavekit info`` says of an embedded model (parameters only when its file is installed)."""
    e, path, card = entry(name), path_of(name), card_path(name)
    out: dict[str, Any] = {
        "name": e.spec, "kind": e.kind, "description": e.description, "file": str(path),
        "installed": path.is_file(), "training_data": e.training_data,
        "card": str(card) if card.is_file() else None,
    }
    if path.is_file():
        loaded = load(e.spec)
        out.update(parameters=sum(p.numel() for p in loaded.model.parameters()), step=loaded.step,
                   file_bytes=path.stat().st_size)
    return out
