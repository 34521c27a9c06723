"""wavekit: autoregressive generative models of audio and images.

Subpackages: ``wavekit.audio`` (I/O, mu-law, mel features, preprocessing),
``wavekit.core`` (causal convolutions, gated blocks, output distributions),
``wavekit.wavenet``, ``wavekit.generate``, ``wavekit.image``, ``wavekit.tts``,
``wavekit.train``, ``wavekit.eval``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load(path: Any, map_location: Any = "cpu") -> Any:
    """Rebuild any saved wavekit model from its self-describing checkpoint.

    Returns the model in eval mode. Raises :class:`wavekit.errors.CheckpointError`
    when the file is missing, corrupt, or of an unknown kind.
    """
    from wavekit.train.checkpoint import load_model

    return load_model(path, map_location=map_location)
