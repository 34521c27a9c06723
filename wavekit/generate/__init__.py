"""Fast generation: a continuously batched request engine over a compiled CPU step or a CUDA-graph step.

``GenerationEngine(model, slots=8, backend="auto", device=None)`` with
``submit(Request(...))`` and ``run()`` (yields ``(key, waveform)`` as streams
finish); ``WaveNet.generate`` runs through it. Backends: numba (CPU, the
default there), torch (the model's device; CUDA graphs on CUDA). One sampling
convention everywhere (:mod:`wavekit.generate.draw`). ``vocode_files`` for mel /
audio inputs; ``run_bench`` for ``wavekit bench``.
"""

from wavekit.generate.engine import GenerationEngine, Request
from wavekit.generate.fused import FusedWaveNet

__all__ = ["FusedWaveNet", "GenerationEngine", "Request"]
