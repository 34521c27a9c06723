"""Tiny WaveNet configs and inputs for fast property tests (imported by the tests of this folder)."""

from __future__ import annotations

import torch

from wavekit.audio.features import MelConfig
from wavekit.audio.lpc import LPCConfig
from wavekit.wavenet import IncrementalWaveNet, WaveNet, WaveNetConfig

OUTPUTS = ["mulaw", "mol", "gaussian"]
# (cin_channels, gin_channels): none, local, global, both
CONDITIONING = [(0, 0), (6, 0), (0, 4), (6, 4)]
HOP = 6  # upsample scales (2, 3)
SF_ORDER = 5  # LPC order of the tiny source-filter models
PITCH_HARMONICS = 2  # sine-source harmonics of the tiny pitch models
LONG_TERM = 0.9  # long-term predictor gain of the tiny "ltp" models
# (output, cin, gin, excitation): every plain combination, and the source-filter mode (mu-law, with a mel);
# excitation "pitch" here means the source-filter mode with a sine source (pitch_harmonics > 0), "ltp"
# the sine source and the long-term predictor (long_term > 0)
CASES = [(o, cin, gin, "none") for o in OUTPUTS for cin, gin in CONDITIONING] + [
    ("mulaw", 6, 0, "lpc"), ("mulaw", 6, 4, "lpc"), ("mulaw", 6, 0, "pitch"), ("mulaw", 6, 4, "pitch"),
    ("mulaw", 6, 4, "ltp"),
]


def case_id(case: tuple) -> str:
    output, cin, gin, excitation = case
    cond = {(0, 0): "uncond", (6, 0): "local", (0, 4): "global", (6, 4): "local+global"}[(cin, gin)]
    return f"{output}-{cond}" + ("" if excitation == "none" else f"-{excitation}")


def case_kwargs(case: tuple) -> dict:
    output, cin, gin, excitation = case
    return {"output": output, "cin_channels": cin, "gin_channels": gin, "excitation": excitation}


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
    if kw.get("excitation") in ("pitch", "ltp"):  # the source-filter mode with a sine source
        kw.setdefault("long_term", LONG_TERM if kw["excitation"] == "ltp" else 0.0)
        kw["excitation"] = "lpc"
        kw.setdefault("pitch_harmonics", PITCH_HARMONICS)
    if kw["gin_channels"] and "n_speakers" not in overrides:
        kw["n_speakers"] = 5
    if kw.get("excitation") == "lpc":  # a mel that describes c: cin bands at the upsampling hop
        kw.setdefault("lpc", LPCConfig(order=SF_ORDER))
        hop = 1
        for s in kw["upsample_scales"]:
            hop *= s
        kw.setdefault("lpc_mel", MelConfig(n_mels=kw["cin_channels"], hop_length=hop, n_fft=32, win_length=32,
                                           fmin=0.0, fmax=8000.0))
    return WaveNetConfig(**kw)


def tiny_model(dtype: torch.dtype = torch.float32, seed: int = 0, **overrides) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(tiny_config(**overrides)).to(dtype)
    with torch.no_grad():  # move weight-norm magnitudes off their init so folding is really tested
        for name, p in model.named_parameters():
            if name.endswith("original0"):
                p.mul_(torch.empty_like(p).uniform_(0.7, 1.4))
        if model.source_filter is not None:  # generic tables, not the smooth initial ramp: that is ~0 at the
            embed = model.source_filter.embed  # small values the tests feed, and can turn every head ReLU off
            embed.copy_(torch.randn_like(embed) / 3**0.5)
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


def teacher_forced_steps(inc: IncrementalWaveNet, model: WaveNet, wav, c, g) -> torch.Tensor:
    """Params (B, P, T) from stepping ``inc`` with the true previous values (samples in the source-filter mode)."""
    B, T = wav.shape
    x = wav.to(inc.dtype) if model.config.source_filter else model.targets(wav)
    prev = torch.cat([inc.silence(B).unsqueeze(1), x[:, :-1]], dim=1)
    cond = inc.precompute(c, g, T)
    lpc = inc.lpc_rows(c, T)
    state = inc.init_state(B)
    steps = [
        inc.step(prev[:, t], cond[t if cond.shape[0] > 1 else 0], state, None if lpc is None else lpc[t])
        for t in range(T)
    ]
    return torch.stack(steps, dim=2)


def quiet_excitation(model: WaveNet) -> None:
    """Favour small excitation classes, as a trained source-filter model does.

    An untrained model's most likely excitation is often near +-1, so the generated waveform
    clips at +-1, and a clipped sample's excitation is not the drawn one (the documented
    exception of the fixed point). A peak at the silent class in the last bias prevents that.
    """
    q = model.config.quantization_channels
    k = torch.arange(q, dtype=model.head[-1].bias.dtype)
    with torch.no_grad():
        model.head[-1].bias.add_(-0.05 * (k - q // 2) ** 2)
