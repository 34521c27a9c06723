"""PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks", section 3.5).

A 7x7 mask-A convolution, then residual blocks (1x1 down to h/2, 3x3 mask-B,
1x1 back up to h, as in the paper's figure 5), then two 1x1 mask-B layers to a
``levels``-way softmax per sub-pixel. Every convolution is masked with the
R, G, B channel groups (see :mod:`wavekit.image.masked`). The stacked 3x3
masks leave a *blind spot* above-right of each pixel, which Gated PixelCNN removes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

import torch
from torch import Tensor, nn

from wavekit.image.base import ImageModel, Stepper
from wavekit.image.cache import rows_upto
from wavekit.image.masked import MaskedConv2d


@dataclass
class PixelCNNConfig:
    image_channels: int = 1
    levels: int = 256
    layers: int = 8  # residual blocks after the first layer
    hidden_channels: int = 64
    first_kernel: int = 7
    kernel_size: int = 3

    def __post_init__(self) -> None:
        if self.image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 or 3, got {self.image_channels}")
        if self.levels < 2:
            raise ValueError(f"levels must be >= 2, got {self.levels}")
        if self.layers < 0 or self.hidden_channels < 2 * self.image_channels:
            raise ValueError("layers must be >= 0 and hidden_channels >= 2 * image_channels")
        if self.hidden_channels % (2 * self.image_channels):
            raise ValueError(f"hidden_channels must be a multiple of {2 * self.image_channels}")
        if self.first_kernel % 2 == 0 or self.kernel_size % 2 == 0:
            raise ValueError("first_kernel and kernel_size must be odd")


class ResidualBlock(nn.Module):
    """x + 1x1(relu(kxk masked B(relu(1x1(relu(x)))))), channels h -> h/2 -> h/2 -> h."""

    def __init__(self, channels: int, kernel_size: int, groups: int) -> None:
        super().__init__()
        half = channels // 2
        self.convs = nn.ModuleList(
            [
                MaskedConv2d(channels, half, 1, mask_type="B", groups=groups),
                MaskedConv2d(half, half, kernel_size, mask_type="B", groups=groups),
                MaskedConv2d(half, channels, 1, mask_type="B", groups=groups),
            ]
        )

    def forward(self, x: Tensor) -> Tensor:
        h = x
        for conv in self.convs:
            h = conv(torch.relu(h))
        return x + h


class PixelCNN(ImageModel):
    """PixelCNN over (B, C, H, W) integer images; ``dist_params`` -> (B, levels * C, H, W) logits."""

    def __init__(
        self,
        *,
        image_channels: int = 1,
        levels: int = 256,
        layers: int = 8,
        hidden_channels: int = 64,
        first_kernel: int = 7,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        self.config = PixelCNNConfig(image_channels, levels, layers, hidden_channels, first_kernel, kernel_size)
        self.image_channels, self.levels = image_channels, levels
        C, h = image_channels, hidden_channels
        self.input_conv = MaskedConv2d(C, h, first_kernel, mask_type="A", groups=C)
        self.blocks = nn.ModuleList([ResidualBlock(h, kernel_size, C) for _ in range(layers)])
        self.out1 = MaskedConv2d(h, h, 1, mask_type="B", groups=C)
        self.out2 = MaskedConv2d(h, levels * C, 1, mask_type="B", groups=C)

    @classmethod
    def from_config(cls, cfg: PixelCNNConfig) -> "PixelCNN":
        return cls(**asdict(cfg))

    def head(self, h: Tensor) -> Tensor:
        return self.out2(torch.relu(self.out1(torch.relu(h))))

    def dist_params(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.input_conv(self.scale_input(x))
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def make_stepper(self, y: Tensor | None) -> Stepper:
        return PixelCNNRowCache(self)


class PixelCNNRowCache:
    """Per-layer row buffers for :class:`PixelCNN`; row i recomputed per sub-pixel."""

    def __init__(self, model: PixelCNN) -> None:
        self.model = model
        self.buffers: list[Tensor] | None = None  # input of each block's k x k conv, (B, h/2, H, W)

    def _row(self, x: Tensor, i: int) -> Tensor:
        m = self.model
        if self.buffers is None:
            B, _, H, W = x.shape
            half = m.config.hidden_channels // 2
            self.buffers = [x.new_zeros(B, half, H, W, dtype=m.dtype) for _ in m.blocks]
        p0 = m.input_conv.pad[2]
        h = m.input_conv.forward_rows(m.scale_input(rows_upto(x, i, p0)))
        for block, buf in zip(m.blocks, self.buffers):
            c0, c1, c2 = cast(list[MaskedConv2d], list(cast(ResidualBlock, block).convs))
            buf[:, :, i : i + 1] = torch.relu(c0(torch.relu(h)))
            t = c1.forward_rows(rows_upto(buf, i, c1.pad[2]))
            h = h + c2(torch.relu(t))
        return h  # (B, h, 1, W)

    def start_row(self, x: Tensor, i: int) -> None:
        if i > 0:  # row i-1 with its last sub-pixel, now final
            self._row(x, i - 1)

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor:
        return self.model.head(self._row(x, i))[:, :, 0, j]
