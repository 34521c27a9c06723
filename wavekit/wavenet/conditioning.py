"""Conditioning inputs of WaveNet: mel frames upsampled to the sample rate, speaker ids embedded."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class UpsampleNetwork(nn.Module):
    """Learned upsampling of frames to samples: (B, C, frames) -> (B, C, frames * hop).

    For each scale s in turn: repeat every step s times (nearest), then smooth
    with a (2s+1)-tap convolution along time shared by all channels (bias-free,
    initialised to the average, zero-padded at the ends), as in
    r9y9/wavenet_vocoder. ``hop = prod(scales)``. The network is linear and
    treats every channel alike.

    Locality: one stage makes output u depend on inputs u//s - 1 .. u//s + 1,
    so sample t depends only on the frames in :meth:`frame_span` (t) — at most
    :attr:`lookahead` frames after frame ``t // hop`` and :attr:`lookbehind`
    frames before it (2 and 2 for scales 4, 4, 4, 4).
    """

    def __init__(self, scales: Sequence[int]) -> None:
        super().__init__()
        if not scales or any(int(s) < 1 for s in scales):
            raise ValueError(f"upsample scales must be positive integers, got {list(scales)}")
        self.scales = tuple(int(s) for s in scales)
        self.convs = nn.ModuleList(nn.Conv1d(1, 1, 2 * s + 1, padding=s, bias=False) for s in self.scales)
        for conv, s in zip(self.convs, self.scales):
            nn.init.constant_(cast(nn.Conv1d, conv).weight, 1.0 / (2 * s + 1))

    @property
    def hop_length(self) -> int:
        return math.prod(self.scales)

    def frame_span(self, t: int) -> tuple[int, int]:
        """First and last frame (before clipping to the input) that sample t depends on."""
        lo = hi = t
        for s in reversed(self.scales):
            lo, hi = lo // s - 1, hi // s + 1
        return lo, hi

    @property
    def lookahead(self) -> int:
        """Most frames after ``t // hop`` that any sample t depends on."""
        return max(self.frame_span(r)[1] for r in range(self.hop_length))

    @property
    def lookbehind(self) -> int:
        """Most frames before ``t // hop`` that any sample t depends on."""
        return max(-self.frame_span(r)[0] for r in range(self.hop_length))

    def forward(self, c: Tensor) -> Tensor:
        C = c.shape[1]
        x = c
        for s, conv in zip(self.scales, self.convs):
            # the shared (1, 1, 2s+1) kernel as a depthwise convolution over (B, C, T): the same
            # numbers as convolving (B * C, 1, T), about 20x faster on the CPU
            x = F.conv1d(x.repeat_interleave(s, dim=2), cast(nn.Conv1d, conv).weight.expand(C, 1, -1), padding=s, groups=C)
        return x


class SpeakerEmbedding(nn.Module):
    """Speaker ids (B,) long -> (B, channels, 1), a vector that broadcasts over time."""

    def __init__(self, n_speakers: int, channels: int) -> None:
        super().__init__()
        self.n_speakers = n_speakers
        self.embed = nn.Embedding(n_speakers, channels)

    def forward(self, g: Tensor) -> Tensor:
        if g.dim() != 1 or g.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"speaker ids must be a (B,) integer tensor, got {tuple(g.shape)} {g.dtype}")
        if g.numel() and (int(g.min()) < 0 or int(g.max()) >= self.n_speakers):
            raise ValueError(f"speaker ids must be in 0..{self.n_speakers - 1}, got {g.tolist()}")
        return self.embed(g.long()).unsqueeze(2)
