"""Gated activation and the WaveNet residual block.

    h = W_conv * x  (+ V * cond)          dilated causal conv, conditioning added before the gate
    z = tanh(h_f) * sigmoid(h_g)          h split in two halves along channels
    x_out = (x + W_res z) * sqrt(1/2)     residual 1x1
    skip  = W_skip z                      skip 1x1

Speed (training runs every block over long crops, so the arithmetic is arranged for the
matrix products): the residual and skip 1x1 projections share one product of stacked
weights (the residual scale folded into it), and a caller may pass the conditioning
already projected (``projected=``, e.g. computed for every layer at once at the frame rate, see
:meth:`wavekit.wavenet.model.WaveNet.forward`) instead of the raw conditioning.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from wavekit.core.conv import CausalConv1d
from wavekit.core.dropout import Dropout

RESIDUAL_SCALE = math.sqrt(0.5)


def gated_activation(h: Tensor, dim: int = 1) -> Tensor:
    """``tanh(a) * sigmoid(b)`` for ``a, b = h.chunk(2, dim)``: halves the size of ``dim``."""
    a, b = h.chunk(2, dim=dim)
    return torch.tanh(a) * torch.sigmoid(b)


class ResidualBlock(nn.Module):
    """One gated residual layer: (B, R, T) -> ((B, R, T) residual out, (B, S, T) skip).

    ``gate_channels`` is the width of the dilated conv output; the gate halves
    it, so the 1x1 projections read ``gate_channels // 2`` channels.
    ``residual_output=False`` (the last layer of a stack whose residual path
    ends there) drops the residual 1x1 and returns x unchanged, so no
    parameter goes unused (DistributedDataParallel needs that).
    With ``cond_channels > 0`` the block owns a bias-free 1x1 projection of a
    conditioning input (B, cond_channels, T) — or (B, cond_channels, 1), which
    broadcasts over time — added to the conv output before the gate.
    """

    def __init__(
        self,
        *,
        residual_channels: int,
        gate_channels: int,
        skip_channels: int,
        kernel_size: int,
        dilation: int,
        cond_channels: int = 0,
        dropout: float = 0.0,
        residual_output: bool = True,
    ) -> None:
        super().__init__()
        if gate_channels % 2:
            raise ValueError(f"gate_channels must be even, got {gate_channels}")
        self.dropout = Dropout(dropout)  # the identity at rate 0 and in eval mode
        self.conv = CausalConv1d(residual_channels, gate_channels, kernel_size, dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, gate_channels, 1, bias=False) if cond_channels > 0 else None
        self.res = nn.Conv1d(gate_channels // 2, residual_channels, 1) if residual_output else None
        self.skip = nn.Conv1d(gate_channels // 2, skip_channels, 1)

    def forward(
        self, x: Tensor, cond: Tensor | None = None, *, projected: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """x (B, R, T); cond (B, cond_channels, T or 1), or ``projected`` = this block's ``self.cond(cond)``
        (B, gate_channels, T or 1) computed by the caller -> (residual out (B, R, T), skip (B, S, T))."""
        h = self.conv(self.dropout(x))
        if self.cond is not None:
            if projected is None:
                if cond is None:
                    raise ValueError("this block was built with cond_channels > 0 and needs a conditioning input")
                projected = self.cond(cond)
            h = h + projected
        z = gated_activation(h)
        if self.res is None:
            return x, self.skip(z)
        # residual and skip 1x1s as one product of stacked weights (B, R + S, T), the residual
        # scale folded into the residual rows: (x + r) * c == c * r + c * x, one pass over x
        c = RESIDUAL_SCALE
        w = torch.cat([self.res.weight * c, self.skip.weight])[:, :, 0]
        b = torch.cat([self.res.bias * c, self.skip.bias]).unsqueeze(1)  # type: ignore[operator, list-item]  # both have bias
        rs = torch.baddbmm(b, w.expand(z.shape[0], -1, -1), z)
        r_scaled, skip = rs.split([self.res.out_channels, self.skip.out_channels], dim=1)
        return torch.add(r_scaled, x, alpha=c), skip
