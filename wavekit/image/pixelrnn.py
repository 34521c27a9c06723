"""PixelRNN (van den Oord et al. 2016): Row LSTM and Diagonal BiLSTM.

Both start with a 7x7 mask-A convolution and end with two 1x1 mask-B layers and
a ``levels``-way softmax per sub-pixel (as PixelCNN); in between, ``layers``
residual LSTM layers (``x + 1x1(h)``) with ``hidden_channels`` state channels:

* Row LSTM (``variant="row"``): rows are processed top to bottom; the gates of
  row i are an input-to-state 1 x k mask-B convolution of row i plus a
  state-to-state 1-D convolution (width k) of the hidden state of row i-1.
  Its context is a triangle above the pixel.
* Diagonal BiLSTM (``variant="diagonal"``): the map is *skewed* (row r shifted
  right by r) so each diagonal becomes a column; a column-wise LSTM with a
  1x1 mask-B input-to-state and a (2 x 1) state-to-state convolution over the
  previous column (the pixel above and the pixel to the left) runs left to
  right, then the map is unskewed. The right-to-left direction runs on the
  mirrored map and its output is shifted down one row before the two are
  added, so it only brings in rows above. Full context.

Gate chunks (4 x hidden) keep the colour groups because hidden is a multiple of C.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.image.base import ImageModel
from wavekit.image.masked import MaskedConv2d
from wavekit.image.shift import down_shift


@dataclass
class PixelRNNConfig:
    image_channels: int = 1
    levels: int = 256
    layers: int = 2
    hidden_channels: int = 32
    variant: str = "row"
    kernel_size: int = 3

    def __post_init__(self) -> None:
        if self.image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 or 3, got {self.image_channels}")
        if self.variant not in ("row", "diagonal"):
            raise ValueError(f"variant must be 'row' or 'diagonal', got {self.variant!r}")
        if self.levels < 2 or self.layers < 1:
            raise ValueError("levels >= 2 and layers >= 1 required")
        if self.hidden_channels < self.image_channels or self.hidden_channels % self.image_channels:
            raise ValueError(f"hidden_channels must be a positive multiple of {self.image_channels}")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")


def _lstm(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """gates (B, 4h, ...) in the order input, forget, output, candidate."""
    i, f, o, g = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class RowLSTM(nn.Module):
    """(B, h, H, W) -> (B, h, H, W): LSTM over rows, k-wide convolutions in and across."""

    def __init__(self, channels: int, kernel_size: int, groups: int) -> None:
        super().__init__()
        self.input_to_state = MaskedConv2d(channels, 4 * channels, (1, kernel_size), mask_type="B", groups=groups)
        self.state_to_state = nn.Conv1d(channels, 4 * channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor) -> Tensor:
        B, ch, H, W = x.shape
        pre = self.input_to_state(x)
        h = c = x.new_zeros(B, ch, W)
        out = []
        for r in range(H):
            h, c = _lstm(pre[:, :, r] + self.state_to_state(h), c)
            out.append(h)
        return torch.stack(out, dim=2)


def skew(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C, H, W + H - 1): row r shifted right by r."""
    B, C, H, W = x.shape
    out = x.new_zeros(B, C, H, W + H - 1)
    for r in range(H):
        out[:, :, r, r : r + W] = x[:, :, r]
    return out


def unskew(x: Tensor, width: int) -> Tensor:
    """Inverse of :func:`skew`: (B, C, H, W + H - 1) -> (B, C, H, W)."""
    return torch.stack([x[:, :, r, r : r + width] for r in range(x.shape[2])], dim=2)


class DiagonalLSTM(nn.Module):
    """One direction (left to right) of the Diagonal BiLSTM: (B, h, H, W) -> (B, h, H, W)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.input_to_state = MaskedConv2d(channels, 4 * channels, 1, mask_type="B", groups=groups)
        # (2 x 1) over the previous skewed column: rows r-1 (pixel above) and r (pixel to the left)
        self.state_to_state = nn.Conv1d(channels, 4 * channels, 2)

    def forward(self, x: Tensor) -> Tensor:
        B, ch, H, W = x.shape
        pre = skew(self.input_to_state(x))
        h = c = x.new_zeros(B, ch, H)
        cols = []
        for j in range(pre.shape[3]):
            h, c = _lstm(pre[:, :, :, j] + self.state_to_state(F.pad(h, (1, 0))), c)
            cols.append(h)
        return unskew(torch.stack(cols, dim=3), W)


class DiagonalBiLSTM(nn.Module):
    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.forward_dir = DiagonalLSTM(channels, groups)
        self.backward_dir = DiagonalLSTM(channels, groups)

    def forward(self, x: Tensor) -> Tensor:
        left = self.forward_dir(x)
        right = self.backward_dir(x.flip(3)).flip(3)
        return left + down_shift(right)  # right direction shifted down one row


class PixelRNN(ImageModel):
    """PixelRNN; ``dist_params`` -> (B, levels * C, H, W) logits."""

    def __init__(
        self,
        *,
        image_channels: int = 1,
        levels: int = 256,
        layers: int = 2,
        hidden_channels: int = 32,
        variant: str = "row",
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        self.config = PixelRNNConfig(image_channels, levels, layers, hidden_channels, variant, kernel_size)
        self.image_channels, self.levels = image_channels, levels
        C, h = image_channels, hidden_channels
        self.input_conv = MaskedConv2d(C, h, 7, mask_type="A", groups=C)
        if variant == "row":
            self.rnns = nn.ModuleList([RowLSTM(h, kernel_size, C) for _ in range(layers)])
        else:
            self.rnns = nn.ModuleList([DiagonalBiLSTM(h, C) for _ in range(layers)])
        self.residuals = nn.ModuleList([MaskedConv2d(h, h, 1, mask_type="B", groups=C) for _ in range(layers)])
        self.out1 = MaskedConv2d(h, h, 1, mask_type="B", groups=C)
        self.out2 = MaskedConv2d(h, levels * C, 1, mask_type="B", groups=C)

    @classmethod
    def from_config(cls, cfg: PixelRNNConfig) -> "PixelRNN":
        return cls(**asdict(cfg))

    def dist_params(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.input_conv(self.scale_input(x))
        for rnn, res in zip(self.rnns, self.residuals):
            h = h + res(rnn(h))
        return self.out2(torch.relu(self.out1(torch.relu(h))))
