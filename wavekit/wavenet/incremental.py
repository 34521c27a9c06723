"""Incremental WaveNet generation (fast WaveNet, Paine et al. 2016).

:class:`IncrementalWaveNet` runs the folded weights of a model
(:class:`~wavekit.wavenet.folded.FoldedWaveNet`: weight norm removed, every
weight stored once, ``(in, out)``) one sample at a time, the readable
reference step that the compiled kernel is tested against:

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
   for the dilated conv (taps of its queue), one for the residual and one for
   the skip 1x1, then the output head: O(layers) work, no recomputation.
4. ``inc.reset_slots(state, mask)`` restarts chosen streams (batch slots): how the torch
   backend of the engine admits a new stream into a slot.

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
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.audio.mulaw import mulaw_decode
from wavekit.core.gated import RESIDUAL_SCALE, gated_activation
from wavekit.core.incremental import ConvQueue
from wavekit.wavenet import source_filter_incremental as sfi
from wavekit.wavenet.folded import FoldedWaveNet, fold
from wavekit.wavenet.source_filter import long_term_taps


@dataclass
class IncrementalState:
    """Queues of past layer inputs (one per layer) and the step counter t (0-dim long tensor)."""

    queues: list[ConvQueue]
    t: Tensor
    sf: sfi.SourceFilterState | None = None  # the linear predictor's past (source-filter mode)


class IncrementalWaveNet:
    """A :class:`~wavekit.wavenet.model.WaveNet`'s folded weights, run sample by sample.

    Built from the model as it is (dtype; device unless ``device`` is given) through
    :func:`~wavekit.wavenet.folded.fold`; the model itself is not changed. Build a new one
    after training the model. ``weights`` is the :class:`~wavekit.wavenet.folded.FoldedWaveNet`
    the step reads, by name; ``model`` its folded eval copy.
    """

    def __init__(self, model: nn.Module, device: torch.device | str | None = None) -> None:
        w = self.weights = fold(model, device)
        self.model: Any = w.model
        cfg = self.config = w.config
        self.distribution = w.model.distribution
        self.layers, self.gate = cfg.layers, cfg.gate_channels
        self.R, self.S = cfg.residual_channels, cfg.skip_channels

    @property
    def dtype(self) -> torch.dtype:
        return self.weights.dtype

    @property
    def device(self) -> torch.device:
        return self.weights.device

    def silence(self, batch_size: int) -> Tensor:
        """(B,) the "previous sample" before the start."""
        return self.weights.silence(batch_size)

    def conditioning_input(self, c: Tensor | None = None, g: Tensor | None = None, length: int = 1) -> Tensor | None:
        """Upsampled mel [, sine source] and speaker embedding: (B, cin [+ 2H] + gin, length), (B, gin, 1), or None."""
        return self.weights.conditioning_input(c, g, length)

    @torch.no_grad()
    def project(self, cond_in: Tensor | None, start: int = 0, stop: int | None = None) -> Tensor:
        """Every layer's conditioning incl. conv biases for samples [start, stop): (stop - start, B, L, G).

        One batched product for all layers. Constant conditioning (speaker only,
        or none: cond_in None) gives (1, B, L, G) / (1, 1, L, G) whatever the range.
        """
        L, G = self.layers, self.gate
        w = self.weights
        if cond_in is None or w.cond_w is None:
            return w.conv_b.reshape(1, 1, L, G).clone()
        window = cond_in if cond_in.shape[2] == 1 else cond_in[:, :, start:stop]
        proj = torch.einsum("co,bct->tbo", w.cond_w, window)
        return proj.reshape(proj.shape[0], proj.shape[1], L, G).add_(w.conv_b)

    def precompute(self, c: Tensor | None = None, g: Tensor | None = None, length: int = 1) -> Tensor:
        """Conditioning of every layer for the whole utterance: (length, B, L, G) with mel, else (1, B|1, L, G).

        Memory: length * B * layers * gate_channels values with mel (about
        200 MB per second of 16 kHz audio and stream at the default size);
        :meth:`project` over windows bounds it.
        """
        return self.project(self.conditioning_input(c, g, length), 0, length)

    def lpc_rows(self, c: Tensor | None, length: int) -> Tensor | None:
        """Source-filter mode: the predictor row of every sample (length, B, ``config.lpc_row_width``) from the mel c; else None."""
        return self.weights.lpc_rows(c, length)

    def init_state(self, batch_size: int) -> IncrementalState:
        k = self.config.kernel_size
        queues = [
            ConvQueue(batch_size, self.R, k, d, dtype=self.dtype, device=self.device) for d in self.config.dilations
        ]
        sf = None
        if self.weights.sf_embed is not None:
            cfg = self.config
            taps = torch.as_tensor(long_term_taps(cfg.lpc_mel.sample_rate)) if cfg.long_term else None
            sf = sfi.SourceFilterState(batch_size, cfg.lpc.order, self.dtype, self.device, taps, cfg.long_term_ring)
        return IncrementalState(queues, torch.zeros((), dtype=torch.long, device=self.device), sf)

    def reset_slots(self, state: IncrementalState, mask: Tensor) -> None:
        """Streams where mask (B,) is True start again from an empty past."""
        for q in state.queues:
            q.reset(mask)
        if state.sf is not None:
            state.sf.reset(mask)

    def next_sample(self, values: Tensor, state: IncrementalState) -> Tensor:
        """Source-filter mode: drawn excitation classes (B,) -> waveform samples s_t (B,), the next x_prev."""
        if state.sf is None:
            raise ValueError("next_sample is the source-filter mode's step; this WaveNet has no source filter")
        e = mulaw_decode(values, self.config.quantization_channels, dtype=self.dtype)
        return sfi.next_sample(e, self.weights.sf_coef, state.sf)

    @torch.no_grad()
    def step(self, x_prev: Tensor, cond_t: Tensor, state: IncrementalState, lpc_t: Tensor | None = None) -> Tensor:
        """x_prev (B,) previous values, cond_t (B, L, G) -> params (B, P) for the next sample; t += 1.

        Source-filter mode: x_prev is the previous waveform sample and lpc_t (B, order [+ 2]) the
        predictor row of this sample (:meth:`lpc_rows`); the params are those of the excitation.
        """
        w: FoldedWaveNet = self.weights
        t = state.t
        if w.sf_embed is not None and state.sf is not None and lpc_t is not None:
            h = sfi.step_input(w.sf_embed, w.sf_coef, x_prev, lpc_t, state.sf)
        elif w.in_table is not None:
            h = w.in_table.index_select(0, x_prev)
        elif w.in_w is not None and w.in_b is not None:
            h = torch.addcmul(w.in_b, x_prev.unsqueeze(1), w.in_w)
        else:
            raise ValueError("the source-filter mode's step needs lpc_t (lpc_rows) and a state from init_state")
        n_taps, n_res, n_gate = w.conv_w.shape[1:]
        skip: Tensor | None = None
        last = len(state.queues) - 1
        for i, q in enumerate(state.queues):
            z = torch.addmm(cond_t[:, i], q.taps(h, t), w.conv_w[i].reshape(n_taps * n_res, n_gate))
            q.push(h, t)
            a = gated_activation(z)
            s = torch.addmm(w.skip_b[i], a, w.skip_w[i])
            skip = s if skip is None else skip + s
            if i < last:
                h = (h + torch.addmm(w.res_b[i], a, w.res_w[i])) * RESIDUAL_SCALE
        assert skip is not None  # a WaveNet has at least one layer
        hidden = F.relu(torch.addmm(w.head1_b, F.relu(skip), w.head1_w))
        state.t += 1
        return torch.addmm(w.head2_b, hidden, w.head2_w)


def generate(model: Any, *args: Any, **kwargs: Any) -> Tensor:
    """Sample (B, T) waveforms from the :class:`~wavekit.wavenet.model.WaveNet` ``model``: ``model.generate(*args, **kwargs)``.

    :meth:`WaveNet.generate` is the one place in ``wavekit.wavenet`` that reaches the
    generation engine (a lazy import), so this package never imports ``wavekit.generate``.
    """
    return model.generate(*args, **kwargs)
