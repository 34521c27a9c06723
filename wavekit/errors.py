"""Errors a user can cause.

Every class here derives from :class:`WavekitError`. The CLI catches
``WavekitError``, prints its message (which names the file or setting at
fault and says what to do) and exits non-zero without a traceback.
Programming errors inside wavekit are *not* WavekitErrors and keep their
tracebacks.
"""

from __future__ import annotations


class WavekitError(Exception):
    """Base class for errors caused by user input (files, configs, shapes)."""


class AudioError(WavekitError):
    """An audio file is missing, unreadable, empty, or otherwise unusable."""


class FeatureError(WavekitError):
    """Features (e.g. a mel spectrogram) have the wrong shape, values or settings."""


class DataError(WavekitError):
    """A data set, manifest or shard folder is missing or malformed."""


class ConfigError(WavekitError):
    """A configuration file or ``--set`` override is invalid (unknown key, wrong type)."""


class CheckpointError(WavekitError):
    """A checkpoint is missing, corrupt, or does not fit the requested use."""


class TextError(WavekitError):
    """Input text cannot be turned into symbols (empty, or no known symbols)."""
