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
    """Rebuild any saved wavekit model from its self-describing checkpoint, or an embedded one.

    ``path`` is a checkpoint file, or the name of a model shipped inside the
    package: ``wavekit.load("pretrained:vocoder")`` (the source-filter WaveNet
    vocoder) or ``wavekit.load("pretrained:en")`` (the English Tacotron 2);
    see :mod:`wavekit.pretrained`.

    Returns the model in eval mode, with the checkpoint's extra entries as
    ``model.checkpoint_extra`` and its step as ``model.checkpoint_step``.
    Raises :class:`wavekit.errors.CheckpointError` when the file is missing,
    corrupt, or of an unknown kind (for an embedded model that is not
    installed, a one-line message saying so). :func:`wavekit.checkpoint.load` returns
    the same model with its settings as a typed result instead.
    """
    from wavekit.checkpoint import load as load_checkpoint
    from wavekit.checkpoint import with_legacy_attributes

    return with_legacy_attributes(load_checkpoint(path, map_location=map_location))
