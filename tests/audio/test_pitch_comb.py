"""The pitch comb postfilter: what repeats every period is kept, what does not is attenuated, noise passes."""

from __future__ import annotations

import numpy as np
import pytest

from wavekit.audio import MelConfig, load_wav
from wavekit.audio.pitch_comb import PitchCombConfig, pitch_comb, pitch_correlation
from wavekit.audio.postfilter import Postfilter, mel_postfilter
from wavekit.audio.stats import FeatureStats
from wavekit.eval.metrics import SpectralConfig, log_magnitude_db
from wavekit.eval.pitch import f0_track, harmonic_contrast

SR = 16000
CFG = PitchCombConfig()


def periodic(period: int, length: int, seed: int = 0) -> np.ndarray:
    """A waveform that repeats exactly every ``period`` samples: one random cycle (harmonics to 4 kHz), tiled."""
    rng = np.random.default_rng(seed)
    n = np.arange(period)
    cycle = sum(rng.normal() / k * np.sin(2 * np.pi * k * n / period + rng.uniform(0, 2 * np.pi))
                for k in range(1, int(4000 * period / SR) + 1))
    return np.tile(cycle, length // period + 1)[:length]


def test_an_exactly_periodic_waveform_passes_unchanged_and_its_period_is_found():
    for period in (40, 100, 160, 250):  # 400, 160, 100 and 64 Hz
        x = periodic(period, 12000, seed=period)
        lag, rho = pitch_correlation(x, SR, CFG)
        inner = slice(4, len(lag) - 4)  # frames whose window lies inside the waveform
        assert np.all(lag[inner] == period)  # the period itself, not a multiple of it (their correlation ties)
        assert np.all(rho[inner] > 0.999)
        np.testing.assert_allclose(pitch_comb(x, SR, CFG), x, atol=1e-12)


def test_white_noise_passes_unchanged():
    """No lag correlates with noise: every frame stays below the threshold, so the comb leaves it alone."""
    x = np.random.default_rng(1).normal(0.0, 0.1, 3 * SR)
    _, rho = pitch_correlation(x, SR, CFG)
    assert rho.max() < 0.35
    np.testing.assert_array_equal(pitch_comb(x, SR, CFG), x)
    np.testing.assert_array_equal(pitch_comb(np.zeros(1000), SR, CFG), np.zeros(1000))  # silence too


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(clean**2) / np.sum((noisy - clean) ** 2)))


