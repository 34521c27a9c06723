"""Log-mel features: librosa as the reference on real speech, framing/alignment, one implementation for all inputs."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import torch

from wavekit.audio import MelConfig, load_wav, log_mel_spectrogram
from wavekit.config import from_dict
from wavekit.errors import ConfigError, FeatureError


def librosa_log_mel(wav: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """The documented definition, written with librosa: centred windows by explicit reflect padding."""
    frames = len(wav) // cfg.hop_length
    left = (cfg.n_fft - cfg.hop_length) // 2
    padded = np.pad(wav[: frames * cfg.hop_length], (left, cfg.n_fft - cfg.hop_length - left), mode="reflect")
    mel = librosa.feature.melspectrogram(
        y=padded, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window="hann", center=False, power=1.0, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
    )
    return np.log(np.maximum(mel, cfg.log_floor))


@pytest.fixture(scope="module")
def speech(speech_by_speaker) -> list[np.ndarray]:
    """Three real utterances: two of speaker 'm' and one of 'v'."""
    return [load_wav(p, 16000) for p in speech_by_speaker["m"][:2] + speech_by_speaker["v"][:1]]


# Tolerance on log-mel (natural log units): float32 FFTs of torch and numpy differ by rounding only.
@pytest.mark.parametrize("cfg", [MelConfig(), MelConfig(n_fft=2048, win_length=800, hop_length=200, n_mels=64, fmin=0.0, fmax=8000.0)])
def test_matches_librosa_on_real_speech(speech, cfg):
    for wav in speech:
        ours = log_mel_spectrogram(wav, cfg)
        ref = librosa_log_mel(wav, cfg)
        assert ours.shape == ref.shape == (cfg.n_mels, len(wav) // cfg.hop_length)
        assert ours.dtype == np.float32
        assert np.abs(ours - ref).max() < 1e-3
        ours64 = log_mel_spectrogram(wav.astype(np.float64), cfg)
        assert ours64.dtype == np.float64
        assert np.abs(ours64 - librosa_log_mel(wav.astype(np.float64), cfg)).max() < 1e-6


@pytest.mark.parametrize("length", [0, 1, 255, 256, 257, 511, 512, 600, 1000, 16000, 16255])
def test_frames_equal_length_floor_hop(length):
    cfg = MelConfig()
    wav = np.random.default_rng(length).uniform(-0.5, 0.5, length).astype(np.float32)
    mel = log_mel_spectrogram(wav, cfg)
    assert mel.shape == (80, length // 256)
    assert np.all(np.isfinite(mel))


def test_samples_after_the_last_full_frame_are_ignored():
    wav = np.random.default_rng(0).uniform(-0.5, 0.5, 4096 + 200).astype(np.float32)
    np.testing.assert_array_equal(log_mel_spectrogram(wav, MelConfig()), log_mel_spectrogram(wav[:4096], MelConfig()))


@pytest.mark.parametrize("frame", [3, 10, 20])
def test_frame_i_is_centred_on_samples_i_hop_to_i_plus_1_hop(frame):
    """A click in the middle of [i*hop, (i+1)*hop) is loudest in frame i."""
    cfg = MelConfig()
    wav = np.zeros(32 * cfg.hop_length, dtype=np.float32)
    wav[frame * cfg.hop_length + cfg.hop_length // 2] = 1.0
    energy = np.exp(log_mel_spectrogram(wav, cfg)).sum(axis=0)
    assert int(np.argmax(energy)) == frame
    assert energy[frame - 1] == pytest.approx(energy[frame + 1], rel=1e-3)  # symmetric window around the click


def test_silence_is_the_log_floor():
    cfg = MelConfig()
    mel = log_mel_spectrogram(np.zeros(2048, dtype=np.float32), cfg)
    np.testing.assert_allclose(mel, np.log(cfg.log_floor))
    assert cfg.silence_value == pytest.approx(np.log(1e-5))


def test_numpy_tensor_and_batch_agree(speech):
    cfg = MelConfig()
    n = min(len(w) for w in speech)
    batch = np.stack([w[:n] for w in speech])
    singles = np.stack([log_mel_spectrogram(w[:n], cfg) for w in speech])
    from_batch = log_mel_spectrogram(batch, cfg)
    from_tensor = log_mel_spectrogram(torch.from_numpy(batch), cfg)
    assert isinstance(from_tensor, torch.Tensor) and from_batch.shape == (3, 80, n // 256)
    np.testing.assert_allclose(from_batch, singles, atol=1e-5)
    np.testing.assert_allclose(from_tensor.numpy(), singles, atol=1e-5)


def test_gpu_matches_cpu(speech, cuda_device):
    cfg = MelConfig()
    x = torch.from_numpy(speech[0])
    out = log_mel_spectrogram(x.to(cuda_device), cfg)
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), log_mel_spectrogram(x, cfg), atol=1e-3, rtol=0)


def test_bad_inputs():
    with pytest.raises(FeatureError, match="shape"):
        log_mel_spectrogram(np.zeros((1, 2, 3000), dtype=np.float32))
    with pytest.raises(FeatureError, match="floating"):
        log_mel_spectrogram(np.zeros(3000, dtype=np.int16))


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"win_length": 2048}, "win_length"),
        ({"fmax": 9000.0}, "fmax"),
        ({"fmin": 8000.0, "fmax": 7000.0}, "fmin"),
        ({"hop_length": 0}, "hop_length"),
        ({"n_mels": -3}, "n_mels"),
        ({"log_floor": 0.0}, "log_floor"),
    ],
)
def test_config_validation(changes, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(MelConfig(), **changes)
    with pytest.raises(ConfigError, match=match):
        from_dict(MelConfig, changes, prefix="mel")
