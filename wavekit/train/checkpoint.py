"""Self-describing checkpoints: atomic save, checked load, model rebuild.

A checkpoint is one ``torch.save`` file holding a plain dict::

    {"format": "wavekit-checkpoint", "version": 1,
     "kind": "wavenet",                 # registry model kind
     "config": {...},                   # the model's config dataclass as plain data
     "model": state_dict, "ema": state_dict | None,
     "step": int, "optimizer": ..., "scheduler": ..., "scaler": ... | None,
     "rng": {...}, "data_state": {"epoch": e, "batch": b},
     "metrics": {...}, "train_config": {...},
     **checkpoint_extra}                # e.g. "audio": {"mel": ..., "stats": ...}

Only plain data (tensors, numbers, strings, lists, tuples, dicts, None) goes
in, so files load with ``torch.load(weights_only=True)``: opening a
checkpoint never runs code from it. :func:`load_model` rebuilds the model
from ``kind`` and ``config`` alone, no YAML needed.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wavekit.atomic import atomic_path
from wavekit.errors import CheckpointError, ConfigError

FORMAT = "wavekit-checkpoint"
VERSION = 1
REQUIRED_KEYS = ("kind", "config", "model")
STANDARD_KEYS = frozenset(
    {"format", "version", "kind", "config", "model", "ema", "step", "optimizer", "scheduler", "scaler",
     "rng", "data_state", "metrics", "train_config"}
)
_STEP_RE = re.compile(r"^step-(\d{8,})\.pt$")


def _check_plain(value: Any, key: str) -> None:
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor, torch.Size, torch.dtype)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{key}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"checkpoint key {key}: dict keys must be str or int, got {type(k).__name__}")
            _check_plain(v, f"{key}.{k}" if key else str(k))
        return
    raise TypeError(
        f"checkpoint entry {key!r} is a {type(value).__name__}; store only tensors, numbers, strings, "
        "lists and dicts (e.g. convert numpy arrays with .tolist() or torch.from_numpy)"
    )


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    _check_plain(payload, "")
    payload = {"format": FORMAT, "version": VERSION, **payload}
    with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "wb") as f:
        out = _RecordingWriter(f)
        try:
            torch.save(payload, out)  # type: ignore[arg-type]  # a file-like object with write/flush
        except RuntimeError:
            if out.error is not None:  # torch reports a failed write as "unexpected pos"
                raise out.error from None
            raise
        f.flush()
        os.fsync(f.fileno())
    return path


class _RecordingWriter:
    """A file wrapper that keeps the OSError of a failed write (torch replaces it with a RuntimeError)."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = e
            raise

    def flush(self) -> None:
        self.f.flush()


def _holds_code(path: Path, message: str) -> bool:
    """Whether a file torch's safe loader refused asks for Python objects (code) rather than being broken.

    The safe loader names the global it refused; for a plain pickle it may stop
    earlier, so its opcodes are scanned (without running anything) for imports.
    """
    if "GLOBAL" in message:
        return True
    import pickletools
    import zipfile

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith("data.pkl")]
                data = zf.read(names[0]) if names else b""
        else:
            data = path.read_bytes()
        ops = {op.name for op, _, _ in pickletools.genops(data)}
    except Exception:  # noqa: BLE001 - whatever the scan trips over, the file is not a pickle: corrupt
        return False
    return bool(ops & {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD"})


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load and check a wavekit checkpoint; :class:`CheckpointError` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        hint = " (it is a folder: pass a .pt file such as checkpoints/last.pt)" if path.is_dir() else ""
        raise CheckpointError(f"checkpoint not found: {path}{hint}")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # plain pickles: refused below
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises RuntimeError/EOFError/UnpicklingError/... for broken files
        if isinstance(e, pickle.UnpicklingError) and _holds_code(path, str(e)):
            raise CheckpointError(
                f"{path} holds code or Python objects that wavekit will not load (opening it could run "
                "that code); only plain tensors and data are loaded. Use a checkpoint written by "
                "`wavekit train` from a source you trust"
            ) from None
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in reason or "Weights only" in reason:
            reason = type(e).__name__  # torch's advice here is to disable the safety: never pass it on
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupt ({reason[:200]}); delete it and use an earlier "
            "checkpoint (checkpoints/step-*.pt) or retrain"
        ) from None
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_KEYS):
        raise CheckpointError(
            f"{path} is not a wavekit checkpoint (it lacks 'kind', 'config' and 'model'); "
            "pass a file written by `wavekit train`"
        )
    return ckpt


def checkpoint_extra(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The entries a data builder added (``DataBundle.checkpoint_extra``), e.g. ``"audio"``."""
    return {k: v for k, v in ckpt.items() if k not in STANDARD_KEYS}


def build_model(ckpt: dict[str, Any], source: str | Path = "checkpoint") -> nn.Module:
    """A freshly initialised model of the checkpoint's kind and config (weights not loaded)."""
    from wavekit import registry
    from wavekit.config import from_dict

    kind = ckpt["kind"]
    try:
        entry = registry.get_model(kind)
    except ConfigError as e:
        raise CheckpointError(f"{source}: {e}; is this checkpoint from a newer wavekit?") from None
    try:
        cfg = from_dict(entry.config_cls, ckpt["config"])
    except ConfigError as e:
        raise CheckpointError(f"{source}: its {kind} config does not fit this wavekit version: {e}") from None
    return entry.model_cls.from_config(cfg)


def load_model(path: str | Path, map_location: Any = "cpu") -> nn.Module:
    """Rebuild the model saved in ``path`` (EMA weights when present), in eval mode.

    The checkpoint's extra entries are attached as ``model.checkpoint_extra``
    (a dict; e.g. ``["audio"]["mel"]`` for a vocoder) and its step as
    ``model.checkpoint_step``.
    """
    return model_from_checkpoint(load_checkpoint(path, map_location=map_location), path, map_location)


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint", map_location: Any = "cpu") -> nn.Module:
    """:func:`load_model` for an already loaded checkpoint dict."""
    model = build_model(ckpt, source=path)
    state = ckpt.get("ema") or ckpt["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(
            f"{path}: weights do not fit a {ckpt['kind']} model built from its config "
            f"({' '.join(first[:2])[:300]}); the file was probably edited or written by another program"
        ) from None
    if isinstance(map_location, (str, torch.device)):
        model.to(map_location)
    model.eval()
    model.checkpoint_extra = checkpoint_extra(ckpt)
    model.checkpoint_step = int(ckpt.get("step", 0))
    return model


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
    np_state = np.random.get_state()
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
    model = model_from_checkpoint(ckpt, path)
    extra = checkpoint_extra(ckpt)
    out: dict[str, Any] = {
        "path": str(path),
        "kind": ckpt["kind"],
        "step": int(ckpt.get("step", 0)),
        "total_steps": (ckpt.get("train_config") or {}).get("steps"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "ema": ckpt.get("ema") is not None,
        "config": ckpt["config"],
        "metrics": ckpt.get("metrics") or {},
        "extra": sorted(extra),
    }
    rf = getattr(model, "receptive_field", None)
    if isinstance(rf, int):
        out["receptive_field"] = rf
        mel = (extra.get("audio") or {}).get("mel") or {}
        sr = mel.get("sample_rate") if isinstance(mel, dict) else None
        if isinstance(sr, (int, float)) and sr > 0:
            out["sample_rate"] = sr
            out["receptive_field_ms"] = 1000.0 * rf / sr
    return out
