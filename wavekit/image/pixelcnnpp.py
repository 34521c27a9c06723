"""PixelCNN++ (Salimans et al. 2017).

Differences from PixelCNN that the paper lists, all here:

* discretized logistic mixture likelihood over *whole pixels*, with linear
  dependence between colour channels (:mod:`wavekit.core.mixture`); the
  per-sub-pixel ``log_prob`` is the exact causal split log p(x_c | x_<c, context);
* two streams instead of masks: ``u`` sees the rows above (down-shifted
  convolutions), ``ul`` sees the rows above and the pixels to the left
  (down-right-shifted convolutions); both are shifted once at the input so a
  pixel never sees itself;
* down-sampling (stride 2) twice and up-sampling back, with short-cut
  connections between matching resolutions (encoder-decoder);
* gated residual blocks with concat-ELU-free ELU non-linearities and dropout.

``layers`` is the number of residual blocks per resolution (3 resolutions on
the way down, 3 on the way up). H and W must be multiples of 4. Sampling
uses the per-resolution row cache of
:class:`PixelCNNPlusPlusRowCache` below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.core.dropout import Dropout
from wavekit.core.mixture import (
    mixture_channel_log_probs,
    mixture_log_prob,
    mixture_num_params,
)
from wavekit.image.base import ImageModel, Stepper
from wavekit.image.shift import down_shift, right_shift


@dataclass
class PixelCNNPlusPlusConfig:
    image_channels: int = 3
    levels: int = 256
    layers: int = 2
    hidden_channels: int = 64
    mixtures: int = 5
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.image_channels not in (1, 3):
            raise ValueError(f"image_channels must be 1 or 3, got {self.image_channels}")
        if self.levels < 2 or self.layers < 1 or self.hidden_channels < 1 or self.mixtures < 1:
            raise ValueError("levels >= 2, layers >= 1, hidden_channels >= 1 and mixtures >= 1 required")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class DownShiftedConv(nn.Conv2d):
    """(2, 3) kernel over the row itself and the row above (centred columns); stride 1 or 2."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(cin, cout, (2, 3), stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, (1, 1, 1, 0)))

    def row(self, x2: Tensor) -> Tensor:
        """One output row from input rows r-1 (or 2R-1) and r (or 2R): (B, cin, 2, W) -> (B, cout, 1, W / stride)."""
        return super().forward(F.pad(x2, (1, 1, 0, 0)))


class DownRightShiftedConv(nn.Conv2d):
    """(2, 2) kernel over the pixel, its left neighbour and the two above them; stride 1 or 2."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(cin, cout, (2, 2), stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, (1, 0, 1, 0)))

    def row(self, x2: Tensor) -> Tensor:
        """One output row from the two input rows that end at it (see :meth:`DownShiftedConv.row`)."""
        return super().forward(F.pad(x2, (1, 0, 0, 0)))


class DownShiftedDeconv(nn.ConvTranspose2d):
    """Up-sampling x2 for the u stream: coarse (r, c) -> fine rows 2r..2r+1, cols 2c-1..2c+1."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, (2, 3), stride=2, padding=(0, 1), output_padding=(0, 1))


class DownRightShiftedDeconv(nn.ConvTranspose2d):
    """Up-sampling x2 for the ul stream: coarse (r, c) -> fine rows 2r..2r+1, cols 2c..2c+1."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, (2, 2), stride=2)


class GatedResnet(nn.Module):
    """x + a * sigmoid(b), [a, b] = conv2(dropout(elu(c))), c = conv1(elu(x)) + nin(elu(aux))."""

    def __init__(self, channels: int, conv_cls: type, aux_channels: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = conv_cls(channels, channels)
        self.aux = nn.Conv2d(aux_channels, channels, 1) if aux_channels else None
        self.drop = Dropout(dropout)
        self.conv2 = conv_cls(channels, 2 * channels)

    def _inner(self, conv1_out: Tensor, aux: Tensor | None) -> Tensor:
        if self.aux is None:
            return conv1_out
        if aux is None:
            raise ValueError("this block was built with aux_channels > 0 and needs its auxiliary input")
        return conv1_out + self.aux(F.elu(aux))

    @staticmethod
    def _gated(x: Tensor, ab: Tensor) -> Tensor:
        a, b = ab.chunk(2, dim=1)
        return x + a * torch.sigmoid(b)

    def forward(self, x: Tensor, aux: Tensor | None = None) -> Tensor:
        c = self._inner(self.conv1(F.elu(x)), aux)
        return self._gated(x, self.conv2(self.drop(F.elu(c))))

    def row(self, x2: Tensor, c_above: Tensor, aux: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Row r of the output from cached neighbours (row-cached sampling).

        x2 (B, h, 2, W): input rows r-1, r; c_above (B, h, 1, W): the inner
        activation ``c`` at row r-1 (zeros for r = 0); aux (B, a, 1, W): row r.
        Returns (output row r, c at row r), both (B, h, 1, W).
        """
        c = self._inner(self.conv1.row(F.elu(x2)), aux)
        ab = self.conv2.row(self.drop(F.elu(torch.cat([c_above, c], dim=2))))
        return self._gated(x2[:, :, 1:], ab), c


