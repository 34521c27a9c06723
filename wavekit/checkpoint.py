"""Self-describing checkpoints on the ground floor: atomic save, safe load, typed rebuild.

A checkpoint is one ``torch.save`` file holding a plain dict::

    {"format": "wavekit-checkpoint", "version": 1,
     "kind": "wavenet",                 # registry model kind
     "config": {...},                   # the model's config dataclass as plain data
     "model": state_dict, "ema": state_dict | None,
     "step": int, "optimizer": ..., "scheduler": ..., "scaler": ... | None,
     "rng": {...}, "data_state": {"epoch": e, "batch": b},
     "metrics": {...}, "train_config": {...},
     **extra}                           # what the data builder adds, e.g. "audio", "speakers", "symbols"

Only plain data (tensors, numbers, strings, lists, tuples, dicts, None) goes
in, so files load with ``torch.load(weights_only=True)``: opening a
checkpoint never runs code from it. :func:`load` rebuilds the model from
``kind`` and ``config`` alone and returns a :class:`LoadedModel`; the model
family is imported through :mod:`wavekit.registry`, which imports only the
modules of that kind (loading a vocoder imports neither Tacotron nor the
image models). Every wing, ``train`` included, reads and writes checkpoints
through this module.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wavekit.atomic import atomic_path
from wavekit.errors import CheckpointError, ConfigError
from wavekit.pretrained import entry, is_spec, resolve_source

FORMAT = "wavekit-checkpoint"
VERSION = 1
REQUIRED_KEYS = ("kind", "config", "model")
STANDARD_KEYS = frozenset(
    {"format", "version", "kind", "config", "model", "ema", "step", "optimizer", "scheduler", "scaler",
     "rng", "data_state", "metrics", "train_config"}
)


@dataclass(frozen=True)
class LoadedModel:
    """A model rebuilt from a checkpoint, with the settings it was trained under.

    ``audio`` is the ``{"mel": MelConfig fields, "stats": FeatureStats}`` dict a
    vocoder or TTS data builder stored (None for image models); ``speakers``
    the ``{name: id}`` map of a multi-speaker vocoder (empty if none);
    ``symbols`` the TTS symbol table (None otherwise); ``image`` the image
    data settings (None otherwise); ``extra`` every non-standard entry.
    """

    model: nn.Module
    kind: str
    step: int
    path: Path
    audio: dict[str, Any] | None = None
    speakers: dict[str, int] = field(default_factory=dict)
    symbols: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mel(self) -> dict[str, Any] | None:
        """The mel settings (``MelConfig`` fields) the model was trained on, if it records them."""
        mel = (self.audio or {}).get("mel")
        return mel if isinstance(mel, dict) else None

    @property
    def sample_rate(self) -> int | None:
        sr = (self.mel or {}).get("sample_rate")
        return int(sr) if isinstance(sr, (int, float)) and sr > 0 else None


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
    """Load and check a wavekit checkpoint dict; :class:`CheckpointError` naming the file otherwise.

    ``path`` may name an embedded model, ``"pretrained:vocoder"`` (:mod:`wavekit.pretrained`).
    """
    path = Path(resolve_source(path))
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
        cfg: Any = from_dict(entry.config_cls, ckpt["config"])
    except ConfigError as e:
        raise CheckpointError(f"{source}: its {kind} config does not fit this wavekit version: {e}") from None
    model_cls: Any = entry.model_cls  # registered with a from_config classmethod (checked by the registry)
    return model_cls.from_config(cfg)


def from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint", map_location: Any = "cpu") -> LoadedModel:
    """:func:`load` for an already loaded checkpoint dict (EMA weights when present; eval mode)."""
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
    extra = checkpoint_extra(ckpt)
    names = extra.get("speakers")
    return LoadedModel(
        model=model,
        kind=str(ckpt["kind"]),
        step=int(ckpt.get("step", 0)),
        path=Path(path),
        audio=extra["audio"] if isinstance(extra.get("audio"), dict) else None,
        speakers={str(k): int(v) for k, v in names.items()} if isinstance(names, dict) else {},
        symbols=extra["symbols"] if isinstance(extra.get("symbols"), dict) else None,
        image=extra["image"] if isinstance(extra.get("image"), dict) else None,
        extra=extra,
    )


def load(path: str | Path, map_location: Any = "cpu") -> LoadedModel:
    """Rebuild the model saved in ``path`` with its settings; :class:`CheckpointError` for a bad file.

    ``path`` may be ``"pretrained:NAME"``: the embedded model of :mod:`wavekit.pretrained`.
    """
    file = Path(resolve_source(path))
    ckpt = load_checkpoint(file, map_location=map_location)
    if is_spec(path) and ckpt["kind"] != entry(str(path)).kind:
        raise CheckpointError(f"{file} holds a {ckpt['kind']} checkpoint, but {path} is a {entry(str(path)).kind}; "
                              "the embedded file was replaced by the wrong model")
    return from_checkpoint(ckpt, file, map_location)


def with_legacy_attributes(loaded: LoadedModel) -> nn.Module:
    """The model with ``checkpoint_extra`` and ``checkpoint_step`` set on it: what ``wavekit.load`` returns.

    Kept for the public contract (and the examples that read those attributes);
    wavekit itself reads the settings from :class:`LoadedModel`.
    """
    object.__setattr__(loaded.model, "checkpoint_extra", loaded.extra)  # plain values: as nn.Module would store them
    object.__setattr__(loaded.model, "checkpoint_step", loaded.step)
    return loaded.model


def extra_of(source: Any) -> dict[str, Any]:
    """The checkpoint extras of a :class:`LoadedModel`, or of a model from :func:`wavekit.load` (legacy)."""
    if isinstance(source, LoadedModel):
        return source.extra
    extra = getattr(source, "checkpoint_extra", None)
    return extra if isinstance(extra, dict) else {}


def model_of(source: Any) -> Any:
    """The ``nn.Module`` of a :class:`LoadedModel`, or ``source`` itself."""
    return source.model if isinstance(source, LoadedModel) else source


# What a shipped checkpoint keeps: the weights and what rebuilding and using them needs.
KEEP_KEYS = ("kind", "config", "model", "step", "metrics", "train_config")
DROP_KEYS = ("optimizer", "scheduler", "scaler", "rng", "data_state", "ema", "format", "version")


def strip_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Write ``src`` for shipping, without optimizer state to ``dst`` (EMA weights, when present, become the weights).

    Everything a data builder added (``audio``, ``speakers``, ``symbols``, ...) is kept.
    """
    ckpt = load_checkpoint(src)
    out = {k: ckpt[k] for k in KEEP_KEYS if k in ckpt}
    if ckpt.get("ema"):
        out["model"] = ckpt["ema"]
    out.update({k: v for k, v in ckpt.items() if k not in KEEP_KEYS and k not in DROP_KEYS})
    return save_checkpoint(dst, out)
