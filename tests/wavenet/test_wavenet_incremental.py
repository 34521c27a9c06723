"""Incremental generation: teacher-forced steps equal the full forward pass; temperature 0 is a fixed point;
the torch step with the stream's uniforms reproduces WaveNet.generate (the engine)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from wavenet_helpers import (
    HOP,
    case_kwargs,
    inputs,
    quiet_excitation,
    teacher_forced_steps,
    tiny_model,
)

from wavekit.core.conv import has_weight_norm
from wavekit.generate.draw import KINDS, draw
from wavekit.wavenet import IncrementalWaveNet

F64 = torch.float64


@pytest.mark.parametrize("kernel_size", [2, 3])
def test_teacher_forced_steps_equal_the_full_forward(case, kernel_size):
    model = tiny_model(kernel_size=kernel_size, **case_kwargs(case))
    wav, c, g = inputs(model, 2, 10 * HOP)  # 60 samples: past the receptive field (15 or 29, + 6 with LPC)
    inc = IncrementalWaveNet(model)
    with torch.no_grad():
        full = model(wav, c, g)
    steps = teacher_forced_steps(inc, model, wav, c, g)
    assert steps.shape == full.shape
    assert torch.allclose(steps, full, atol=1e-5, rtol=0)
    assert has_weight_norm(model) and not has_weight_norm(inc.model)  # folded on a copy only


def test_temperature_zero_is_a_fixed_point_of_forward_then_mode(case):
    model = tiny_model(F64, kernel_size=3, **case_kwargs(case))
    if model.config.source_filter:
        quiet_excitation(model)
    _, c, g = inputs(model, 2, 12 * HOP)
    wav = model.generate(length=12 * HOP if c is None else None, c=c, g=g, temperature=0.0, batch_size=2)
    assert wav.shape == (2, 12 * HOP) and wav.dtype == F64
    assert wav.abs().max() <= 1.0
    with torch.no_grad():
        mode = model.distribution.mode(model(wav, c, g))
    assert torch.equal(mode, model.targets(wav, c))


@pytest.mark.parametrize("output,excitation", [("mulaw", "none"), ("mol", "none"), ("gaussian", "none"),
                                               ("mulaw", "lpc"), ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_seeded_streams_equal_their_solo_runs(output, excitation):
    model = tiny_model(output=output, cin_channels=6, gin_channels=4, excitation=excitation)
    _, c, g = inputs(model, 3, 8 * HOP)
    batch = model.generate(c=c, g=g, seed=[11, 12, 13])
    assert batch.shape == (3, 8 * HOP)
    for b, seed in enumerate((11, 12, 13)):
        solo = model.generate(c=c[b : b + 1], g=g[b : b + 1], seed=seed)
        assert torch.allclose(batch[b : b + 1], solo, atol=1e-6)
    assert torch.equal(model.generate(c=c, g=g, seed=11), model.generate(c=c, g=g, seed=[11, 12, 13]))
    assert not torch.equal(batch[0], batch[1])  # different seeds, different samples


def _reference_loop(model, c, g, length: int, temperature: float, seed: int) -> torch.Tensor:
    """One stream sampled with the plain torch loop: IncrementalWaveNet.step + the stream's uniforms."""
    cfg = model.config
    inc = IncrementalWaveNet(model)
    cond = inc.precompute(c, g, length)
    lpc = inc.lpc_rows(c, length)
    u = torch.from_numpy(np.random.default_rng(seed).random((length, 3)))
    state = inc.init_state(1)
    x = inc.silence(1)
    temp = torch.full((1,), temperature, dtype=torch.float64)
    kw = dict(kind=KINDS[cfg.output], n_classes=cfg.quantization_channels if cfg.output == "mulaw" else cfg.bins,
              mixtures=cfg.mixtures, log_scale_min=cfg.log_scale_min)
    out = []
    for t in range(length):
        params = inc.step(x, cond[t if cond.shape[0] > 1 else 0], state, None if lpc is None else lpc[t])
        v = draw(params, temp, u[t : t + 1], **kw)
        if cfg.source_filter:  # the drawn excitation class -> the waveform sample, fed back
            x = inc.next_sample(v, state)
            out.append(x)
        else:
            x = v if cfg.output == "mulaw" else v.to(x.dtype)
            out.append(v)
    return torch.stack(out, dim=1)


@pytest.mark.parametrize("output,excitation", [("mulaw", "none"), ("mol", "none"), ("gaussian", "none"),
                                               ("mulaw", "lpc"), ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_torch_step_with_stream_uniforms_reproduces_generate(output, excitation):
    """One sampling convention: the torch reference loop and the engine's compiled kernel agree in float64."""
    model = tiny_model(F64, output=output, cin_channels=6, gin_channels=4, kernel_size=3, excitation=excitation)
    _, c, g = inputs(model, 2, 10 * HOP)
    wav = model.generate(c=c, g=g, seed=[5, 9], temperature=0.8)
    for b, seed in enumerate((5, 9)):
        ref = _reference_loop(model, c[b : b + 1], g[b : b + 1], 10 * HOP, 0.8, seed)
        if output == "mulaw" and excitation == "none":
            assert torch.equal(model.targets(wav[b : b + 1]), ref)  # identical integer samples
        else:
            assert torch.allclose(wav[b : b + 1], ref, rtol=0, atol=1e-9)


def test_reset_slots_restarts_a_stream():
    model = tiny_model(output="mol", kernel_size=3)
    wav, _, _ = inputs(model, 2, 40)
    inc = IncrementalWaveNet(model)
    x = model.targets(wav)
    cond = inc.precompute(length=40)[0]
    state = inc.init_state(2)
    prev = inc.silence(2)
    for t in range(17):
        inc.step(prev, cond.expand(2, -1, -1), state)
        prev = x[:, t]
    inc.reset_slots(state, torch.tensor([False, True]))
    prev = torch.stack([x[0, 16], inc.silence(1)[0]])
    outs = []
    for t in range(17, 40):
        outs.append(inc.step(prev, cond.expand(2, -1, -1), state))
        prev = torch.stack([x[0, t], x[1, t - 17]])
    outs = torch.stack(outs, dim=2)
    with torch.no_grad():
        full = model(wav)
        fresh = model(wav[1:, :23])
    assert torch.allclose(outs[0], full[0, :, 17:], atol=1e-5)
    assert torch.allclose(outs[1], fresh[0], atol=1e-5)


def test_generate_checks_its_arguments_and_keeps_the_model():
    model = tiny_model(cin_channels=6).train()
    _, c, _ = inputs(model, 1, 5 * HOP)
    with pytest.raises(ValueError, match="exceeds"):
        model.generate(length=5 * HOP + 1, c=c)
    with pytest.raises(ValueError, match="pass c"):
        model.generate(length=10)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(c=c, temperature=-1.0)
    assert model.generate(length=7, c=c, seed=0).shape == (1, 7)
    assert model.training and has_weight_norm(model)
    unconditional = tiny_model(output="gaussian")
    with pytest.raises(ValueError, match="length"):
        unconditional.generate()
    assert unconditional.generate(length=9, batch_size=3, seed=0).shape == (3, 9)