class PixelCNNPlusPlus(ImageModel):
    """PixelCNN++; ``dist_params`` -> (B, mixture_num_params(mixtures, C), H, W)."""

    whole_pixel = True

    def __init__(
        self,
        *,
        image_channels: int = 3,
        levels: int = 256,
        layers: int = 2,
        hidden_channels: int = 64,
        mixtures: int = 5,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.config = PixelCNNPlusPlusConfig(image_channels, levels, layers, hidden_channels, mixtures, dropout)
        self.image_channels, self.levels, self.mixtures = image_channels, levels, mixtures
        C, h, n = image_channels, hidden_channels, layers
        self.u_in = DownShiftedConv(C + 1, h)
        self.ul_in_up = DownShiftedConv(C + 1, h)
        self.ul_in_left = DownRightShiftedConv(C + 1, h)

        def u_block(aux: int) -> GatedResnet:
            return GatedResnet(h, DownShiftedConv, aux, dropout)

        def ul_block(aux: int) -> GatedResnet:
            return GatedResnet(h, DownRightShiftedConv, aux, dropout)

        # down pass: 3 resolutions; ul blocks read u at the same position
        self.down_u = nn.ModuleList([nn.ModuleList([u_block(0) for _ in range(n)]) for _ in range(3)])
        self.down_ul = nn.ModuleList([nn.ModuleList([ul_block(h) for _ in range(n)]) for _ in range(3)])
        self.downsample_u = nn.ModuleList([DownShiftedConv(h, h, stride=2) for _ in range(2)])
        self.downsample_ul = nn.ModuleList([DownRightShiftedConv(h, h, stride=2) for _ in range(2)])
        # up pass: short-cuts from the matching down-pass outputs
        # n + 1 blocks per resolution: one per stored down-pass output of that size
        # (its n blocks plus the strided / input layer that produced it)
        self.up_u = nn.ModuleList([nn.ModuleList([u_block(h) for _ in range(n + 1)]) for _ in range(3)])
        self.up_ul = nn.ModuleList([nn.ModuleList([ul_block(2 * h) for _ in range(n + 1)]) for _ in range(3)])
        self.upsample_u = nn.ModuleList([DownShiftedDeconv(h, h) for _ in range(2)])
        self.upsample_ul = nn.ModuleList([DownRightShiftedDeconv(h, h) for _ in range(2)])
        self.out = nn.Conv2d(h, mixture_num_params(mixtures, C), 1)

    @classmethod
    def from_config(cls, cfg: PixelCNNPlusPlusConfig) -> "PixelCNNPlusPlus":
        return cls(**asdict(cfg))

    @staticmethod
    def check_size(height: int, width: int) -> None:
        if height % 4 or width % 4:
            raise ValueError(f"PixelCNN++ needs height and width divisible by 4, got {(height, width)}")

    def input_features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) levels -> (B, C + 1, H, W): scaled image and a ones channel that
        marks the image inside the convolutions' zero padding."""
        xf = self.scale_input(x)
        return torch.cat([xf, torch.ones_like(xf[:, :1])], dim=1)

    def dist_params(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_size(x.shape[2], x.shape[3])
        xf = self.input_features(x)
        u = down_shift(self.u_in(xf))
        ul = down_shift(self.ul_in_up(xf)) + right_shift(self.ul_in_left(xf))
        us, uls = [u], [ul]
        for level in range(3):
            for ub, ulb in zip(cast(nn.ModuleList, self.down_u[level]), cast(nn.ModuleList, self.down_ul[level])):
                u = ub(u)
                ul = ulb(ul, u)
                us.append(u)
                uls.append(ul)
            if level < 2:
                u = self.downsample_u[level](u)
                ul = self.downsample_ul[level](ul)
                us.append(u)
                uls.append(ul)
        for level in range(3):
            for ub, ulb in zip(cast(nn.ModuleList, self.up_u[level]), cast(nn.ModuleList, self.up_ul[level])):
                u = ub(u, us.pop())
                ul = ulb(ul, torch.cat([u, uls.pop()], dim=1))
            if level < 2:
                u = self.upsample_u[level](u)
                ul = self.upsample_ul[level](ul)
        return self.out(F.elu(ul))

    def make_stepper(self, y: Tensor | None) -> Stepper:
        return PixelCNNPlusPlusRowCache(self)

    def _mix(self) -> dict:
        return dict(mixtures=self.mixtures, channels=self.image_channels, num_classes=self.levels)

    def log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x, y)
        return mixture_log_prob(self.dist_params(x), self.scale_input(x), **self._mix())

    def sub_pixel_log_probs(self, params: Tensor, x: Tensor, c: int) -> Tensor:
        return mixture_channel_log_probs(params, self.scale_input(x), c, **self._mix())


def _last_two(buf: Tensor, r: int) -> Tensor:
    """Rows r-1 and r of buf (B, C, H, W) -> (B, C, 2, W); a zero row above the image."""
    return F.pad(buf[:, :, :1], (0, 0, 1, 0)) if r == 0 else buf[:, :, r - 1 : r + 1]


def _row_above(buf: Tensor, r: int) -> Tensor:
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
            out, c = block.row(_last_two(inp, r), _row_above(cs[k], r), aux(k))
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
                first[:, :, R : R + 1] = cast(DownShiftedConv, m.downsample_u[l - 1]).row(_last_two(self.du[l - 1][n], 2 * R))
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
                left = right_shift(m.ul_in_left.row(xf))
                first[:, :, R : R + 1] = left if R == 0 else left + m.ul_in_up.row(self._xf(x, R - 1))
            else:
                first[:, :, R : R + 1] = cast(DownRightShiftedConv, m.downsample_ul[l - 1]).row(_last_two(self.dul[l - 1][n], 2 * R))
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
