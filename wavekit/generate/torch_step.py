"""The engine's torch backend: slot state in static device buffers, one step, optionally a CUDA graph.

:class:`TorchSlots` keeps everything the per-sample step reads and writes in
buffers allocated once for all ``slots`` streams on the model's device:

- the per-layer input queues and the shared step counter ``t``
  (:meth:`IncrementalWaveNet.init_state`), the previous value of every slot;
- ``cond`` (slots, chunk, L, G): every layer's conditioning projection (plus
  conv bias) for the current chunk of samples, projected on the device;
- ``noise`` (slots, chunk, 3) float64: the streams' uniforms for the chunk;
- ``temperature`` (slots,), ``wave`` (slots, chunk) the generated samples;
- source-filter mode: ``lpc`` (slots, chunk, order) every chunk row's predictor, and
  the predictor's past in ``state.sf``; ``prev`` then holds waveform samples.

One step (:meth:`_step`) reads chunk row ``t % chunk`` with index tensors,
runs :meth:`IncrementalWaveNet.step` (the fixed handful of matrix products),
draws every slot's value with :func:`wavekit.generate.draw.draw` and writes
it back: a fixed sequence of kernels with no host synchronisation. On CUDA
it is captured once as a ``torch.cuda.CUDAGraph`` (after warm-up steps on a
side stream, as PyTorch requires) and replayed per sample; otherwise (CPU,
or ``graphs=False``) the same function runs eagerly. All slots are stepped
every time (static shapes); a slot without a stream computes values nobody
reads, and rows never mix, so a stream's samples do not depend on its
neighbours. The methods are those of :class:`wavekit.generate.backend.SlotBackend`.

Device residency: a mel handed over as a tensor stays on the device (it is
upsampled, projected and, in the source-filter mode, turned into predictors
there); a numpy mel is copied to the device once per utterance. The uniforms
of a chunk go to the device at :meth:`fill`; the only copy back to the host
is the samples, at :meth:`collect`. This module does not import numba's kernel
module (:mod:`wavekit.generate.fused`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from wavekit.audio.mulaw import mulaw_decode
from wavekit.generate.backend import GenerativeWaveNet, StreamInput, as_module
from wavekit.generate.draw import KINDS, OUT_MULAW, draw
from wavekit.wavenet.incremental import IncrementalWaveNet

WARMUP_STEPS = 3


class TorchSlots:
    """Slots of a :class:`~wavekit.generate.engine.GenerationEngine` on a torch device (see module docstring)."""

    def __init__(self, model: GenerativeWaveNet, slots: int, chunk: int, device: torch.device, graphs: bool) -> None:
        if graphs and device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, got {device}")
        inc = self.inc = IncrementalWaveNet(as_module(model), device=device)
        cfg = self.config = model.config
        self.chunk, self.device, self.slots = chunk, device, slots
        tdt = inc.dtype
        self.dtype = np.dtype(np.float64 if tdt == torch.float64 else np.float32)
        self.kind = KINDS[cfg.output]
        self.n_classes = cfg.quantization_channels if cfg.output == "mulaw" else cfg.bins
        self.mixtures = cfg.mixtures if cfg.output == "mol" else 0
        self.log_scale_min = float(cfg.log_scale_min)
        L, G = cfg.layers, cfg.gate_channels
        self.state = inc.init_state(slots)
        self.silence = inc.silence(1)
        self.prev = inc.silence(slots)
        self.cond = torch.zeros(slots, chunk, L, G, dtype=tdt, device=device)
        self.noise = torch.full((slots, chunk, 3), 0.5, dtype=torch.float64, device=device)
        self.temperature = torch.ones(slots, dtype=torch.float64, device=device)
        self.wave = torch.zeros(slots, chunk, dtype=tdt, device=device)
        self.sf = cfg.source_filter
        self.lpc: Tensor | None = None
        if self.sf:
            self.lpc = torch.zeros(slots, chunk, cfg.lpc_row_width, dtype=tdt, device=device)
        q = cfg.quantization_channels
        # the numba backend's table, so both backends write the same values
        self.decode = torch.from_numpy(mulaw_decode(np.arange(q), q, dtype=self.dtype)).to(device)
        self.graph: torch.cuda.CUDAGraph | None = None
        if graphs:
            self._capture()

    # ---- the step -------------------------------------------------------------------------------

    @torch.no_grad()
    def _step(self) -> None:
        """Advance every slot by one sample (chunk row t % chunk); t += 1. No host synchronisation."""
        row = self.state.t.remainder(self.chunk).view(1)
        cond_t = self.cond.index_select(1, row)[:, 0]  # (slots, L, G)
        u = self.noise.index_select(1, row)[:, 0]  # (slots, 3)
        lpc_t = self.lpc.index_select(1, row)[:, 0] if self.lpc is not None else None
        params = self.inc.step(self.prev, cond_t, self.state, lpc_t)
        v = draw(
            params, self.temperature, u, kind=self.kind, n_classes=self.n_classes, mixtures=self.mixtures,
            log_scale_min=self.log_scale_min,
        )
        if self.sf:  # excitation classes -> waveform samples
            value = self.inc.next_sample(v, self.state)
            self.prev.copy_(value)
        elif self.kind == OUT_MULAW:  # classes
            self.prev.copy_(v)
            value = self.decode.index_select(0, v)
        else:
            value = v.to(self.wave.dtype)
            self.prev.copy_(value)
        self.wave.index_copy_(1, row, value.unsqueeze(1))

    def _capture(self) -> None:
        """Record one step as a CUDA graph: warm up on a side stream, capture, then clear the state."""
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self._step()
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step()
        self.graph = graph
        self._clear()

    def _clear(self) -> None:
        self.inc.reset_slots(self.state, torch.ones(self.slots, dtype=torch.bool, device=self.device))
        self.state.t.zero_()
        self.prev.copy_(self.silence.expand_as(self.prev))
        self.wave.zero_()

    # ---- slot management (the engine's calls) ---------------------------------------------------

    @torch.no_grad()
    def conditioning_input(self, mel: np.ndarray | Tensor | None, speaker: int | None, length: int) -> StreamInput:
        """One utterance's conditioning input on the device: (1, cin + gin, length), (1, gin, 1) or None,
        and in the source-filter mode every sample's predictor (length, 1, order).

        mel (cin, frames): a tensor is used where it lies when that is this device (no copy), a numpy
        array is copied over once.
        """
        c: Tensor | None = None
        if isinstance(mel, Tensor):
            c = mel.unsqueeze(0).to(self.device)
        elif mel is not None:
            c = torch.as_tensor(np.asarray(mel)).unsqueeze(0).to(self.device)
        g = None if speaker is None else torch.tensor([int(speaker)], dtype=torch.long, device=self.device)
        return StreamInput(self.inc.conditioning_input(c, g, length), self.inc.lpc_rows(c, length))

    def admit(self, b: int, temperature: float) -> None:
        """Slot b starts a new stream from silence with an empty past."""
        self.inc.reset_slots(self.state, torch.arange(self.slots, device=self.device) == b)
        self.prev[b] = self.silence[0]
        self.temperature[b] = temperature

    def fill(self, b: int, lo: int, stream: StreamInput, start: int, noise: np.ndarray) -> None:
        """Chunk rows lo.. of slot b: conditioning of samples start.., projected on the device, and noise (n, 3)."""
        n = len(noise)
        if stream.lpc is not None and self.lpc is not None:
            self.lpc[b, lo : lo + n] = stream.lpc[start : start + n, 0]
        proj = self.inc.project(stream.cond, start, start + n)  # (n, 1, L, G) or (1, 1, L, G)
        self.cond[b, lo : lo + n] = proj[:, 0]
        self.noise[b, lo : lo + n] = torch.from_numpy(noise).to(self.device)

    def move(self, src: int, dst: int) -> None:
        """Slot src's state becomes slot dst's."""
        for q in self.state.queues:
            q.buffer[:, dst] = q.buffer[:, src]
        for buf in (self.prev, self.cond, self.noise, self.temperature, self.wave):
            buf[dst] = buf[src]
        if self.lpc is not None and self.state.sf is not None:
            self.lpc[dst] = self.lpc[src]
            self.state.sf.move(src, dst)

    @torch.no_grad()
    def run(self, n: int, steps: int, pos: int, lo: int) -> None:
        """Advance all slots (the first n hold streams) by ``steps`` samples from global step ``pos``."""
        if pos % self.chunk != lo:
            raise ValueError(f"chunk row {lo} does not match step {pos} (chunk {self.chunk})")
        self.state.t.fill_(pos)
        for _ in range(steps):
            if self.graph is not None:
                self.graph.replay()
            else:
                self._step()

    def collect(self, n: int, lo: int, hi: int) -> np.ndarray:
        """The samples of chunk rows lo..hi-1 of slots 0..n-1, copied to the host: (n, hi - lo)."""
        return self.wave[:n, lo:hi].cpu().numpy()
