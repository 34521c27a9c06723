"""Fast generation: a continuously batched request engine over a compiled CPU step or a CUDA-graph step.

``GenerationEngine(model, slots=8, backend="auto", device=None)`` with
``submit(Request(...))`` and ``run()`` (yields ``(key, waveform)`` as streams
finish); ``WaveNet.generate`` runs through it. Backends
(:class:`~wavekit.generate.backend.SlotBackend`, each imported only when chosen):
numba (CPU, the default there), torch (the model's device; CUDA graphs on
CUDA). One sampling convention everywhere (:mod:`wavekit.generate.draw`).
``vocode_files`` for mel / audio inputs (checked once into a
:class:`~wavekit.generate.plan.VocodePlan`); ``run_bench`` for ``wavekit bench``.

``FusedWaveNet`` (the numba backend's folded weights) is imported on first
use, so ``import wavekit.generate`` does not load the compiled kernels.
"""

from __future__ import annotations

from typing import Any

from wavekit.generate.engine import GenerationEngine, Request

__all__ = ["FusedWaveNet", "GenerationEngine", "Request"]


def __getattr__(name: str) -> Any:
    if name == "FusedWaveNet":
        from wavekit.generate.fused import FusedWaveNet

        return FusedWaveNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
