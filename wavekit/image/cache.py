"""Row-wise cached sampling for the convolutional models (Ramachandran et al. 2017).

Every layer's output at row r depends only on its input rows <= r, so while
row i is being sampled all rows above are final. A cache keeps, per layer,
the input rows that the next rows will read:

* :class:`GatedRowCache` (Gated PixelCNN): the vertical stack runs *once per
  row* (row i-1 of every layer, when row i starts), and its projected,
  down-shifted features for row i are kept; each sub-pixel then runs only the
  horizontal stack on the 1 x W current row.
* :class:`PixelCNNRowCache` (PixelCNN): each layer's k x k input rows are kept;
  a sub-pixel recomputes only row i through the stack from the cached rows above.

Naive sampling runs the whole H x W network per sub-pixel; both caches
return the same parameters (up to float rounding), so with the same seed
they draw the same images. Both are used through the stepper interface of
:mod:`wavekit.image.base` (``start_row``, ``params_at``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from wavekit.image.gated_pixelcnn import GatedPixelCNN
from wavekit.image.pixelcnn import PixelCNN


def _rows(buf: Tensor, r: int, above: int) -> Tensor:
    """Rows r-above..r of buf (fewer at the top of the image)."""
    return buf[:, :, max(0, r - above) : r + 1]


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
        h = m.input_conv.forward_rows(m.scale_input(_rows(x, i, p0)))
        for block, buf in zip(m.blocks, self.buffers):
            c0, c1, c2 = block.convs
            buf[:, :, i : i + 1] = torch.relu(c0(torch.relu(h)))
            t = c1.forward_rows(_rows(buf, i, c1.pad[2]))
            h = h + c2(torch.relu(t))
        return h  # (B, h, 1, W)

    def start_row(self, x: Tensor, i: int) -> None:
        if i > 0:  # row i-1 with its last sub-pixel, now final
            self._row(x, i - 1)

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor:
        return self.model.head(self._row(x, i))[:, :, 0, j]


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
            for layer in m.layers:
                zeros = x.new_zeros(B, layer.v_to_h.in_channels, 1, W, dtype=m.dtype)
                self.feed.append(layer.v_to_h(zeros))
            return
        r = i - 1
        self.v_in[0][:, :, r] = m.scale_input(x[:, :, r])
        for l, (layer, emb) in enumerate(zip(m.layers, self.emb)):
            p = layer.v_pad[2]
            window = _rows(self.v_in[l], r, p)
            pre = layer.v_conv(F.pad(window, (p, p, p + 1 - window.shape[2], 0)))  # (B, 2h, 1, W)
            self.feed.append(layer.v_to_h(pre))
            if l + 1 < len(m.layers):
                self.v_in[l + 1][:, :, r : r + 1] = layer.vertical_out(pre, emb)

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor:
        m = self.model
        h = m.scale_input(x[:, :, i : i + 1])
        for layer, feed, emb in zip(m.layers, self.feed, self.emb):
            h = layer.horizontal(h, feed, emb)
        return m.head(h)[:, :, 0, j]
