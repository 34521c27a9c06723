"""Linear prediction: Levinson, stability, numpy == torch, mel-derived vs waveform-derived envelopes on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from wavekit.audio import MelConfig, load_wav, log_mel_spectrogram
from wavekit.audio.lpc import (
    LPCConfig,
    deemphasis,
    levinson_durbin,
    log_spectral_distance_db,
    lpc_envelope_db,
    lpc_from_mel,
    lpc_from_waveform,
    lpc_to_reflection,
    mel_to_linear,
    preemphasis,
)

CFG = MelConfig()


def _random_autocorrelation(rng: np.random.Generator, shape: tuple[int, ...], order: int) -> np.ndarray:
    """Autocorrelations (shape + (order+1,)) of random coloured signals: positive definite, far from white."""
    x = rng.standard_normal(shape + (400,))
    x = np.cumsum(x, axis=-1) * 0.1 + x  # strongly low-pass: an ill-conditioned Toeplitz matrix
    full = np.stack([(x[..., : 400 - k] * x[..., k:]).sum(-1) for k in range(order + 1)], axis=-1)
    return full


@pytest.fixture(scope="module")
def speech(speech_subset) -> list[np.ndarray]:
    """Four real utterances, float64."""
    return [load_wav(p).astype(np.float64) for p in speech_subset[:2] + speech_subset[6:8]]


def test_levinson_solves_the_toeplitz_system():
    rng = np.random.default_rng(0)
    r = _random_autocorrelation(rng, (3, 5), 16)
    a, k = levinson_durbin(r, 16)
    assert a.shape == k.shape == (3, 5, 16)
    for idx in np.ndindex(3, 5):
        ref = scipy.linalg.solve_toeplitz(r[idx][:16], -r[idx][1:17])
        np.testing.assert_allclose(a[idx], ref, rtol=1e-7, atol=1e-9)
    assert np.all(np.abs(k) < 1)
    np.testing.assert_allclose(lpc_to_reflection(a), k, rtol=1e-6, atol=1e-9)


def test_levinson_numpy_equals_torch_batched():
    r = _random_autocorrelation(np.random.default_rng(1), (4, 7), 12)
    a_np, k_np = levinson_durbin(r, 12)
    a_t, k_t = levinson_durbin(torch.from_numpy(r), 12)
    assert isinstance(a_t, torch.Tensor) and a_t.dtype == torch.float64
    np.testing.assert_allclose(a_t.numpy(), a_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k_t.numpy(), k_np, rtol=1e-12, atol=1e-12)


def test_waveform_lpc_recovers_a_known_all_pole_filter():
    """AR(2) excitation in the pre-emphasised domain, de-emphasised: the waveform LPC must find a = (a1, a2)."""
    rng = np.random.default_rng(2)
    a_true = np.array([-1.2, 0.6])  # poles at radius sqrt(0.6), stable
    from scipy.signal import lfilter

    s_pre = lfilter([1.0], np.r_[1.0, a_true], rng.standard_normal(16000 * 2))
    wav = deemphasis(s_pre, 0.85)
    np.testing.assert_allclose(preemphasis(wav, 0.85), s_pre, atol=1e-9)
    a = lpc_from_waveform(wav, CFG, order=2, preemphasis=0.85, lag_window=0.0, noise_floor=0.0)
    assert a.shape == (len(wav) // CFG.hop_length, 2)
    np.testing.assert_allclose(np.median(a, axis=0), a_true, atol=0.03)
    # the mel-derived predictor sees the same envelope, to within the mel's resolution
    a_mel, gain = lpc_from_mel(log_mel_spectrogram(wav, CFG), CFG, order=2, preemphasis=0.85, return_gain=True)
    np.testing.assert_allclose(np.median(a_mel, axis=0), a_true, atol=0.1)
    # and the excitation level it implies is the true one (unit variance) within 1.5 dB
    assert abs(20 * np.log10(np.median(gain))) < 1.5


def test_stable_on_real_speech_and_on_silence(speech):
    mels = [log_mel_spectrogram(w, CFG) for w in speech]
    cases = [lpc_from_mel(m, CFG) for m in mels] + [lpc_from_waveform(w, CFG) for w in speech]
    silence = np.zeros(CFG.hop_length * 20)
    cases += [
        lpc_from_mel(log_mel_spectrogram(silence, CFG), CFG),
        lpc_from_waveform(silence, CFG),
    ]
    cases += [lpc_from_mel(np.full((CFG.n_mels, 5), CFG.silence_value), CFG)]
    for a in cases:
        assert np.all(np.isfinite(a))
        assert np.all(np.abs(lpc_to_reflection(a)) < 1)
    # independent check on a few frames: every root of A(z) inside the unit circle
    for frame in cases[0][:: max(1, len(cases[0]) // 10)]:
        assert np.max(np.abs(np.roots(np.r_[1.0, frame]))) < 1
    np.testing.assert_array_equal(cases[-2], 0.0)  # all-zero audio: no prediction


def test_mel_lpc_numpy_equals_torch_batched_and_keeps_dtype(speech):
    frames = 120
    mel = np.stack([log_mel_spectrogram(w[: frames * CFG.hop_length], CFG) for w in speech])  # (4, 80, 120)
    a_np = lpc_from_mel(mel, CFG)
    assert a_np.shape == (4, frames, 16) and a_np.dtype == np.float64
    a_t = lpc_from_mel(torch.from_numpy(mel), CFG)
    np.testing.assert_allclose(a_t.numpy(), a_np, rtol=1e-10, atol=1e-10)
    for i in range(4):  # batching changes nothing
        np.testing.assert_allclose(lpc_from_mel(mel[i], CFG), a_np[i], rtol=1e-10, atol=1e-10)
    a32 = lpc_from_mel(torch.from_numpy(mel).float(), CFG)
    assert a32.dtype == torch.float32
    np.testing.assert_allclose(a32.numpy(), a_np, atol=1e-3)
    wav = np.stack([w[: frames * CFG.hop_length] for w in speech])
    np.testing.assert_allclose(
        lpc_from_waveform(torch.from_numpy(wav), CFG).numpy(),
        lpc_from_waveform(wav, CFG),
        rtol=1e-10,
        atol=1e-10,
    )


def test_mel_lpc_envelope_agrees_with_waveform_lpc_on_real_speech(speech):
    """Stated agreement: mean log-spectral distance between the two 1/|A| envelopes (0-8 kHz) on frames within
    40 dB of the utterance's loudest is about 1.1 dB on fillets-ng speech (measured); asserted < 1.6 dB per
    utterance, and it must be far below the distance to a flat envelope."""
    for w in speech:
        mel = log_mel_spectrogram(w, CFG)
        env_mel = lpc_envelope_db(lpc_from_mel(mel, CFG), CFG.n_fft)
        env_wav = lpc_envelope_db(lpc_from_waveform(w, CFG), CFG.n_fft)
        loud = mel.max(axis=0) > mel.max() - np.log(100.0)
        lsd = log_spectral_distance_db(env_mel, env_wav)[loud].mean()
        flat = log_spectral_distance_db(np.zeros_like(env_wav), env_wav)[loud].mean()
        assert lsd < 1.6, lsd
        assert lsd < 0.25 * flat, (lsd, flat)


def test_mel_to_linear_inverts_the_filter_bank(speech):
    mel = log_mel_spectrogram(speech[0], CFG)
    mag = mel_to_linear(mel, CFG)
    assert mag.shape == (CFG.n_fft // 2 + 1, mel.shape[1]) and np.all(mag >= 0)
    from wavekit.audio import mel_filter_bank

    remel = np.log(np.maximum(mel_filter_bank(CFG) @ mag, CFG.log_floor))
    loud = mel > mel.max() - np.log(1000.0)
    assert np.median(np.abs(remel - mel)[loud]) < 0.05


def test_preemphasis_round_trip_numpy_and_torch():
    x = np.random.default_rng(3).standard_normal((2, 3, 500))
    np.testing.assert_allclose(deemphasis(preemphasis(x, 0.9), 0.9), x, atol=1e-10)
    xt = torch.from_numpy(x).float()
    yt = deemphasis(preemphasis(xt, 0.9), 0.9)
    assert yt.dtype == torch.float32
    np.testing.assert_allclose(yt.numpy(), x, atol=1e-4)
    np.testing.assert_allclose(preemphasis(xt, 0.9).numpy(), preemphasis(x, 0.9), atol=1e-5)


def test_config_rejects_bad_values():
    for bad in (
        {"order": 0},
        {"preemphasis": 1.0},
        {"lag_window_hz": -1.0},
        {"noise_floor": float("nan")},
    ):
        with pytest.raises(ValueError):
            LPCConfig(**bad)


def test_torch_on_the_accelerator_equals_numpy(speech, cuda_device):
    frames = 100
    mel = np.stack([log_mel_spectrogram(w[: frames * CFG.hop_length], CFG) for w in speech])
    wav = np.stack([w[: frames * CFG.hop_length] for w in speech])
    a_gpu = lpc_from_mel(torch.from_numpy(mel).float().to(cuda_device), CFG)
    assert a_gpu.device.type == cuda_device.type and a_gpu.dtype == torch.float32
    np.testing.assert_allclose(a_gpu.cpu().numpy(), lpc_from_mel(mel, CFG), atol=1e-3)
    w_gpu = lpc_from_waveform(torch.from_numpy(wav).to(cuda_device), CFG)
    np.testing.assert_allclose(w_gpu.cpu().numpy(), lpc_from_waveform(wav, CFG), rtol=1e-8, atol=1e-8)
    env = lpc_envelope_db(a_gpu, CFG.n_fft, gain=torch.ones(a_gpu.shape[:-1], device=cuda_device))
    assert env.device.type == cuda_device.type