def test_the_aperiodic_part_drops_by_what_the_weights_give():
    """Periodic + white noise at 10 dB: the periodic part is kept, so the SNR rises by the comb's noise gain,
    10 log10((1 + 2 sum w)^2 / (1 + 2 sum w^2)) with w_k = rho gain^k (6.9 dB at rho = 1; rho is about 0.9 here)."""
    clean = periodic(90, 2 * SR, seed=3)
    rng = np.random.default_rng(4)
    noise = rng.normal(0.0, 1.0, clean.shape)
    noise *= np.sqrt(np.sum(clean**2) / np.sum(noise**2) / 10.0)
    noisy = clean + noise
    _, rho = pitch_correlation(noisy, SR, CFG)
    r = float(np.median(rho))
    w = r * CFG.gain ** np.arange(1, CFG.periods + 1)
    expected = 10 * np.log10((1 + 2 * w.sum()) ** 2 / (1 + 2 * np.sum(w**2)))
    body = slice(SR // 4, -SR // 4)
    gain = snr_db(clean[body], pitch_comb(noisy, SR, CFG)[body]) - snr_db(clean[body], noisy[body])
    assert 0.85 < r < 0.95
    assert gain == pytest.approx(expected, abs=0.5)


def test_the_periodicity_of_the_low_band_reaches_the_high_band():
    """What the source-filter vocoder makes: a voiced low band (harmonics below 1 kHz) over fresh noise above.
    Through the comb the band above 1 kHz becomes periodic at the low band's period: its spectrum peaks at the
    harmonics (at least 6 dB over the bins between them), where before it was flat."""
    period = 100  # 160 Hz
    low = periodic(period, 2 * SR, seed=5)
    low_spec = np.fft.rfft(low)
    low_spec[np.fft.rfftfreq(len(low), 1 / SR) > 1000] = 0
    low = np.fft.irfft(low_spec, len(low))
    noise_spec = np.fft.rfft(np.random.default_rng(6).normal(0.0, 1.0, len(low)))
    noise_spec[np.fft.rfftfreq(len(low), 1 / SR) < 1000] = 0
    high = np.fft.irfft(noise_spec, len(low))
    high *= 0.5 * np.std(low) / np.std(high)
    x = low + high

    def contrast(y: np.ndarray) -> float:
        """Mean harmonic contrast of 160 Hz between 1.5 and 4 kHz over the frames (wavekit.eval.pitch), dB."""
        spec = log_magnitude_db(y, SpectralConfig())
        return float(np.mean(harmonic_contrast(spec, np.full(len(spec), 160.0), SR, 1024, band=(1500.0, 4000.0))))

    assert abs(contrast(x)) < 1.5
    assert contrast(pitch_comb(x, SR, CFG)) > 6.0


def test_on_real_speech_the_lag_is_pyins_period_where_the_comb_acts(speech_by_speaker):
    """Recorded speech (speakers m and v): the comb acts (rho >= threshold) on most frames pyin finds voiced,
    and in those the lag is the period of pyin's F0 within 5 % in at least 90 % of them."""
    agree = voiced_acted = voiced_frames = 0
    for p in speech_by_speaker["m"][:2] + speech_by_speaker["v"][:2]:
        wav = load_wav(p, SR).astype(np.float64)[: 3 * SR]
        lag, rho = pitch_correlation(wav, SR, CFG)
        f0, voiced = f0_track(wav, SR, f0_min=CFG.f0_min, f0_max=CFG.f0_max, frame_length=1024,
                              hop_length=CFG.hop)
        n = min(len(lag), len(f0))
        acts = rho[:n] >= CFG.threshold
        both = acts & voiced[:n]
        period = SR / f0[:n][both]
        agree += int(np.sum(np.abs(lag[:n][both] / period - 1.0) < 0.05))
        voiced_acted += int(both.sum())
        voiced_frames += int(voiced[:n].sum())
    assert voiced_acted >= 0.8 * voiced_frames > 100, (voiced_acted, voiced_frames)
    assert agree >= 0.9 * voiced_acted, (agree, voiced_acted)


def test_the_postfilter_is_the_comb_then_mel_consistency(speech_by_speaker):
    mel_cfg = MelConfig()
    wav = load_wav(speech_by_speaker["m"][0], SR)[: SR].astype(np.float32)
    wav = wav[: len(wav) // mel_cfg.hop_length * mel_cfg.hop_length]
    from wavekit.audio import log_mel_spectrogram

    target = log_mel_spectrogram(0.5 * wav.astype(np.float64), mel_cfg)
    stats = FeatureStats(np.full(mel_cfg.n_mels, -3.0), np.full(mel_cfg.n_mels, 2.0))
    normalised = stats.normalize(target)
    got = Postfilter(mel_cfg, stats).apply(wav, normalised)
    np.testing.assert_allclose(got, mel_postfilter(pitch_comb(wav, SR), target, mel_cfg), atol=1e-6)
    plain = Postfilter(mel_cfg, stats, comb=None).apply(wav, normalised)
    np.testing.assert_allclose(plain, mel_postfilter(wav, target, mel_cfg), atol=1e-6)
    assert not np.allclose(got, plain, atol=1e-3)  # speech is voiced: the comb changed it


def test_bad_settings_and_input_are_named():
    for bad in ({"periods": 0}, {"periods": 1.5}, {"gain": 0.0}, {"gain": 1.5}, {"threshold": 1.0},
                {"threshold": -0.1}, {"f0_min": 500.0}, {"f0_min": 0.0}, {"hop": 0}, {"window": 1},
                {"periods": True}):
        with pytest.raises(ValueError, match="pitch comb"):
            PitchCombConfig(**bad)
    with pytest.raises(ValueError, match=r"shape \(T,\)"):
        pitch_comb(np.zeros((2, 100)), SR)
    assert pitch_comb(np.zeros(0), SR).shape == (0,)
