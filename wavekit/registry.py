"""Explicit registries of model kinds and their data builders.

A model kind (``"wavenet"``, ``"pixelcnn"``, ``"tacotron2"``, ...) maps to
its config dataclass and model class. Every registered model class has a
``from_config(cfg)`` classmethod and keeps its config dataclass as
``model.config``, so a checkpoint that stores ``kind`` and the config as a
plain dict is enough for :func:`wavekit.load` to rebuild the model.

A data entry maps the same kind to its data-config dataclass and a builder
``build(data_cfg, model_cfg) -> DataBundle`` used by ``wavekit train``.

Registration is explicit: each module listed in ``_FAMILIES`` calls
:func:`register_model` / :func:`register_data` once at import time. The
families load lazily and one at a time: looking up ``"wavenet"`` imports the
WaveNet modules only, so loading a vocoder imports neither Tacotron nor the
image models. Only :func:`model_kinds` and an unknown kind import them all.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from wavekit.errors import ConfigError


@dataclass(frozen=True)
class ModelEntry:
    kind: str
    config_cls: type[Any]  # a dataclass
    model_cls: type[Any]  # an nn.Module class with a ``from_config(cfg)`` classmethod (register_model checks)


@dataclass
class DataBundle:
    """What a data builder hands the trainer.

    ``train``/``valid`` are map-style datasets whose items are dicts; ``collate``
    turns a list of items into a batch dict whose keys are keyword arguments of
    ``model.loss``. ``checkpoint_extra`` is stored in every checkpoint (e.g. mel
    settings and feature statistics for a vocoder, the symbol table for TTS).
    """

    train: Any
    valid: Any | None
    collate: Callable[[list[dict]], dict] | None = None
    checkpoint_extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataEntry:
    kind: str
    config_cls: type[Any]  # a dataclass
    build: Callable[[Any, Any], DataBundle]


_MODELS: dict[str, ModelEntry] = {}
_DATA: dict[str, DataEntry] = {}

# Every model family: its kinds and the modules that register them, imported on first lookup of a kind.
_FAMILIES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("wavenet",): ("wavekit.wavenet.model", "wavekit.wavenet.data"),
    ("pixelcnn", "gated_pixelcnn", "pixelcnnpp", "pixelrnn"): ("wavekit.image.pipeline",),
    ("tacotron2",): ("wavekit.tts.tacotron2", "wavekit.tts.data"),
}
_MODULES = tuple(m for mods in _FAMILIES.values() for m in mods)


def register_model(kind: str, config_cls: type, model_cls: type) -> None:
    """Register ``model_cls`` (rebuilt as ``model_cls.from_config(config_cls(...))``) as ``kind``."""
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"config class for {kind!r} must be a dataclass")
    if not hasattr(model_cls, "from_config"):
        raise TypeError(f"model class for {kind!r} needs a from_config classmethod")
    old = _MODELS.get(kind)
    if old is not None and old.model_cls is not model_cls:
        raise TypeError(f"model kind {kind!r} registered twice")
    _MODELS[kind] = ModelEntry(kind, config_cls, model_cls)


def register_data(kind: str, config_cls: type, build: Callable[[Any, Any], DataBundle]) -> None:
    """Register the data builder used by ``wavekit train`` for model kind ``kind``."""
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"data config class for {kind!r} must be a dataclass")
    _DATA[kind] = DataEntry(kind, config_cls, build)


_imported: set[str] = set()


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        if name in _imported:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            # Tolerate only a listed module that does not exist (yet); real
            # import errors inside an existing module propagate.
            if e.name is None or not name.startswith(e.name):
                raise
        _imported.add(name)


def _import_kind(kind: str) -> None:
    """Import the family that registers ``kind`` (every family when no family lists it)."""
    for kinds, modules in _FAMILIES.items():
        if kind in kinds:
            _import(modules)
            return
    _import_all()


def _import_all() -> None:
    _import(_MODULES)


def get_model(kind: str) -> ModelEntry:
    """The model entry for ``kind``; :class:`ConfigError` naming the known kinds otherwise."""
    if kind not in _MODELS:
        _import_kind(kind)
    if kind not in _MODELS:
        _import_all()  # to name every known kind
        raise ConfigError(f"unknown model kind {kind!r}; known kinds: {', '.join(sorted(_MODELS)) or '(none)'}")
    return _MODELS[kind]


def get_data(kind: str) -> DataEntry:
    """The data entry for ``kind``; :class:`ConfigError` if that kind has no data builder."""
    if kind not in _DATA:
        _import_kind(kind)
    if kind not in _DATA:
        _import_all()
        raise ConfigError(f"model kind {kind!r} has no training data builder; known: {', '.join(sorted(_DATA))}")
    return _DATA[kind]


def kind_of(model: Any) -> str:
    """The registered kind of ``model``'s class; ``ValueError`` if it is not registered."""
    for attempt in range(2):
        for kind, entry in _MODELS.items():
            if entry.model_cls is type(model):
                return kind
        if attempt == 0:
            _import_all()  # a family whose model module is loaded but not its registering module
    raise ValueError(f"{type(model).__name__} is not registered; pass kind= (its registry kind) to the Trainer")


def model_kinds() -> list[str]:
    _import_all()
    return sorted(_MODELS)
