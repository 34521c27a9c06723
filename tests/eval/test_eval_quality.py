"""STOI, wide-band PESQ, F0 RMSE and V/UV disagreement against cases whose answers are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from wavekit.eval.metrics import SpectralConfig, speech_metrics
from wavekit.eval.perceptual import pesq_wb, stoi
from wavekit.eval.pitch import f0_track, pitch_errors

SR = 16000
CFG = SpectralConfig()
PITCH = {"f0_min": CFG.f0_min, "f0_max": CFG.f0_max, "frame_length": CFG.n_fft, "hop_length": CFG.hop_length}


def _with_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    n = np.random.default_rng(seed).standard_normal(len(x))
    n *= math.sqrt(np.sum(x.astype(np.float64) ** 2) / np.sum(n**2)) / 10 ** (snr_db / 20)
    return x + n


def _harmonic_tone(f0: float, seconds: float = 1.5, harmonics: int = 8) -> np.ndarray:
    """A sawtooth-like harmonic tone (1/h amplitudes) with 0.3 s of silence at each end."""
    t = np.arange(int(seconds * SR)) / SR
    tone = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, harmonics + 1))
    pad = np.zeros(int(0.3 * SR))
    return 0.3 * np.concatenate([pad, tone / np.max(np.abs(tone)), pad])


def test_identical_speech_scores_perfectly(speech_pair):
    m = speech_pair[0].astype(np.float64)
    res = speech_metrics(m, m)
    assert res["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert res["pesq"] > 4.6  # the top of the wide-band MOS-LQO scale (4.64)
    assert res["f0_rmse_cents"] == 0.0 and res["vuv_error"] == 0.0
    _, voiced = f0_track(m, SR, **PITCH)
    assert 0.3 < voiced.mean() < 0.95  # real speech: voiced and unvoiced frames, so the zero above means something


def test_scores_fall_monotonically_with_the_noise_level(speech_pair):
    m = speech_pair[0].astype(np.float64)
    snrs = (30.0, 20.0, 10.0, 0.0)
    rows = [speech_metrics(m, _with_noise(m, s, seed=i)) for i, s in enumerate(snrs)]
    for s, r in zip(snrs, rows):
        assert r["snr_db"] == pytest.approx(s, abs=0.01)  # the noise was added at this SNR
    st, pq = [r["stoi"] for r in rows], [r["pesq"] for r in rows]
    vuv = [r["vuv_error"] for r in rows]
    assert all(a > b for a, b in itertools.pairwise(st)), st
    assert all(a > b for a, b in itertools.pairwise(pq)), pq
    assert st[0] > 0.93 and 0.3 < st[-1] < 0.85  # 30 dB: barely touched; 0 dB: clearly harmed, still speech
    assert pq[0] > 2.8 and pq[-1] < 1.5  # measured on this utterance: 3.08 at 30 dB, 1.08 at 0 dB
    assert vuv[0] <= 0.02 and vuv[-1] > vuv[0]
    assert rows[0]["f0_rmse_cents"] < 10.0  # at 30 dB the pitch track is essentially untouched


@pytest.mark.parametrize("cents", [-200.0, 50.0, 100.0, 300.0])
def test_f0_rmse_equals_a_known_pitch_shift(cents):
    f0 = 150.0
    ref = _harmonic_tone(f0)
    gen = _harmonic_tone(f0 * 2 ** (cents / 1200))
    res = pitch_errors(*f0_track(ref, SR, **PITCH), *f0_track(gen, SR, **PITCH))
    assert res["f0_rmse_cents"] == pytest.approx(abs(cents), abs=8.0)  # pyin's grid is 10 cents
    assert res["vuv_error"] < 0.05
    assert res["voiced_both"] > 0.6 * 1.5 * SR / CFG.hop_length  # most of the tone was compared


def test_vuv_error_counts_frames_whose_voicing_differs():
    tone = _harmonic_tone(200.0)
    f0_t, v_t = f0_track(tone, SR, **PITCH)
    noise = np.random.default_rng(0).standard_normal(len(tone)) * 0.1
    f0_n, v_n = f0_track(noise, SR, **PITCH)
    assert v_n.mean() < 0.05  # white noise is unvoiced
    res = pitch_errors(f0_t, v_t, f0_n, v_n)
    assert res["vuv_error"] == pytest.approx(np.mean(v_t != v_n))
    assert res["vuv_error"] == pytest.approx(v_t.mean(), abs=0.05)  # every voiced frame of the tone disagrees
    assert math.isnan(res["f0_rmse_cents"]) or res["voiced_both"] < 3


def test_pesq_resamples_other_rates_and_stoi_cuts_to_the_common_length(speech_pair):
    import soxr

    m = speech_pair[0].astype(np.float64)
    noisy = _with_noise(m, 10.0, seed=5)
    at16 = pesq_wb(m, noisy, SR)
    at22 = pesq_wb(soxr.resample(m, SR, 22050), soxr.resample(noisy, SR, 22050), 22050)
    assert at22 == pytest.approx(at16, abs=0.15)
    assert stoi(m, np.concatenate([m, np.zeros(800)]), SR) == pytest.approx(1.0, abs=1e-6)


def test_pesq_of_silence_is_nan_not_an_exception():
    z = np.zeros(SR)
    assert math.isnan(pesq_wb(z, z, SR))


def test_different_lengths_pair_pitch_frames_along_the_dtw_path(speech_pair):
    """A copy delayed by 0.25 s: frame-by-frame pairing would misalign pitch; the DTW path must not."""
    m = speech_pair[0].astype(np.float64)
    delayed = np.concatenate([np.zeros(SR // 4), m])
    res = speech_metrics(m, delayed)  # auto -> dtw (different frame counts)
    assert math.isnan(res["stoi"])  # STOI needs time alignment; it is not faked
    assert res["f0_rmse_cents"] < 60.0 and res["vuv_error"] < 0.1  # 0.25 s is not a whole number of hops
    assert res["pesq"] > 4.0  # PESQ finds the delay itself
    naive = pitch_errors(*f0_track(m, SR, **PITCH), *f0_track(delayed, SR, **PITCH))
    assert naive["vuv_error"] > res["vuv_error"] + 0.1
    assert not naive["f0_rmse_cents"] < 2 * res["f0_rmse_cents"]  # (nan, no overlap, also passes)
