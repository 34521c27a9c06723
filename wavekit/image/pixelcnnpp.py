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
:class:`wavekit.image.cache.PixelCNNPlusPlusRowCache`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.core.mixture import mixture_channel_log_probs, mixture_log_prob, mixture_num_params
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
        self.drop = nn.Dropout(dropout)
        self.conv2 = conv_cls(channels, 2 * channels)

    def _inner(self, conv1_out: Tensor, aux: Tensor | None) -> Tensor:
        return conv1_out if self.aux is None else conv1_out + self.aux(F.elu(aux))

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
            for ub, ulb in zip(self.down_u[level], self.down_ul[level]):
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
            for ub, ulb in zip(self.up_u[level], self.up_ul[level]):
                u = ub(u, us.pop())
                ul = ulb(ul, torch.cat([u, uls.pop()], dim=1))
            if level < 2:
                u = self.upsample_u[level](u)
                ul = self.upsample_ul[level](ul)
        return self.out(F.elu(ul))

    def make_stepper(self, y: Tensor | None) -> Stepper:
        from wavekit.image.cache import PixelCNNPlusPlusRowCache

        return PixelCNNPlusPlusRowCache(self)

    def _mix(self) -> dict:
        return dict(mixtures=self.mixtures, channels=self.image_channels, num_classes=self.levels)

    def log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x, y)
        return mixture_log_prob(self.dist_params(x), self.scale_input(x), **self._mix())

    def sub_pixel_log_probs(self, params: Tensor, x: Tensor, c: int) -> Tensor:
        return mixture_channel_log_probs(params, self.scale_input(x), c, **self._mix())
