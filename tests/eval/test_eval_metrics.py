"""Metric properties on real speech, and agreement with independent computations."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from wavekit.eval.metrics import (
    NLLResult,
    SpectralConfig,
    align_frames,
    bits_per_dim,
    held_out_nll,
    log_spectral_distance,
    mel_cepstral_distortion,
    mel_cepstrum,
    snr_db,
)

CFG = SpectralConfig()


def _noisy(x: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    return x + std * np.random.default_rng(seed).standard_normal(len(x))


def _numpy_stft_mag(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT| (frames, bins) by hand: zero padding n_fft/2 both sides, periodic Hann, rfft."""
    x = np.pad(np.asarray(x, np.float64), n_fft // 2)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(x[idx] * window, axis=1))


def _independent_mcd(ref: np.ndarray, gen: np.ndarray) -> float:
    """MCD of equal-length signals written out from the definitions (no wavekit code)."""
    fb = librosa.filters.mel(sr=CFG.sample_rate, n_fft=CFG.n_fft, n_mels=CFG.n_mels, fmin=CFG.fmin, fmax=CFG.fmax)
    n = CFG.n_mels
    k = np.arange(1, CFG.n_coeffs + 1)[:, None]
    cos = np.cos(np.pi * k * (np.arange(n)[None, :] + 0.5) / n) / n  # c_k = 1/N sum_n lnA_n cos(pi k (n+1/2)/N)

    def ceps(x):
        power = _numpy_stft_mag(x, CFG.n_fft, CFG.hop_length) ** 2  # (frames, bins)
        log_amp = 0.5 * np.log(np.maximum(power @ fb.T, CFG.mel_floor))  # (frames, n_mels)
        return log_amp @ cos.T  # (frames, n_coeffs)

    diff = ceps(ref) - ceps(gen)
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * np.sum(diff**2, axis=1))))


def test_mcd_of_identical_speech_is_zero(speech_pair):
    m, v, _ = speech_pair
    assert mel_cepstral_distortion(m, m) == 0.0
    assert mel_cepstral_distortion(v, v, align="dtw") == 0.0


def test_mcd_grows_monotonically_with_noise(speech_pair):
    m, _, _ = speech_pair
    values = [mel_cepstral_distortion(m, _noisy(m, s)) for s in (0.0005, 0.002, 0.008, 0.03, 0.1)]
    assert all(a < b for a, b in zip(values, values[1:])), values
    assert values[0] > 0.0


def test_mcd_is_symmetric(speech_pair):
    m, _, _ = speech_pair
    noisy = _noisy(m, 0.01)
    assert mel_cepstral_distortion(m, noisy) == pytest.approx(mel_cepstral_distortion(noisy, m), rel=1e-12)
    shifted = noisy[700:]  # different lengths -> DTW path
    assert mel_cepstral_distortion(m, shifted) == pytest.approx(mel_cepstral_distortion(shifted, m), rel=1e-9)


def test_mcd_matches_independent_computation(speech_pair):
    m, v, _ = speech_pair
    n = min(len(m), len(v))
    for gen in (_noisy(m, 0.01)[:n], v[:n]):
        ours = mel_cepstral_distortion(m[:n].astype(np.float64), gen, align="time")
        assert ours == pytest.approx(_independent_mcd(m[:n], gen), rel=1e-6)


