"""Masked 2-D convolutions with colour-channel groups (PixelRNN/PixelCNN, van den Oord et al. 2016).

Feature channel ``i`` of a layer with ``n`` channels belongs to colour group
``i % C`` (C = image channels; the image itself has channel c in group c). The
mask of a kernel with centre (ci, cj) lets output channel o (group g) see

* every input position before the centre in raster order (rows above, and
  the centre row to the left), all groups;
* at the centre: input groups ``< g`` for mask ``"A"`` (first layer: a sub-pixel
  never sees itself; R sees nothing of its pixel, G sees R, B sees R and G) and
  ``<= g`` for mask ``"B"`` (later layers);
* nothing after the centre.

For layers that gate or split channels into chunks, chunk sizes must be
multiples of C so that every chunk keeps the same group layout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def channel_groups(n: int, groups: int) -> Tensor:
    """Colour group of each of ``n`` channels: ``arange(n) % groups``."""
    return torch.arange(n) % groups


def make_mask(
    out_channels: int,
    in_channels: int,
    kernel_size: tuple[int, int],
    centre: tuple[int, int],
    mask_type: str,
    groups: int,
) -> Tensor:
    """Mask (out, in, kh, kw) of 0/1 for a masked convolution (see module docstring)."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_size
    ci, cj = centre
    mask = torch.zeros(out_channels, in_channels, kh, kw)
    mask[:, :, :ci, :] = 1.0
    mask[:, :, ci, :cj] = 1.0
    g_out = channel_groups(out_channels, groups).view(-1, 1)
    g_in = channel_groups(in_channels, groups).view(1, -1)
    allowed = (g_in < g_out) if mask_type == "A" else (g_in <= g_out)
    mask[:, :, ci, cj] = allowed.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """Conv2d whose kernel is multiplied by a causal, colour-grouped mask.

    kernel_size (kh, kw) is used with its centre at ``(kh // 2, kw // 2)`` and "same"
    zero padding by default; ``centre``/``padding`` override that (e.g. a 1 x k row
    kernel whose centre is its last column, padded on the left only).
    Input (B, in_channels, H, W) -> (B, out_channels, H, W).
    """

    mask: Tensor  # buffer (out, in, kh, kw), registered in __init__

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        mask_type: str,
        groups: int,
        centre: tuple[int, int] | None = None,
        padding: tuple[int, int, int, int] | None = None,
    ) -> None:
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        super().__init__(in_channels, out_channels, (kh, kw), padding=0)
        centre = centre if centre is not None else (kh // 2, kw // 2)
        # F.pad order: (left, right, top, bottom)
        self.pad = padding if padding is not None else (kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2)
        self.register_buffer("mask", make_mask(out_channels, in_channels, (kh, kw), centre, mask_type, groups))

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, self.pad), self.weight * self.mask, self.bias)

    def forward_rows(self, x_rows: Tensor) -> Tensor:
        """One output row from the ``kh`` input rows that end at it: (B, in, kh', W) -> (B, out, 1, W).

        Rows below the centre are masked out, so only rows ``r - ci .. r`` matter;
        ``x_rows`` holds them (fewer at the top of the image, zero-padded here).
        """
        ci = self.pad[2]
        need = ci + 1
        if x_rows.shape[2] < need:
            x_rows = F.pad(x_rows, (0, 0, need - x_rows.shape[2], 0))
        w = (self.weight * self.mask)[:, :, :need]
        return F.conv2d(F.pad(x_rows, (self.pad[0], self.pad[1], 0, 0)), w, self.bias)
