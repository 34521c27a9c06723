"""Incremental WaveNet generation (fast WaveNet, Paine et al. 2016).

:class:`IncrementalWaveNet` holds a folded, eval-mode copy of a model (weight
norm removed, every weight pre-arranged for one matrix product) and runs it
one sample at a time:

1. ``cond = inc.precompute(c, g, length)`` — the conditioning input of every
   layer (upsampled mel and speaker projections, plus the dilated convs'
   biases) for the whole utterance in one batched pass: (T', B, layers, G)
   time-major, T' = length with mel, 1 without (then it is constant in time).
   For long utterances, ``cond_in = inc.conditioning_input(c, g, length)``
   once and ``inc.project(cond_in, start, stop)`` per window bound the memory.
2. ``state = inc.init_state(batch_size)`` — one :class:`ConvQueue` per layer
   and the shared step counter.
3. ``params = inc.step(x_prev, cond_t, state)`` per sample, with x_prev (B,)
   the previous value (``inc.silence(B)`` at the start) and
   ``cond_t = cond[t]`` (B, layers, G). Each step does per layer one product
   for the dilated conv (taps of its queue) and one for the residual + skip
   1x1s, then the output head: O(layers) work, no recomputation.
4. ``inc.reset_slots(state, mask)`` restarts chosen streams (batch slots).

The step advances ``state.t`` in place; all streams share it, and every
step is a fixed sequence of tensor ops on the device (no Python-side
position), so it can be captured as a CUDA graph. Sampling is not part of
the step: :mod:`wavekit.generate` draws each value from the parameters with
the stream's own uniforms (:func:`wavekit.generate.draw.draw`), and
``WaveNet.generate`` runs through its engine (numba kernel on CPU, this step
on CUDA), so the same seed gives the same audio everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.audio.mulaw import mulaw_decode
from wavekit.core.conv import folded_copy
from wavekit.core.gated import RESIDUAL_SCALE, gated_activation
from wavekit.core.incremental import ConvQueue, flatten_conv_weight
from wavekit.wavenet import source_filter as sfm


def _out_weight(block: nn.Module) -> Tensor:
    """(R + S, G/2) residual and skip 1x1 weights stacked, or (S, G/2) without a residual output."""
    parts = [block.res.weight[:, :, 0]] if block.res is not None else []
    return torch.cat(parts + [block.skip.weight[:, :, 0]])


@dataclass
class IncrementalState:
    """Queues of past layer inputs (one per layer) and the step counter t (0-dim long tensor)."""

    queues: list[ConvQueue]
    t: Tensor
    sf: sfm.SourceFilterState | None = None  # the linear predictor's past (source-filter mode)


class IncrementalWaveNet:
    """A folded copy of a :class:`~wavekit.wavenet.model.WaveNet` that generates sample by sample.

    Built from the model as it is (dtype; device unless ``device`` is given);
    the model itself is not changed. Build a new one after training the model.

    Folded weights (public, read by fused engines), L layers, k taps:
    ``in_table`` (Q, R) mu-law input embedding, or ``in_w``/``in_b`` (R,) for a
    float input; ``conv_w[i]`` (k*R, G) dilated conv, rows oldest tap first
    (:func:`~wavekit.core.incremental.flatten_conv_weight`); ``conv_b`` (L, G);
    ``cond_w`` (L*G, cin [+ 2H] + gin) or None; ``rs_w[i]`` (G/2, R+S) residual then
    skip 1x1 — (G/2, S) skip only for the last layer — and ``rs_b[i]``;
    head ``h1_w`` (S, S) with the skip scale folded in, ``h1_b``, ``h2_w`` (S, P), ``h2_b``.
    """

    def __init__(self, model: nn.Module, device: torch.device | str | None = None) -> None:
        m = folded_copy(model)
        if device is not None:
            m = m.to(device)
        m.eval().requires_grad_(False)
        self.model = m
        cfg = self.config = m.config
        self.distribution = m.distribution
        self.layers, self.gate = cfg.layers, cfg.gate_channels
        self.R, self.S = cfg.residual_channels, cfg.skip_channels
        blocks = m.blocks
        # dilated conv: (k * R, G) so that taps @ w gives the conv output
        self.conv_w = [flatten_conv_weight(b.conv.weight).t().contiguous() for b in blocks]
        self.conv_b = torch.stack([b.conv.bias for b in blocks])  # (L, G)
        # residual and skip 1x1 fused: (G/2, R + S); the last layer has only the skip (G/2, S)
        self.rs_w = [_out_weight(b).t().contiguous() for b in blocks]
        self.rs_b = [torch.cat([b.res.bias, b.skip.bias]) if b.res is not None else b.skip.bias for b in blocks]
        # every layer's conditioning projection in one matrix: (L * G, cin [+ 2H sine source] + gin)
        self.cond_w = torch.cat([b.cond.weight[:, :, 0] for b in blocks]) if blocks[0].cond is not None else None
        # head; the skip scale folds into the first 1x1 (ReLU is positively homogeneous)
        self.h1_w = (m.head[1].weight[:, :, 0] * m.skip_scale).t().contiguous()
        self.h1_b = m.head[1].bias
        self.h2_w = m.head[3].weight[:, :, 0].t().contiguous()
        self.h2_b = m.head[3].bias
        # source-filter mode: x_prev is the previous waveform sample, the input is built by
        # wavekit.wavenet.source_filter.step_input from it and the per-sample predictor lpc_t
        self.sf_embed = m.source_filter.embed if m.source_filter is not None else None
        self.sf_coef = float(cfg.lpc.preemphasis)
        if self.sf_embed is not None:
            self.in_table, self.in_w, self.in_b = None, None, None
        elif cfg.output == "mulaw":
            self.in_table, self.in_w, self.in_b = m.input_embed.weight, None, None
        else:
            self.in_table, self.in_w, self.in_b = None, m.input_conv.weight[:, 0, 0], m.input_conv.bias

    @property
    def dtype(self) -> torch.dtype:
        return self.h2_b.dtype

    @property
    def device(self) -> torch.device:
        return self.h2_b.device

    def silence(self, batch_size: int) -> Tensor:
        """(B,) the "previous sample" before the start."""
        return self.model.silence(batch_size, self.device)

    @torch.no_grad()
    def conditioning_input(self, c: Tensor | None = None, g: Tensor | None = None, length: int = 1) -> Tensor | None:
        """Upsampled mel [, sine source] and speaker embedding: (B, cin [+ 2H] + gin, length), (B, gin, 1), or None."""
        return self.model.conditioning(c, g, length)

    @torch.no_grad()
    def project(self, cond_in: Tensor | None, start: int = 0, stop: int | None = None) -> Tensor:
        """Every layer's conditioning incl. conv biases for samples [start, stop): (stop - start, B, L, G).

        One batched product for all layers. Constant conditioning (speaker only,
        or none: cond_in None) gives (1, B, L, G) / (1, 1, L, G) whatever the range.
        """
        L, G = self.layers, self.gate
        if cond_in is None:
            return self.conv_b.reshape(1, 1, L, G).clone()
        window = cond_in if cond_in.shape[2] == 1 else cond_in[:, :, start:stop]
        proj = torch.einsum("oc,bct->tbo", self.cond_w, window)
        return proj.reshape(proj.shape[0], proj.shape[1], L, G).add_(self.conv_b)

    def precompute(self, c: Tensor | None = None, g: Tensor | None = None, length: int = 1) -> Tensor:
        """Conditioning of every layer for the whole utterance: (length, B, L, G) with mel, else (1, B|1, L, G).

        Memory: length * B * layers * gate_channels values with mel (about
        200 MB per second of 16 kHz audio and stream at the default size);
        :meth:`project` over windows bounds it.
        """
        return self.project(self.conditioning_input(c, g, length), 0, length)

    @torch.no_grad()
    def lpc_rows(self, c: Tensor | None, length: int) -> Tensor | None:
        """Source-filter mode: the predictor of every sample (length, B, order) from the mel c; else None."""
        if self.sf_embed is None:
            return None
        a = self.model.source_filter.coefficients(c.to(self.dtype))
        return self.model.source_filter.per_sample(a, length).transpose(0, 1).to(self.dtype)

    def init_state(self, batch_size: int) -> IncrementalState:
        k = self.config.kernel_size
        queues = [
            ConvQueue(batch_size, self.R, k, d, dtype=self.dtype, device=self.device) for d in self.config.dilations
        ]
        sf = None
        if self.sf_embed is not None:
            sf = sfm.SourceFilterState(batch_size, self.config.lpc.order, self.dtype, self.device)
        return IncrementalState(queues, torch.zeros((), dtype=torch.long, device=self.device), sf)

    def reset_slots(self, state: IncrementalState, mask: Tensor) -> None:
        """Streams where mask (B,) is True start again from an empty past."""
        for q in state.queues:
            q.reset(mask)
        if state.sf is not None:
            state.sf.reset(mask)

    def next_sample(self, values: Tensor, state: IncrementalState) -> Tensor:
        """Source-filter mode: drawn excitation classes (B,) -> waveform samples s_t (B,), the next x_prev."""
        e = mulaw_decode(values, self.config.quantization_channels, dtype=self.dtype)
        return sfm.next_sample(e, self.sf_coef, state.sf)

    @torch.no_grad()
    def step(self, x_prev: Tensor, cond_t: Tensor, state: IncrementalState, lpc_t: Tensor | None = None) -> Tensor:
        """x_prev (B,) previous values, cond_t (B, L, G) -> params (B, P) for the next sample; t += 1.

        Source-filter mode: x_prev is the previous waveform sample and lpc_t (B, order) the
        predictor of this sample (:meth:`lpc_rows`); the params are those of the excitation.
        """
        t, R = state.t, self.R
        if self.sf_embed is not None:
            h = sfm.step_input(self.sf_embed, self.sf_coef, x_prev, lpc_t, state.sf)
        elif self.in_table is not None:
            h = self.in_table.index_select(0, x_prev)
        else:
            h = torch.addcmul(self.in_b, x_prev.unsqueeze(1), self.in_w)
        skip = None
        last = len(state.queues) - 1
        for i, q in enumerate(state.queues):
            z = torch.addmm(cond_t[:, i], q.taps(h, t), self.conv_w[i])
            q.push(h, t)
            rs = torch.addmm(self.rs_b[i], gated_activation(z), self.rs_w[i])
            if i < last:
                h = (h + rs[:, :R]) * RESIDUAL_SCALE
                rs = rs[:, R:]
            skip = rs if skip is None else skip + rs
        hidden = F.relu(torch.addmm(self.h1_b, F.relu(skip), self.h1_w))
        state.t += 1
        return torch.addmm(self.h2_b, hidden, self.h2_w)


def generate(model: nn.Module, *args, **kwargs) -> Tensor:
    """Sample (B, T) waveforms from the WaveNet ``model``: ``model.generate(*args, **kwargs)``.

    :meth:`WaveNet.generate` is the one place in ``wavekit.wavenet`` that reaches the
    generation engine (a lazy import), so this package never imports ``wavekit.generate``.
    """
    return model.generate(*args, **kwargs)
