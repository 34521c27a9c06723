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
* :class:`PixelCNNPlusPlusRowCache` (PixelCNN++): one cache per resolution of
  the U-Net; the ``u`` (rows above) stream runs once per row at full
  resolution, once per 2 rows at 1/2 and once per 4 rows at 1/4; the ``ul``
  stream runs per pixel on the current row only, at 1/2 and 1/4 resolution only
  on the fine rows and columns that reach them (every 2nd / 4th).

Naive sampling runs the whole H x W network per sub-pixel; every cache
returns the same parameters (up to float rounding), so with the same seed
they draw the same images. All are used through the stepper interface of
:mod:`wavekit.image.base` (``start_row``, ``params_at``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:  # the models import these caches lazily; types only here, so no import circle
    from wavekit.image.gated_pixelcnn import GatedPixelCNN
    from wavekit.image.pixelcnn import PixelCNN
    from wavekit.image.pixelcnnpp import PixelCNNPlusPlus


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


def _two(buf: Tensor, r: int) -> Tensor:
    """Rows r-1 and r of buf (B, C, H, W) -> (B, C, 2, W); a zero row above the image."""
    return F.pad(buf[:, :, :1], (0, 0, 1, 0)) if r == 0 else buf[:, :, r - 1 : r + 1]


def _above(buf: Tensor, r: int) -> Tensor:
    """Row r-1 of buf -> (B, C, 1, W); zeros for r = 0."""
    return torch.zeros_like(buf[:, :, :1]) if r == 0 else buf[:, :, r - 1 : r]


class PixelCNNPlusPlusRowCache:
    """Per-resolution row cache for :class:`PixelCNNPlusPlus` (Ramachandran et al. 2017).

    Level l (l = 0, 1, 2) is the 1 / 2**l resolution; its row R depends on the
    image as follows (by the shifted 2-row kernels, the stride-2 layers and the
    2-row transposed convolutions, which map coarse row R to fine rows 2R, 2R+1):

    * every ``u`` tensor (down and up pass): on fine rows < 2**l R only. It is
      final when fine row 2**l R starts, so it is computed once then
      (:meth:`start_row`);
    * every ``ul`` tensor: also on fine row 2**l R, left of column 2**l C at
      coarse column C. While fine row i is sampled, level l changes only if
      2**l divides i, and the columns up to j // 2**l are current once fine
      column 2**l (j // 2**l) has been reached; so level l is recomputed at
      pixel (i, j) only when 2**l divides i and the last update on this row
      was before column 2**l (j // 2**l) (every 2**l-th pixel when sampling).

    Recomputing a level means its current row of every ``ul`` tensor (down,
    then up pass), read from the rows above kept in full-size buffers (one per
    tensor, plus the inner activation of every gated block). Columns right of
    the current pixel are scratch; :meth:`start_row` recomputes the finished
    row in full, so known pixels that were skipped are accounted for.
    Rows must be started in order 0, 1, ..., H-1.
    """

    def __init__(self, model: PixelCNNPlusPlus) -> None:
        self.model = model
        self.ready = False
        self.last: list[tuple[int, int]] = [(-1, -1)] * 3  # (row, col) of each level's last ul update

    def _alloc(self, x: Tensor) -> None:
        m = self.model
        B, _, H, W = x.shape
        m.check_size(H, W)
        if m.training and m.config.dropout > 0:
            raise ValueError("the row cache needs the model in eval mode (dropout off); call model.eval()")
        h, n = m.config.hidden_channels, m.config.layers

        def bufs(l: int, count: int) -> list[Tensor]:
            return [x.new_zeros(B, h, H >> l, W >> l, dtype=m.dtype) for _ in range(count)]

        # down pass per level: outputs 0..n (0: input / strided layer) and the n blocks' inner c
        self.du, self.dul = [bufs(l, n + 1) for l in range(3)], [bufs(l, n + 1) for l in range(3)]
        self.du_c, self.dul_c = [bufs(l, n) for l in range(3)], [bufs(l, n) for l in range(3)]
        # up pass per level: input (up-sampled, or the down pass's last at 1/4), n + 1 outputs and inner c
        self.uu_in = [*(bufs(l, 1)[0] for l in range(2)), self.du[2][n]]
        self.uul_in = [*(bufs(l, 1)[0] for l in range(2)), self.dul[2][n]]
        self.uu, self.uul = [bufs(l, n + 1) for l in range(3)], [bufs(l, n + 1) for l in range(3)]
        self.uu_c, self.uul_c = [bufs(l, n + 1) for l in range(3)], [bufs(l, n + 1) for l in range(3)]
        self.ready = True

    @staticmethod
    def _chain(blocks, inp: Tensor, outs: list[Tensor], cs: list[Tensor], r: int, aux) -> None:
        """Row r of a chain of gated blocks, each reading the previous one's rows r-1, r."""
        for k, block in enumerate(blocks):
            out, c = block.row(_two(inp, r), _above(cs[k], r), aux(k))
            outs[k][:, :, r : r + 1] = out
            cs[k][:, :, r : r + 1] = c
            inp = outs[k]

    def _xf(self, x: Tensor, r: int) -> Tensor:
        """Input features of image rows r-1, r: (B, C + 1, 2, W), zeros above the image."""
        xf = self.model.input_features(x[:, :, max(r - 1, 0) : r + 1])
        return F.pad(xf, (0, 0, 2 - xf.shape[2], 0))

    # --- u stream: once per row of each level ------------------------------------
    def _u_rows(self, x: Tensor, i: int) -> None:
        m, n = self.model, self.model.config.layers
        levels = [l for l in range(3) if i % (1 << l) == 0]
        for l in levels:
            R, first = i >> l, self.du[l][0]
            if l == 0:  # down_shift(u_in(xf)): row R is u_in at row R-1
                first[:, :, R : R + 1] = 0.0 if R == 0 else m.u_in.row(self._xf(x, R - 1))
            else:
                first[:, :, R : R + 1] = m.downsample_u[l - 1].row(_two(self.du[l - 1][n], 2 * R))
            self._chain(m.down_u[l], first, self.du[l][1:], self.du_c[l], R, lambda k: None)
        for l in reversed(levels):
            R = i >> l
            if l < 2:
                up = m.upsample_u[1 - l](self.uu[l + 1][n][:, :, R // 2 : R // 2 + 1])
                self.uu_in[l][:, :, R : R + 1] = up[:, :, R % 2 : R % 2 + 1]
            skip = self.du[l]
            self._chain(m.up_u[2 - l], self.uu_in[l], self.uu[l], self.uu_c[l], R,
                        lambda k: skip[n - k][:, :, R : R + 1])

    # --- ul stream: the current row of levels 0..top -----------------------------
    def _ul_rows(self, x: Tensor, i: int, top: int) -> None:
        m, n = self.model, self.model.config.layers
        for l in range(top + 1):
            R, first, u = i >> l, self.dul[l][0], self.du[l]
            if l == 0:  # down_shift(ul_in_up(xf)) + right_shift(ul_in_left(xf))
                xf = self._xf(x, R)
                left = F.pad(m.ul_in_left.row(xf), (1, 0, 0, 0))[..., :-1]
                first[:, :, R : R + 1] = left if R == 0 else left + m.ul_in_up.row(self._xf(x, R - 1))
            else:
                first[:, :, R : R + 1] = m.downsample_ul[l - 1].row(_two(self.dul[l - 1][n], 2 * R))
            self._chain(m.down_ul[l], first, self.dul[l][1:], self.dul_c[l], R,
                        lambda k: u[k + 1][:, :, R : R + 1])
        for l in reversed(range(top + 1)):
            R, uu, skip = i >> l, self.uu[l], self.dul[l]
            if l < 2:
                up = m.upsample_ul[1 - l](self.uul[l + 1][n][:, :, R // 2 : R // 2 + 1])
                self.uul_in[l][:, :, R : R + 1] = up[:, :, R % 2 : R % 2 + 1]
            self._chain(m.up_ul[2 - l], self.uul_in[l], self.uul[l], self.uul_c[l], R,
                        lambda k: torch.cat([uu[k][:, :, R : R + 1], skip[n - k][:, :, R : R + 1]], dim=1))

    # --- stepper interface ------------------------------------------------------
    def start_row(self, x: Tensor, i: int) -> None:
        if not self.ready:
            self._alloc(x)
        if i > 0:  # row i-1 is complete: bring its ul rows up to date at every level it reaches
            p = i - 1
            self._ul_rows(x, p, max(l for l in range(3) if p % (1 << l) == 0))
            self.last = [(-1, -1)] * 3
        self._u_rows(x, i)

    def params_at(self, x: Tensor, i: int, j: int) -> Tensor:
        stale = [
            l for l in range(3)
            if i % (1 << l) == 0 and not (self.last[l][0] == i and self.last[l][1] >= (j >> l) << l)
        ]
        if stale:
            top = max(stale)
            self._ul_rows(x, i, top)
            for l in range(top + 1):
                self.last[l] = (i, j)
        m, n = self.model, self.model.config.layers
        return m.out(F.elu(self.uul[0][n][:, :, i : i + 1, j : j + 1]))[:, :, 0, 0]
