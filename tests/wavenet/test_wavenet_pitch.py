"""The source-filter mode's sine source (``pitch_harmonics``): definition, inputs, and where it comes from."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from wavenet_helpers import HOP, PITCH_HARMONICS, inputs, tiny_model

from wavekit.audio.pitch import free_running_phase, voicing_per_sample
from wavekit.wavenet import IncrementalWaveNet
from wavekit.wavenet.config import LONG_TERM_HALF
from wavekit.wavenet.source_filter import long_term_prediction, long_term_taps, pitch_lags, sine_source

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


# ---- the long-term predictor (long_term) -----------------------------------------------------------


def test_long_term_taps_are_a_linear_phase_unit_gain_low_pass():
    h = long_term_taps(16000)
    assert h.shape == (2 * LONG_TERM_HALF + 1,) and abs(h.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(h, h[::-1], atol=1e-15)  # symmetric: a delay of exactly D samples
    response = lambda f: abs(np.sum(h * np.exp(-2j * np.pi * f / 16000 * np.arange(len(h)))))
    assert response(150.0) > 0.97 and response(500.0) > 0.85  # the fundamental and the first harmonics pass
    assert response(3000.0) < 0.05 and response(6000.0) < 0.05  # the noisy high band does not


def test_pitch_lags_follow_the_phase_and_stay_in_range():
    T = 2000
    t = torch.arange(T, dtype=F64)
    phase = torch.remainder(t * 200.0 / 16000, 1.0).expand(2, T)  # 200 Hz: a lag of 80 samples
    lags = pitch_lags(phase, 256, (32, 267))
    assert lags.shape == (2, T) and torch.all(lags == 80)
    assert torch.all(pitch_lags(phase, 256, (100, 267)) == 100)  # clamped
    glide = torch.remainder(torch.cumsum(torch.linspace(100, 200, T, dtype=F64) / 16000, 0), 1.0)[None]
    lag = pitch_lags(glide, 256, (32, 267))[0]
    assert float(lag[300]) == pytest.approx(16000 / (100 + 100 * 300 / T), abs=1.0) and float(lag[-300]) < float(lag[300])


def test_long_term_prediction_is_the_filtered_excitation_one_lag_back():
    gen = torch.Generator().manual_seed(0)
    e = torch.randn(2, 300, generator=gen, dtype=F64)
    lag = torch.randint(8, 60, (2, 300), generator=gen).to(F64)
    gain = torch.rand(2, 300, generator=gen, dtype=F64)
    taps = torch.as_tensor(long_term_taps(16000))
    got = long_term_prediction(e, lag, gain, taps)
    for b in range(2):
        for t in range(300):
            want = sum(float(taps[j]) * float(e[b, k]) for j in range(len(taps))
                       if (k := t - int(lag[b, t]) + LONG_TERM_HALF - j) >= 0)
            assert float(got[b, t]) == pytest.approx(float(gain[b, t]) * want, abs=1e-12)


def test_the_long_term_predictor_moves_the_modelled_excitation():
    """e of a long_term model is the LPC excitation less its long-term prediction; generation's rows carry lag and gain."""
    ltp = tiny_model(F64, cin_channels=6, excitation="ltp", long_term=0.5)
    plain = tiny_model(F64, cin_channels=6, excitation="pitch")
    wav, c, _ = inputs(ltp, 2, 24 * HOP)
    T = wav.shape[1]
    phase = torch.remainder(torch.arange(T, dtype=F64) / 40.0, 1.0).expand(2, T)  # 400 Hz: a lag of 40 samples
    voicing = (torch.arange(T) < T // 2).to(F64).expand(2, T)  # voiced, then unvoiced
    sp, p, r, _ = ltp.source_filter.signals(wav, c, phase, voicing)
    sp0, p0, e, _ = plain.source_filter.signals(wav, c)
    assert torch.equal(sp, sp0) and torch.equal(p, p0)  # the LPC's prediction (what the network embeds) is the same
    taps = torch.as_tensor(long_term_taps(16000))
    assert torch.allclose(e - r, long_term_prediction(e, torch.full_like(e, 40.0), 0.5 * voicing, taps), atol=1e-12)
    assert torch.equal(r[:, T // 2 :], e[:, T // 2 :]) and not torch.allclose(r[:, 48 : T // 2], e[:, 48 : T // 2])
    rows = ltp.source_filter.generation_rows(c, T)
    order = ltp.config.lpc.order
    assert rows.shape == (2, T, order + 2)
    mel_phase, mel_voicing = ltp.source_filter.mel_source(c, T)
    assert torch.equal(rows[..., order], pitch_lags(mel_phase, HOP, ltp.config.long_term_lags))
    assert torch.allclose(rows[..., order + 1], 0.5 * mel_voicing)


def test_long_term_is_checked():
    with pytest.raises(ValueError, match="long_term must be in"):
        tiny_model(cin_channels=6, excitation="ltp", long_term=1.0)
    with pytest.raises(ValueError, match="source-filter"):
        tiny_model(long_term=0.5)
    ltp = tiny_model(cin_channels=6, excitation="lpc", long_term=0.5)  # phase and voicing without a sine source
    wav, c, _ = inputs(ltp, 2, 4 * HOP)
    ltp(wav, c, phase=torch.zeros_like(wav), voicing=torch.zeros_like(wav))


def test_the_mel_source_is_estimated_once_for_the_sine_source_and_the_long_term_predictor(monkeypatch):
    """Both read mel_source; Griffin-Lim + pyin run once per mel, in training's forward and in generation."""
    import wavekit.wavenet.source_filter as sfm

    calls = []
    fake = sfm.f0_from_mel  # the fixed track of the autouse fixture

    def counting(log_mel, mel, pitch=None):
        calls.append(1)
        return fake(log_mel, mel, pitch)

    monkeypatch.setattr(sfm, "f0_from_mel", counting)
    model = tiny_model(F64, cin_channels=6, excitation="ltp")
    wav, c, _ = inputs(model, 2, 12 * HOP)
    with torch.no_grad():
        model(wav, c)
    assert len(calls) == 2  # one track per utterance of the batch, not one per reader
    calls.clear()
    model.generate(c=c, temperature=0.0, batch_size=2)
    assert len(calls) == 2
    # a different mel is estimated afresh
    calls.clear()
    with torch.no_grad():
        model(wav, c + 0.5)
    assert len(calls) == 2
