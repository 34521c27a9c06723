"""Causal shifts of (B, C, H, W) feature maps: the mask-free way to hide the current row or pixel.

Shifting by one row (or column) and filling with zeros makes position (i, j)
see only rows above i (or columns left of j). Gated PixelCNN feeds its
vertical stack to the horizontal one through :func:`down_shift`, PixelCNN++
starts both its streams with these shifts, and the diagonal BiLSTM of PixelRNN
shifts its right-to-left direction down one row.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def down_shift(x: Tensor) -> Tensor:
    """Shift (B, C, H, W) down one row: row i of the result is row i-1 of ``x``, zeros at the top."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def right_shift(x: Tensor) -> Tensor:
    """Shift (B, C, H, W) right one column: column j is column j-1 of ``x``, zeros at the left."""
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]
