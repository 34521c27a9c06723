"""Fast generation: a compiled fused WaveNet step and a continuously batched request engine.

``GenerationEngine(model, slots=8)`` with ``submit(Request(...))`` and ``run()``
(yields ``(key, waveform)`` as streams finish); ``vocode_files`` for mel / audio
inputs; ``run_bench`` for ``wavekit bench``.
"""

from wavekit.generate.engine import GenerationEngine, Request
from wavekit.generate.fused import FusedWaveNet

__all__ = ["FusedWaveNet", "GenerationEngine", "Request"]
