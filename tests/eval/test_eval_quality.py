"""STOI, wide-band PESQ, F0 RMSE, V/UV disagreement and harmonic contrast against cases whose answers are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from wavekit.eval.metrics import SpectralConfig, log_magnitude_db, speech_metrics
from wavekit.eval.perceptual import pesq_wb, stoi
from wavekit.eval.pitch import BETWEEN, ON_HARMONIC, f0_track, harmonic_contrast, harmonic_figures, pitch_errors

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
    assert res["harmonic_db"] == res["harmonic_ref_db"] and 3.0 < res["harmonic_db"] < 12.0  # real speech: 6-8 dB
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


def test_too_short_for_stoi_is_nan_not_a_fake_score(speech_pair):
    m = speech_pair[0].astype(np.float64)[: SR // 5]  # 0.2 s: fewer frames than one STOI segment
    assert math.isnan(stoi(m, m, SR))


def test_harmonic_contrast_is_the_power_ratio_of_the_bins_it_names():
    """A hand-made spectrum: bins on the harmonics of 200 Hz at +10 dB power, bins between them at 0 dB,
    the rest at random levels: the contrast is exactly 10 dB; in unvoiced frames it is nan."""
    n_fft = 1024
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    rng = np.random.default_rng(0)
    spec = rng.uniform(-40.0, 40.0, (3, len(freqs)))
    phase = (freqs / 200.0) % 1.0
    spec[:, (phase < ON_HARMONIC) | (phase > 1 - ON_HARMONIC)] = 10.0  # 20 log10 |X| of power +10 dB
    spec[:, np.abs(phase - 0.5) < BETWEEN] = 0.0
    h = harmonic_contrast(spec, np.array([200.0, np.nan, 200.0]), SR, n_fft)
    np.testing.assert_allclose(h[[0, 2]], 10.0, atol=1e-9)
    assert math.isnan(h[1])
    figs = harmonic_figures(h, h[::-1] + 1.0)
    assert figs == {"harmonic_db": pytest.approx(11.0), "harmonic_ref_db": pytest.approx(10.0)}
    assert math.isnan(harmonic_figures(h, np.full(3, np.nan))["harmonic_db"])
    with pytest.raises(ValueError, match="spec_db"):
        harmonic_contrast(spec[:, :10], np.full(3, 200.0), SR, n_fft)


def _band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    spec[(f < lo) | (f >= hi)] = 0
    return np.fft.irfft(spec, len(x))


def test_harmonics_above_1_khz_score_high_and_noise_there_scores_zero():
    """A 200 Hz tone with harmonics to 4 kHz: tens of dB. The same tone below 1 kHz over white noise above
    (what a vocoder whose excitation is noise up high makes): about 0 dB, as white noise has no preference
    for harmonic bins; noise added to the full tone lowers the contrast step by step."""
    tone = _harmonic_tone(200.0, harmonics=20)
    f0, voiced = f0_track(tone, SR, **PITCH)
    full = harmonic_contrast(log_magnitude_db(tone, CFG)[: len(f0)], f0, SR, CFG.n_fft)
    assert voiced.sum() > 50 and np.nanmean(full) > 25.0
    noise = _band(np.random.default_rng(1).standard_normal(len(tone)), 1000.0, SR / 2)
    whisper_top = _band(tone, 0.0, 1000.0) + 0.05 * noise
    res = speech_metrics(tone, whisper_top)
    assert res["voiced_both"] > 50 and res["harmonic_ref_db"] > 25.0
    assert abs(res["harmonic_db"]) < 1.0
    levels = [speech_metrics(tone, _with_noise(tone, snr, seed=2))["harmonic_db"] for snr in (30.0, 20.0, 10.0)]
    assert all(a > b for a, b in itertools.pairwise(levels)), levels
