"""Input queues for running a stack of causal convolutions one step at a time.

Fast WaveNet generation (Paine et al. 2016): a causal conv with kernel k and
dilation d needs, at step t, its inputs at t - d, ..., t - (k-1) d besides the
current one. :class:`ConvQueue` keeps exactly the last ``(k-1) d`` inputs in a
ring buffer laid out (L, B, C), so each step reads k-1 rows and writes one:
no window of the receptive field is ever recomputed or copied.

The step position ``t`` is a 0-dim long tensor on the device, advanced in
place, and reads/writes use index tensors, so one step is a fixed sequence of
tensor ops with no Python-side position (what CUDA graph capture needs).
Positions are shared by the whole batch; :meth:`ConvQueue.reset` zeroes some
rows so those streams restart from an empty past (the zero padding of the
full causal conv) while the others continue.
"""

from __future__ import annotations

import torch
from torch import Tensor


def flatten_conv_weight(weight: Tensor) -> Tensor:
    """Conv1d weight (C_out, C_in, k) -> (C_out, k * C_in) matching :meth:`ConvQueue.taps`."""
    c_out, c_in, k = weight.shape
    return weight.permute(0, 2, 1).reshape(c_out, k * c_in)


class ConvQueue:
    """Ring buffer of the past inputs of one causal conv (kernel ``k``, dilation ``d``) for B streams.

    ``taps(x, t)`` returns (B, k * C): inputs at t - (k-1) d, ..., t - d, t in
    that order (the order of :func:`flatten_conv_weight`), so one step of the
    conv is ``addmm(bias, taps, W_flat.T)``. Then ``push(x, t)`` stores x.
    """

    def __init__(
        self,
        batch_size: int,
        channels: int,
        kernel_size: int,
        dilation: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.size = (kernel_size - 1) * dilation
        self.buffer = torch.zeros(max(self.size, 1), batch_size, channels, dtype=dtype, device=device)
        # lags of the past taps, oldest first: (k-1) d, ..., d
        self.lags = torch.arange(kernel_size - 1, 0, -1, device=device) * dilation

    def taps(self, x: Tensor, t: Tensor) -> Tensor:
        """x (B, C) the current input, t 0-dim long step -> (B, k * C)."""
        if self.size == 0:
            return x
        past = self.buffer.index_select(0, (t - self.lags).remainder(self.size))  # (k-1, B, C)
        return torch.cat([past.transpose(0, 1).reshape(x.shape[0], -1), x], dim=1)

    def push(self, x: Tensor, t: Tensor) -> None:
        """Store x (B, C) as the input at step t."""
        if self.size:
            self.buffer.index_copy_(0, t.remainder(self.size).view(1), x.unsqueeze(0))

    def reset(self, mask: Tensor) -> None:
        """Zero the past of the streams where mask (B,) bool is True."""
        self.buffer.masked_fill_(mask.view(1, -1, 1), 0.0)
