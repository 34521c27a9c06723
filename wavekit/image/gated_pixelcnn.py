"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders").

Two stacks per layer:

* vertical: a (k//2 + 1) x k convolution over the rows *up to and including*
  the current one (no masks needed); shifted down one row before it is fed to
  the horizontal stack, so pixel (i, j) gets everything above row i;
* horizontal: a 1 x (k//2 + 1) convolution over the current row up to the
  current pixel, colour-masked at the centre (mask A in the first layer,
  B after), plus the shifted vertical features through a 1x1; residual on the
  horizontal stack from the second layer on.

Both use the gated activation ``tanh(W_f * x) * sigmoid(W_g * x)``
(:func:`wavekit.core.gated.gated_activation`, the same one as WaveNet's); an optional
class embedding is added to both pre-activations (``num_classes > 0``, ``y``).
Together the stacks cover every earlier pixel: no blind spot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.core.gated import gated_activation
from wavekit.image.base import ImageModel, Stepper
from wavekit.image.cache import rows_upto
from wavekit.image.masked import MaskedConv2d
from wavekit.image.shift import down_shift


@dataclass
class GatedPixelCNNConfig:
    image_channels: int = 1
    levels: int = 256
    layers: int = 8
    hidden_channels: int = 64
    kernel_size: int = 3
    num_classes: int = 0

    def __post_init__(self) -> None:
        if self.image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 or 3, got {self.image_channels}")
        if self.levels < 2:
            raise ValueError(f"levels must be >= 2, got {self.levels}")
        if self.layers < 1:
            raise ValueError(f"layers must be >= 1, got {self.layers}")
        if self.hidden_channels % self.image_channels or self.hidden_channels < self.image_channels:
            raise ValueError(f"hidden_channels must be a positive multiple of {self.image_channels}")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        if self.num_classes < 0:
            raise ValueError("num_classes must be >= 0")


class GatedLayer(nn.Module):
    def __init__(self, in_channels: int, channels: int, kernel_size: int, groups: int, first: bool, num_classes: int) -> None:
        super().__init__()
        p = kernel_size // 2
        self.first = first
        self.v_conv = nn.Conv2d(in_channels, 2 * channels, (p + 1, kernel_size))
        self.v_pad = (p, p, p, 0)
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_conv = MaskedConv2d(
            in_channels, 2 * channels, (1, p + 1), mask_type="A" if first else "B", groups=groups,
            centre=(0, p), padding=(p, 0, 0, 0),
        )
        self.h_out = MaskedConv2d(channels, channels, 1, mask_type="B", groups=groups)
        self.cond = nn.Embedding(num_classes, 2 * channels) if num_classes else None

    def vertical_pre(self, v: Tensor) -> Tensor:
        """Vertical pre-activation (B, 2h, H', W) from rows (B, in, H', W) (top zero padding)."""
        return self.v_conv(F.pad(v, self.v_pad))

    def forward(self, v: Tensor, h: Tensor, emb: Tensor | None) -> tuple[Tensor, Tensor]:
        v_pre = self.vertical_pre(v)
        return self.vertical_out(v_pre, emb), self.horizontal(h, self.v_to_h(down_shift(v_pre)), emb)

    def vertical_out(self, v_pre: Tensor, emb: Tensor | None) -> Tensor:
        return gated_activation(v_pre if emb is None else v_pre + emb)

    def horizontal(self, h: Tensor, v_feed: Tensor, emb: Tensor | None) -> Tensor:
        """h (B, in, R, W), v_feed (B, 2h, R, W) already shifted and projected."""
        pre = self.h_conv(h) + v_feed
        if emb is not None:
            pre = pre + emb
        out = self.h_out(gated_activation(pre))
        return out if self.first else h + out


class GatedPixelCNN(ImageModel):
    """Gated PixelCNN; ``dist_params(x, y)`` -> (B, levels * C, H, W) logits."""

    def __init__(
        self,
        *,
        image_channels: int = 1,
        levels: int = 256,
        layers: int = 8,
        hidden_channels: int = 64,
        kernel_size: int = 3,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        self.config = GatedPixelCNNConfig(image_channels, levels, layers, hidden_channels, kernel_size, num_classes)
        self.image_channels, self.levels, self.num_classes = image_channels, levels, num_classes
        C, h = image_channels, hidden_channels
        self.layers = nn.ModuleList(
            [GatedLayer(C if i == 0 else h, h, kernel_size, C, i == 0, num_classes) for i in range(layers)]
        )
        self.out1 = MaskedConv2d(h, h, 1, mask_type="B", groups=C)
        self.out2 = MaskedConv2d(h, levels * C, 1, mask_type="B", groups=C)

    @classmethod
    def from_config(cls, cfg: GatedPixelCNNConfig) -> "GatedPixelCNN":
        return cls(**asdict(cfg))

    def gated_layers(self) -> list[GatedLayer]:
        """``self.layers`` typed as what it holds."""
        return cast(list[GatedLayer], list(self.layers))

    def embeddings(self, y: Tensor | None, batch: int) -> list[Tensor | None]:
        """Per-layer class embeddings (B, 2h, 1, 1), or Nones."""
        if self.num_classes == 0:
            return [None] * len(self.layers)
        if y is None or y.shape != (batch,):
            raise ValueError(f"this model is class-conditional: pass y of shape ({batch},) with ids < {self.num_classes}")
        return [cast(nn.Embedding, layer.cond)(y)[:, :, None, None] for layer in self.gated_layers()]

    def head(self, h: Tensor) -> Tensor:
        return self.out2(torch.relu(self.out1(torch.relu(h))))

    def dist_params(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        v = h = self.scale_input(x)
        for layer, emb in zip(self.layers, self.embeddings(y, x.shape[0])):
            v, h = layer(v, h, emb)
        return self.head(h)

    def make_stepper(self, y: Tensor | None) -> Stepper:
        return GatedRowCache(self, y)


class GatedRowCache:
    """Vertical stack once per row, horizontal stack on the current row, for :class:`GatedPixelCNN`."""

    def __init__(self, model: GatedPixelCNN, y: Tensor | None) -> None:
        self.model, self.y = model, y
        self.v_in: list[Tensor] | None = None  # input of each layer's vertical conv, (B, in, H, W)
        self.feed: list[Tensor] = []  # per layer: v_to_h(vertical pre-activation of row i-1), (B, 2h, 1, W)
        self.emb: list[Tensor | None] = []

    def start_row(self, x: Tensor, i: int) -> None:
        m = self.model
        B, _, H, W = x.shape
        if self.v_in is None:
            h = m.config.hidden_channels
            self.v_in = [x.new_zeros(B, x.shape[1] if l == 0 else h, H, W, dtype=m.dtype) for l in range(len(m.layers))]
            self.emb = m.embeddings(self.y, B)
        self.feed = []
        if i == 0:
            for layer in m.gated_layers():
                zeros = x.new_zeros(B, layer.v_to_h.in_channels, 1, W, dtype=m.dtype)
                self.feed.append(layer.v_to_h(zeros))
            return
        r = i - 1
        self.v_in[0][:, :, r] = m.scale_input(x[:, :, r])
        for l, (layer, emb) in enumerate(zip(m.gated_layers(), self.emb)):
            p = layer.v_pad[2]
            window = rows_upto(self.v_in[l], r, p)
            pre = layer.v_conv(F.pad(window, (p, p, p + 1 - window.shape[2], 0)))  # (B, 2h, 1, W)
            self.feed.append(layer.v_to_h(pre))
            if l + 1 < len(m.layers):
                self.v_in[l + 1][:, :, r : r + 1] = layer.vertical_out(pre, emb)

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor:
        m = self.model
        h = m.scale_input(x[:, :, i : i + 1])
        for layer, feed, emb in zip(m.gated_layers(), self.feed, self.emb):
            h = layer.horizontal(h, feed, emb)
        return m.head(h)[:, :, 0, j]
