"""The source-filter mode's sine source (``pitch_harmonics``): definition, inputs, and where it comes from."""

from __future__ import annotations

import math

import pytest
import torch
from wavenet_helpers import HOP, PITCH_HARMONICS, inputs, tiny_model

from wavekit.audio.pitch import free_running_phase, voicing_per_sample
from wavekit.wavenet import IncrementalWaveNet
from wavekit.wavenet.source_filter import sine_source

F64 = torch.float64


def test_sine_source_is_the_voiced_harmonics_of_the_phase():
    phase = torch.tensor([[0.0, 0.25, 0.5, 0.125, 0.9]], dtype=F64)
    voicing = torch.tensor([[1.0, 1.0, 0.5, 0.0, 1.0]], dtype=F64)
    src = sine_source(phase, voicing, 3)
    assert src.shape == (1, 5, 6)
    for t in range(5):
        for k in range(1, 4):
            angle = 2 * math.pi * k * float(phase[0, t])
            v = float(voicing[0, t])
            assert abs(float(src[0, t, k - 1]) - v * math.sin(angle)) < 1e-12
            assert abs(float(src[0, t, 3 + k - 1]) - v * math.cos(angle)) < 1e-12
    # the phase is in cycles: a whole number of cycles later gives the same source, however long the utterance
    assert torch.allclose(sine_source(phase + 1000.0, voicing, 3), src, atol=1e-9)


def test_the_source_conditions_every_layer_and_is_silent_where_unvoiced():
    """2H conditioning channels after the mel; with voicing 0 the phase cannot matter, with voicing 1 it does."""
    model = tiny_model(F64, cin_channels=6, gin_channels=4, excitation="pitch")
    for block in model.blocks:
        assert block.cond.weight.shape[1] == 6 + 2 * PITCH_HARMONICS + 4
    wav, c, g = inputs(model, 2, 8 * HOP)
    T = wav.shape[1]
    zero, one = torch.zeros(2, T, dtype=F64), torch.ones(2, T, dtype=F64)
    p1, p2 = torch.rand(2, T, dtype=F64), torch.rand(2, T, dtype=F64)
    with torch.no_grad():
        assert torch.equal(model(wav, c, g, phase=p1, voicing=zero), model(wav, c, g, phase=p2, voicing=zero))
        assert not torch.allclose(model(wav, c, g, phase=p1, voicing=one), model(wav, c, g, phase=p2, voicing=one))


def test_without_phase_and_voicing_the_model_takes_them_from_the_mel():
    """forward(wav, c) == forward(wav, c, the mel's own phase and voicing); generation conditions on the same source."""
    model = tiny_model(F64, cin_channels=6, excitation="pitch")
    wav, c, _ = inputs(model, 2, 8 * HOP)
    T = wav.shape[1]
    phase, voicing = model.source_filter.mel_source(c, T)
    assert float(voicing.max()) == 1.0 and float(voicing.min()) == 0.0  # the (fixed) track has both
    # they are what wavekit.audio.pitch computes from the estimated track of each mel
    import wavekit.wavenet.source_filter as sfm

    f0, voiced = sfm.f0_from_mel(c[0].numpy(), model.config.lpc_mel)
    assert torch.allclose(phase[0], torch.as_tensor(free_running_phase(f0, T, model.config.lpc_mel)))
    assert torch.allclose(voicing[0], torch.as_tensor(voicing_per_sample(voiced, T, HOP), dtype=F64))
    with torch.no_grad():
        assert torch.equal(model(wav, c), model(wav, c, phase=phase, voicing=voicing))
        cond = IncrementalWaveNet(model).conditioning_input(c, None, T)  # what generation projects
    assert cond.shape == (2, 6 + 2 * PITCH_HARMONICS, T)
    assert torch.allclose(cond[:, 6:].transpose(1, 2), sine_source(phase, voicing, PITCH_HARMONICS))


def test_phase_and_voicing_are_checked():
    model = tiny_model(cin_channels=6, excitation="pitch")
    wav, c, _ = inputs(model, 2, 4 * HOP)
    with pytest.raises(ValueError, match="both"):
        model(wav, c, phase=torch.zeros_like(wav))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(wav, c, phase=torch.zeros(2, 3), voicing=torch.zeros(2, 3))
    plain = tiny_model(cin_channels=6, excitation="lpc")
    with pytest.raises(ValueError, match="pitch_harmonics"):
        plain(wav, c, phase=torch.zeros_like(wav), voicing=torch.zeros_like(wav))
