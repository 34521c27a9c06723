"""Training's checkpoint folder (``step-*.pt``, ``last.pt``, ``best.pt``), generator states, ``wavekit info``.

Reading and writing a checkpoint file is not training's business: it lives
on the ground floor in :mod:`wavekit.checkpoint` (format, atomic save, the
refusal of files that hold code, typed rebuild), which this module uses like
every other wing and re-exports for the trainer.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from wavekit.checkpoint import (  # noqa: F401  (re-exported: the trainer reads them through this module)
    FORMAT,
    REQUIRED_KEYS,
    STANDARD_KEYS,
    VERSION,
    build_model,
    checkpoint_extra,
    from_checkpoint,
    load,
    load_checkpoint,
    save_checkpoint,
    with_legacy_attributes,
)

_STEP_RE = re.compile(r"^step-(\d{8,})\.pt$")


def load_model(path: str | Path, map_location: Any = "cpu") -> nn.Module:
    """What :func:`wavekit.load` returns: the model, with ``checkpoint_extra`` and ``checkpoint_step`` set on it.

    Kept for the public contract; new code uses :func:`wavekit.checkpoint.load`,
    whose typed result carries the settings instead of the module.
    """
    return model_from_checkpoint(load_checkpoint(path, map_location=map_location), path, map_location)


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint", map_location: Any = "cpu") -> nn.Module:
    """:func:`load_model` for an already loaded checkpoint dict."""
    return with_legacy_attributes(from_checkpoint(ckpt, path, map_location))


# --- checkpoint folder: step-XXXXXXXX.pt files, last.pt link, best.pt -------------------------


def step_path(ckpt_dir: str | Path, step: int) -> Path:
    return Path(ckpt_dir) / f"step-{step:08d}.pt"


def step_checkpoints(ckpt_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``step-*.pt`` in ``ckpt_dir``, oldest first."""
    d = Path(ckpt_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _STEP_RE.match(p.name))]
    return sorted(found)


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The newest ``step-*.pt`` in ``ckpt_dir`` (None if there is none)."""
    found = step_checkpoints(ckpt_dir)
    return found[-1][1] if found else None


def point_last(ckpt_dir: str | Path, target: Path) -> None:
    """Make ``last.pt`` name ``target`` (relative symlink, replaced atomically; a copy where links fail)."""
    d = Path(ckpt_dir)
    link = d / "last.pt"
    # Not wavekit.atomic: that writes a file's bytes; here the thing replaced is a symlink
    # (os.symlink into a fixed temp name, then the same atomic os.replace).
    tmp = d / ".last.pt.tmp"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(target.name, tmp)
    except OSError:
        import shutil

        shutil.copyfile(target, tmp)
    os.replace(tmp, link)


def prune(ckpt_dir: str | Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` step checkpoints (0 keeps all)."""
    if keep_last <= 0:
        return
    for _, p in step_checkpoints(ckpt_dir)[:-keep_last]:
        p.unlink(missing_ok=True)


# --- random number generator states as plain data ---------------------------------------------


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA) generator states, as checkpoint-safe plain data."""
    # legacy=True (the default) returns the tuple form; numpy's stubs only say "dict or tuple"
    np_state = cast("tuple[str, np.ndarray, int, int, float]", np.random.get_state())
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states captured by :func:`rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def summarize(path: str | Path) -> dict[str, Any]:
    """What ``wavekit info`` shows: kind, step, parameter count, receptive field, config, metrics."""
    ckpt = load_checkpoint(path)
    loaded = from_checkpoint(ckpt, path)
    out: dict[str, Any] = {
        "path": str(path),
        "kind": loaded.kind,
        "step": loaded.step,
        "total_steps": (ckpt.get("train_config") or {}).get("steps"),
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
        "ema": ckpt.get("ema") is not None,
        "config": ckpt["config"],
        "metrics": ckpt.get("metrics") or {},
        "extra": sorted(loaded.extra),
    }
    rf = getattr(loaded.model, "receptive_field", None)
    if isinstance(rf, int):
        out["receptive_field"] = rf
        if loaded.sample_rate is not None:
            out["sample_rate"] = loaded.sample_rate
            out["receptive_field_ms"] = 1000.0 * rf / loaded.sample_rate
    return out
