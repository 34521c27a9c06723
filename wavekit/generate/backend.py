"""The slot backend contract of :class:`~wavekit.generate.engine.GenerationEngine`, and the one factory.

A backend holds the state of ``slots`` batch slots and advances them
together; the engine decides which stream sits in which slot and when. Two
backends implement :class:`SlotBackend`:

- :class:`wavekit.generate.fused.NumbaSlots` (``"numba"``, CPU): numpy state
  advanced by the compiled kernel, many samples per call;
- :class:`wavekit.generate.torch_step.TorchSlots` (``"torch"``): static
  buffers on the model's device, one step captured as a CUDA graph on CUDA.

:func:`wavekit.generate.engine.make_backend` imports only the chosen one, so
a torch engine never loads numba's kernel module (and a numba engine never
builds CUDA state). This module is the contract only: the backends import it,
it imports neither.

Shapes: ``slots`` slots, ``chunk`` rows of conditioning / uniforms / samples
per slot; a stream's samples ``s*chunk .. (s+1)*chunk - 1`` of the shared grid
live in chunk rows ``0 .. chunk-1``. The engine keeps its active streams in
slots ``0..n-1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol, TypeVar, runtime_checkable

import numpy as np
import torch

from wavekit.wavenet.config import WaveNetConfig

StreamT = TypeVar("StreamT")

BACKENDS = ("auto", "numba", "torch")


class StreamInput(NamedTuple):
    """One utterance's conditioning as the torch backend holds it, on its device: ``cond`` the blocks'
    conditioning input (1, cin + gin, length), (1, gin, 1) or None and, in the source-filter mode,
    ``lpc`` every sample's predictor (length, 1, order) (else None)."""

    cond: Any
    lpc: Any = None


class GenerativeWaveNet(Protocol):
    """What generation reads of a model: a :class:`~wavekit.wavenet.model.WaveNet` (an ``nn.Module``).

    Named here so that the generation wing types its model without importing the model's module,
    whose :meth:`~wavekit.wavenet.model.WaveNet.generate` delegates to this wing.
    """

    config: WaveNetConfig

    def check_conditioning(self, c: torch.Tensor | None, g: torch.Tensor | None) -> None:
        """ValueError if c (B, cin, frames) or g (B,) do not fit the model; computes nothing."""
        ...

    def conditioning(
        self, c: torch.Tensor | None, g: torch.Tensor | None, length: int, source: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """The blocks' conditioning input (B, cin [+ 2H] + gin, length), (B, gin, 1) or None; checks c and g."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]:
        """The module's parameters (their device and dtype are the model's)."""
        ...


def as_module(model: GenerativeWaveNet) -> torch.nn.Module:
    """The model as the ``nn.Module`` it is, for the code that folds or moves its weights."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"generation needs a WaveNet module, got {type(model).__name__}")
    return model


@runtime_checkable
class SlotBackend(Protocol[StreamT]):
    """What the engine calls on a backend. ``StreamT`` is the backend's own per-utterance conditioning
    value: made by :meth:`conditioning_input`, opaque to the engine, handed back to :meth:`fill`.

    ``dtype``: the float type of the samples :meth:`collect` returns (float32, or float64).
    """

    dtype: np.dtype

    def conditioning_input(self, mel: Any, speaker: int | None, length: int) -> StreamT:
        """One utterance's conditioning for all its ``length`` samples, computed once at submission.

        mel: normalised log-mel (cin, frames), a numpy array or a tensor (the torch backend
        keeps a tensor on its device), or None; speaker: id or None. The mel is
        upsampled for the whole utterance in one pass; nothing is projected yet.
        """
        ...

    def admit(self, b: int, temperature: float) -> None:
        """Slot b starts a new stream: silence as its previous value, an empty past, this temperature."""
        ...

    def fill(self, b: int, lo: int, stream: StreamT, start: int, noise: np.ndarray) -> None:
        """Load chunk rows ``lo .. lo+n-1`` of slot b, n = len(noise): the per-layer conditioning projection
        of the stream's samples ``start .. start+n-1`` and its uniforms ``noise`` (n, 3) float64."""
        ...

    def move(self, src: int, dst: int) -> None:
        """Slot src's whole state (past, chunk rows, temperature) becomes slot dst's (src is left unused)."""
        ...

    def run(self, n: int, steps: int, pos: int, lo: int) -> None:
        """Advance slots ``0..n-1`` by ``steps`` samples from global step ``pos``, whose chunk row is
        ``lo = pos % chunk`` (``lo + steps <= chunk``); the samples go to chunk rows ``lo .. lo+steps-1``."""
        ...

    def collect(self, n: int, lo: int, hi: int) -> np.ndarray:
        """The samples of chunk rows ``lo .. hi-1`` of slots ``0..n-1`` on the host: (n, hi - lo) of ``dtype``.

        The only copy of samples to the host; valid until the next :meth:`run`."""
        ...


def resolve_backend(backend: str, device: torch.device) -> str:
    """``"numba"`` or ``"torch"`` for a backend name on ``device`` ("auto": numba on CPU, torch elsewhere)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = "numba" if device.type == "cpu" else "torch"
    if backend == "numba" and device.type != "cpu":
        raise ValueError(f"the numba backend runs on the CPU, not {device}; use backend='torch'")
    return backend