def test_mel_cepstrum_shape_and_c0_excluded(speech_pair):
    m, _, _ = speech_pair
    c = mel_cepstrum(m)
    assert c.shape == (1 + len(m) // CFG.hop_length, CFG.n_coeffs)
    # A gain change only moves c0 (excluded), so the cepstra stay equal (away from the floor).
    cfg = SpectralConfig(mel_floor=1e-30)
    x = m.astype(np.float64)
    np.testing.assert_allclose(mel_cepstrum(0.25 * x, cfg), mel_cepstrum(x, cfg), atol=1e-9)


def test_dtw_makes_mcd_robust_to_shift_and_stretch(speech_pair):
    m, _, _ = speech_pair
    shifted = m[1000:]  # 62.5 ms, not a whole number of hops
    stretched = librosa.effects.time_stretch(m, rate=1.15)
    for other, ratio in ((shifted, 0.2), (stretched, 0.6)):
        no_align = mel_cepstral_distortion(m, other, align="time")
        with_dtw = mel_cepstral_distortion(m, other, align="dtw")
        assert with_dtw < ratio * no_align, (with_dtw, no_align)
    # "auto" picks DTW for unequal lengths
    assert mel_cepstral_distortion(m, shifted) == mel_cepstral_distortion(m, shifted, align="dtw")


def test_align_frames_dtw_pairs_a_delayed_copy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 4))
    b = np.concatenate([a[:1].repeat(5, axis=0), a])  # a delayed by 5 frames (first frame held)
    pa, pb = align_frames(a, b, "dtw")
    np.testing.assert_array_equal(pa, pb)
    with pytest.raises(ValueError, match="align"):
        align_frames(a, b, "nearest")


def test_lsd_zero_positive_and_matches_direct_formula(speech_pair):
    m, v, _ = speech_pair
    assert log_spectral_distance(m, m) == 0.0
    n = min(len(m), len(v))
    gen = _noisy(m, 0.003)[:n]
    ref = m[:n].astype(np.float64)
    db = [20 * np.log10(np.maximum(_numpy_stft_mag(x, CFG.n_fft, CFG.hop_length), CFG.mag_floor)) for x in (ref, gen)]
    direct = float(np.mean(np.sqrt(np.mean((db[0] - db[1]) ** 2, axis=1))))
    ours = log_spectral_distance(ref, gen, align="time")
    assert ours > 0.0
    assert ours == pytest.approx(direct, rel=1e-6)
    assert log_spectral_distance(ref, _noisy(m, 0.03)[:n]) > ours


def test_snr_against_hand_formula(speech_pair):
    m, _, _ = speech_pair
    assert snr_db(m, 0.5 * m) == pytest.approx(20 * math.log10(2.0), rel=1e-6)
    noise = 0.01 * np.random.default_rng(3).standard_normal(len(m))
    expected = 10 * math.log10(np.sum(m.astype(np.float64) ** 2) / np.sum(noise**2))
    assert snr_db(m, m + noise) == pytest.approx(expected, rel=1e-6)
    assert snr_db(m, m) == math.inf


def test_bits_per_dim_conversion():
    assert bits_per_dim(math.log(256.0)) == pytest.approx(8.0, rel=1e-12)
    assert bits_per_dim(1.0) == pytest.approx(1.0 / math.log(2.0), rel=1e-12)
    r = NLLResult(total_nats=3 * math.log(2.0) * 10, count=10)
    assert r.nats_per_dim == pytest.approx(3 * math.log(2.0))
    assert r.bits_per_dim == pytest.approx(3.0)


class _TableModel(torch.nn.Module):
    """log p(x) = log_table[x] elementwise; records whether it was in eval mode when called."""

    def __init__(self, probs: torch.Tensor):
        super().__init__()
        self.register_buffer("log_table", probs.log())
        self.modes: list[bool] = []

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        return self.log_table[x]


def test_held_out_nll_weights_batches_by_dimensions():
    probs = torch.tensor([0.5, 0.25, 0.125, 0.125], dtype=torch.float64)
    model = _TableModel(probs)
    model.train()
    b1 = {"x": torch.tensor([[0, 1, 2]])}  # 3 dims
    b2 = {"x": torch.tensor([[3], [3], [0]])}  # 3 dims, other shape
    b3 = {"x": torch.tensor([[1, 1, 1, 1]])}  # 4 dims
    res = held_out_nll(model, [b1, b2, b3])
    values = [0, 1, 2, 3, 3, 0, 1, 1, 1, 1]
    expected = -sum(math.log(float(probs[i])) for i in values) / len(values)
    assert res.count == 10
    assert res.nats_per_dim == pytest.approx(expected, rel=1e-12)
    assert res.bits_per_dim == pytest.approx(expected / math.log(2.0), rel=1e-12)
    assert model.modes == [False, False, False] and model.training  # evaluated in eval mode, mode restored
    with pytest.raises(ValueError, match="no data"):
        held_out_nll(model, [])
