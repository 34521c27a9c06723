"""The source-filter mode one sample at a time (IncrementalWaveNet and the torch backend).

The per-stream past of the linear and long-term predictors (:class:`SourceFilterState`), the
network input of a step (:func:`step_input`) and the sample formed from a drawn excitation
(:func:`next_sample`): the definitions of :mod:`wavekit.wavenet.source_filter` applied to a
stream's own past output. :mod:`wavekit.generate.source_filter_steps` holds their numba twins.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor

from wavekit.wavenet.source_filter import interpolated_embedding


class SourceFilterState:
    """Per-stream past of the predictors: ``hist`` (B, order) s'_{t-1-k} newest first, ``last`` (B,)
    s_{t-1}, ``pred`` (B,) p_t (+ l_t) of the current step; with a long-term predictor (``taps``
    (2D + 1,), ``ring`` samples of the past) also ``ltp`` (B,) l_t, ``ring`` (B, N) the LPC
    excitation e_k at k mod N and ``pos`` (B,) the number of steps taken. Updated in place (CUDA graphs)."""

    def __init__(
        self, batch_size: int, order: int, dtype: torch.dtype, device: torch.device | None,
        taps: Tensor | None = None, ring: int = 0,
    ) -> None:
        self.hist = torch.zeros(batch_size, order, dtype=dtype, device=device)
        self.last = torch.zeros(batch_size, dtype=dtype, device=device)
        self.pred = torch.zeros(batch_size, dtype=dtype, device=device)
        self.taps = None if taps is None else taps.to(dtype=dtype, device=device)
        self.ltp = torch.zeros(batch_size, dtype=dtype, device=device)
        self.ring = torch.zeros(batch_size, ring if taps is not None else 0, dtype=dtype, device=device)
        self.pos = torch.zeros(batch_size, dtype=torch.long, device=device)
        # constants of every step: the stream rows, and each tap's offset from the newest (D - j)
        self.rows = torch.arange(batch_size, device=device)
        n = 0 if taps is None else taps.shape[0]
        self.tap_offsets = n // 2 - torch.arange(n, device=device)

    def _buffers(self) -> tuple[Tensor, ...]:
        return (self.hist, self.last, self.pred, self.ltp, self.ring, self.pos)

    def reset(self, mask: Tensor) -> None:
        """Streams where mask (B,) is True start again from an empty past."""
        for buf in self._buffers():
            buf[mask] = 0

    def move(self, src: int, dst: int) -> None:
        for buf in self._buffers():
            buf[dst] = buf[src]


def step_input(embed: Tensor, coef: float, x_prev: Tensor, lpc_t: Tensor, state: SourceFilterState) -> Tensor:
    """The network input (B, R) of step t from the previous sample s_{t-1} = x_prev (B,).

    Forms s'_{t-1} and the modelled excitation of t - 1, s'_{t-1} - p_{t-1} (- l_{t-1}), pushes
    s'_{t-1} into the history, predicts p_t with the row lpc_t (B, order [+ 2: lag and gain of
    the long-term predictor, :meth:`wavekit.wavenet.source_filter.SourceFilter.generation_rows`]) and keeps p_t (+ l_t) in ``state.pred``.
    """
    order = state.hist.shape[1]
    sp = x_prev - coef * state.last
    e_prev = sp - state.pred
    state.hist.copy_(torch.cat([sp.unsqueeze(1), state.hist[:, :-1]], dim=1))
    p = -(lpc_t[:, :order] * state.hist).sum(1)
    state.last.copy_(x_prev)
    if state.taps is not None and lpc_t.shape[1] > order:
        N, rows = state.ring.shape[1], state.rows
        started = state.pos > 0  # the LPC excitation e_{t-1} = s'_{t-1} - p_{t-1} joins the ring
        written = torch.where(started, e_prev + state.ltp, state.ring[rows, (state.pos - 1) % N])
        state.ring[rows, (state.pos - 1) % N] = written
        k = (state.pos - lpc_t[:, order].long())[:, None] + state.tap_offsets
        past = torch.where(k >= 0, state.ring.gather(1, k % N), torch.zeros((), dtype=sp.dtype, device=sp.device))
        state.ltp.copy_(lpc_t[:, order + 1] * (past * state.taps).sum(1))
        state.pos.add_(1)
        state.pred.copy_(p + state.ltp)
    else:
        state.pred.copy_(p)
    return cast(Tensor, sum(interpolated_embedding(embed[i], v) for i, v in enumerate((sp, p, e_prev))))


def next_sample(e: Tensor, coef: float, state: SourceFilterState) -> Tensor:
    """The waveform sample s_t = clip(p_t [+ l_t] + e_t + coef * s_{t-1}, -1, 1) for the drawn excitation e (B,)."""
    return (state.pred + e.to(state.pred.dtype) + coef * state.last).clamp(-1.0, 1.0)
