"""Tiny WaveNet configs and inputs for fast property tests (imported by the tests of this folder)."""

from __future__ import annotations

import torch

from wavekit.wavenet import WaveNet, WaveNetConfig

OUTPUTS = ["mulaw", "mol", "gaussian"]
# (cin_channels, gin_channels): none, local, global, both
CONDITIONING = [(0, 0), (6, 0), (0, 4), (6, 4)]
HOP = 6  # upsample scales (2, 3)


def tiny_config(**overrides) -> WaveNetConfig:
    kw = dict(
        layers=6,
        stacks=2,
        residual_channels=8,
        gate_channels=10,
        skip_channels=8,
        kernel_size=2,
        output="mulaw",
        quantization_channels=64,
        mixtures=3,
        cin_channels=0,
        gin_channels=0,
        upsample_scales=(2, 3),
        dropout=0.0,
    )
    kw.update(overrides)
    if kw["gin_channels"] and "n_speakers" not in overrides:
        kw["n_speakers"] = 5
    return WaveNetConfig(**kw)


def tiny_model(dtype: torch.dtype = torch.float32, seed: int = 0, **overrides) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(tiny_config(**overrides)).to(dtype)
    with torch.no_grad():  # move weight-norm magnitudes off their init so folding is really tested
        for name, p in model.named_parameters():
            if name.endswith("original0"):
                p.mul_(torch.empty_like(p).uniform_(0.7, 1.4))
    return model.eval()


def inputs(model: WaveNet, batch: int, length: int, seed: int = 1):
    """A random waveform (B, T) and matching c (B, cin, frames) / g (B,) or None."""
    gen = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    cfg = model.config
    wav = (torch.rand(batch, length, generator=gen, dtype=dtype) * 2 - 1) ** 3
    c = torch.randn(batch, cfg.cin_channels, -(-length // cfg.hop_length), generator=gen, dtype=dtype) if cfg.cin_channels else None
    g = torch.randint(0, cfg.n_speakers, (batch,), generator=gen) if cfg.gin_channels else None
    return wav, c, g
