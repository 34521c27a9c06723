"""The folded WaveNet: the one weight layout every generation step reads by name.

:func:`fold` turns a :class:`~wavekit.wavenet.model.WaveNet` into a
:class:`FoldedWaveNet`: weight norm removed, eval mode, every weight of the
per-sample step stored once, ``(in, out)`` so that a step's product is
``x (B, in) @ w (in, out)``. The torch reference step
(:meth:`wavekit.wavenet.incremental.IncrementalWaveNet.step`) reads these
tensors; the compiled kernel (:mod:`wavekit.generate.kernels`) reads the same
fields as numpy arrays (:class:`wavekit.generate.kernel_values.Weights`).

Shapes (L layers, K taps, R residual, G gate = 2H, S skip, P parameters,
Q mu-law classes, C conditioning channels = cin [+ 2 * pitch_harmonics] + gin):

- input: ``in_table`` (Q, R) mu-law embedding, or ``in_w``, ``in_b`` (R,) the 1x1 of a
  float input; source-filter mode: ``sf_embed`` (3, Q, R) and ``sf_coef`` (pre-emphasis)
  instead (:mod:`wavekit.wavenet.source_filter`);
- layers: ``conv_w`` (L, K, R, G) dilated taps, oldest first; ``conv_b`` (L, G);
  ``cond_w`` (C, L * G) every layer's conditioning (mel [+ sine source] + speaker)
  projection, or None;
- ``res_w`` (L, H, R), ``res_b`` (L, R) residual 1x1s (zeros for the last layer, which has
  no residual output); ``skip_w`` (L, H, S), ``skip_b`` (L, S) skip 1x1s;
- head: ``head1_w`` (S, S) with the skip scale folded in (ReLU is positively
  homogeneous), ``head1_b`` (S,), ``head2_w`` (S, P), ``head2_b`` (P,).

``model`` is the folded eval copy itself, kept for the conditioning path (mel
upsampling, speaker embedding, sine source, LPC), which runs once per utterance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from wavekit.core.conv import folded_copy
from wavekit.core.incremental import flatten_conv_weight
from wavekit.wavenet.config import WaveNetConfig


@dataclass(frozen=True, eq=False)
class FoldedWaveNet:
    """A WaveNet's folded step weights (module docstring for names and shapes); build with :func:`fold`."""

    model: Any  # the folded eval-mode WaveNet copy (conditioning path only)
    config: WaveNetConfig
    in_table: Tensor | None
    in_w: Tensor | None
    in_b: Tensor | None
    sf_embed: Tensor | None
    sf_coef: float
    conv_w: Tensor
    conv_b: Tensor
    cond_w: Tensor | None
    res_w: Tensor
    res_b: Tensor
    skip_w: Tensor
    skip_b: Tensor
    head1_w: Tensor
    head1_b: Tensor
    head2_w: Tensor
    head2_b: Tensor

    @property
    def dtype(self) -> torch.dtype:
        return self.head2_b.dtype

    @property
    def device(self) -> torch.device:
        return self.head2_b.device

    @property
    def layers(self) -> int:
        return int(self.conv_b.shape[0])

    @property
    def gate(self) -> int:
        return int(self.conv_b.shape[1])

    @property
    def num_params(self) -> int:
        return int(self.head2_b.shape[0])

    def silence(self, batch_size: int) -> Tensor:
        """(B,) the "previous sample" before the start."""
        return self.model.silence(batch_size, self.device)

    @torch.no_grad()
    def conditioning_input(self, c: Tensor | None = None, g: Tensor | None = None, length: int = 1) -> Tensor | None:
        """Upsampled mel [, sine source] and speaker embedding: (B, C, length), (B, gin, 1), or None."""
        return self.model.conditioning(c, g, length)

    @torch.no_grad()
    def lpc_rows(self, c: Tensor | None, length: int) -> Tensor | None:
        """Source-filter mode: the predictor row of every sample (length, B, ``config.lpc_row_width``:
        the LPC [, lag and gain of the long-term predictor]) from the mel c; else None."""
        if self.sf_embed is None or c is None:
            return None
        return self.model.source_filter.generation_rows(c.to(self.dtype), length).transpose(0, 1).to(self.dtype)


@torch.no_grad()
def fold(model: nn.Module, device: torch.device | str | None = None) -> FoldedWaveNet:
    """The folded step weights of the WaveNet ``model`` (its dtype; its device unless ``device`` is given).

    The model itself is not changed; fold again after training it.
    """
    m: Any = folded_copy(model)
    if device is not None:
        m = m.to(device)
    m.eval().requires_grad_(False)
    cfg: WaveNetConfig = m.config
    blocks: list[Any] = list(m.blocks)
    K, R = cfg.kernel_size, cfg.residual_channels
    H = cfg.gate_channels // 2
    # (K, R, G) per layer: tap k of the (K * R, G) matrix that the queue's taps multiply
    conv_w = torch.stack([flatten_conv_weight(b.conv.weight).t().reshape(K, R, -1) for b in blocks]).contiguous()
    zeros_w, zeros_b = conv_w.new_zeros(H, R), conv_w.new_zeros(R)
    res_w = torch.stack([b.res.weight[:, :, 0].t() if b.res is not None else zeros_w for b in blocks]).contiguous()
    res_b = torch.stack([b.res.bias if b.res is not None else zeros_b for b in blocks])
    skip_w = torch.stack([b.skip.weight[:, :, 0].t() for b in blocks]).contiguous()
    skip_b = torch.stack([b.skip.bias for b in blocks])
    cond_w = None
    if blocks[0].cond is not None:
        cond_w = torch.cat([b.cond.weight[:, :, 0] for b in blocks]).t().contiguous()
    in_table = in_w = in_b = sf_embed = None
    if m.source_filter is not None:
        sf_embed = m.source_filter.embed
    elif cfg.output == "mulaw":
        in_table = m.input_embed.weight
    else:
        in_w, in_b = m.input_conv.weight[:, 0, 0], m.input_conv.bias
    head1, head2 = m.head[1], m.head[3]
    return FoldedWaveNet(
        model=m, config=cfg, in_table=in_table, in_w=in_w, in_b=in_b, sf_embed=sf_embed,
        sf_coef=float(cfg.lpc.preemphasis), conv_w=conv_w, conv_b=torch.stack([b.conv.bias for b in blocks]),
        cond_w=cond_w, res_w=res_w, res_b=res_b, skip_w=skip_w, skip_b=skip_b,
        head1_w=(head1.weight[:, :, 0] * m.skip_scale).t().contiguous(), head1_b=head1.bias,
        head2_w=head2.weight[:, :, 0].t().contiguous(), head2_b=head2.bias,
    )
