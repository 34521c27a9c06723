"""STFT / inverse STFT of the mel framing and the mel-consistency postfilter, on real speech."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from wavekit.audio import MelConfig, load_wav, log_mel_spectrogram
from wavekit.audio.features import istft, mel_filter_bank, stft
from wavekit.audio.postfilter import PostfilterConfig, mel_postfilter
from wavekit.errors import FeatureError

CFG = MelConfig()


@pytest.fixture(scope="module")
def speech(speech_by_speaker) -> list[np.ndarray]:
    """Two real utterances (speakers 'm' and 'v'), float64, a whole number of frames, at most 2 s."""
    out = []
    for p in speech_by_speaker["m"][:1] + speech_by_speaker["v"][:1]:
        wav = load_wav(p, 16000).astype(np.float64)[: 2 * 16000]
        out.append(wav[: len(wav) // CFG.hop_length * CFG.hop_length])
    return out


def mel_distance(wav: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute log-mel difference (natural log units) over the frames and bands the target is above floor."""
    got = log_mel_spectrogram(wav.astype(np.float64), CFG)
    keep = target > np.log(CFG.log_floor) + 1.0
    return float(np.abs(got - target)[keep].mean())


def test_stft_is_librosa_on_the_documented_framing(speech):
    for wav in speech:
        left = (CFG.n_fft - CFG.hop_length) // 2
        padded = np.pad(wav, (left, CFG.n_fft - CFG.hop_length - left), mode="reflect")
        ref = librosa.stft(padded, n_fft=CFG.n_fft, hop_length=CFG.hop_length, win_length=CFG.win_length,
                           window="hann", center=False)
        ours = stft(torch.from_numpy(wav), CFG).numpy()
        assert ours.shape == ref.shape == (CFG.n_fft // 2 + 1, len(wav) // CFG.hop_length)
        np.testing.assert_allclose(ours, ref, atol=1e-9 * np.abs(ref).max())
        # the log-mel is the filter bank over its magnitude
        mel = np.log(np.maximum(mel_filter_bank(CFG) @ np.abs(ours), CFG.log_floor))
        np.testing.assert_allclose(mel, log_mel_spectrogram(wav, CFG), atol=1e-9)


@pytest.mark.parametrize("cfg", [CFG, MelConfig(n_fft=2048, win_length=800, hop_length=200, n_mels=64, fmin=0.0,
                                                 fmax=8000.0)])
def test_istft_inverts_stft_and_batches(speech, cfg):
    wavs = [w[: len(w) // cfg.hop_length * cfg.hop_length] for w in speech]
    for wav in wavs:
        back = istft(stft(torch.from_numpy(wav), cfg), cfg).numpy()
        assert back.shape == wav.shape
        np.testing.assert_allclose(back, wav, atol=1e-10)
    n = min(len(w) for w in wavs)
    batch = torch.from_numpy(np.stack([w[:n] for w in wavs]))
    together = istft(stft(batch, cfg), cfg)
    for i in range(len(wavs)):
        torch.testing.assert_close(together[i], istft(stft(batch[i], cfg), cfg), rtol=0, atol=1e-12)


def test_stft_and_istft_name_bad_input():
    with pytest.raises(FeatureError, match="T >= hop_length"):
        stft(torch.zeros(100), CFG)
    with pytest.raises(FeatureError, match="floating-point"):
        stft(torch.zeros(1000, dtype=torch.int16), CFG)
    with pytest.raises(FeatureError, match="complex spectrum"):
        istft(torch.zeros(CFG.n_fft // 2 + 1, 4), CFG)
    with pytest.raises(FeatureError, match="complex spectrum"):
        istft(torch.zeros(10, 4, dtype=torch.complex64), CFG)


def test_a_waveform_that_already_matches_its_mel_is_left_as_it_is(speech):
    for wav in speech:
        out = mel_postfilter(wav, log_mel_spectrogram(wav, CFG), CFG)
        assert out.dtype == np.float32 and out.shape == wav.shape
        np.testing.assert_allclose(out, wav, atol=1e-6)


def test_a_known_gain_is_restored(speech):
    """The mel of 2x asked of x: the covered bands come out twice as loud, so the log-mel moves by log 2."""
    for wav in speech:
        target = log_mel_spectrogram(2.0 * wav, CFG)
        before = mel_distance(wav, target)
        assert before == pytest.approx(np.log(2.0), rel=0.02)
        out = mel_postfilter(wav, target, CFG, PostfilterConfig(iterations=1))
        assert mel_distance(out, target) < 0.02 * before
        ratio = np.sqrt(np.mean(out.astype(np.float64) ** 2) / np.mean(wav**2))
        assert ratio == pytest.approx(2.0, rel=0.03)  # speech below 80 Hz / above 7.6 kHz (no band) is tiny


def test_wrong_band_levels_move_towards_the_mel_and_more_iterations_move_further(speech):
    """Real speech with every frame and band mis-levelled (up to +-6 dB): the postfilter brings the levels back."""
    rng = np.random.default_rng(0)
    for wav in speech:
        target = log_mel_spectrogram(wav, CFG)
        spec = stft(torch.from_numpy(wav), CFG)
        wobble = torch.from_numpy(rng.uniform(-0.7, 0.7, (CFG.n_fft // 2 + 1, spec.shape[1])))
        bent = istft(spec * torch.exp(wobble), CFG).numpy()
        distances = [mel_distance(bent, target)]
        for n in (1, 2, 4):
            distances.append(mel_distance(mel_postfilter(bent, target, CFG, PostfilterConfig(iterations=n)), target))
        assert distances == sorted(distances, reverse=True), distances
        assert distances[-1] < 0.5 * distances[0], distances


def test_silence_and_clipped_gains_stay_finite(speech):
    silent = np.zeros(16 * CFG.hop_length)
    loud = np.zeros((CFG.n_mels, 16))  # a loud mel asked of silence: the gain is clipped, silence stays silence
    out = mel_postfilter(silent, loud, CFG)
    assert np.all(np.isfinite(out)) and np.all(out == 0.0)
    wav = speech[0]
    quiet = log_mel_spectrogram(wav, CFG) - 20.0  # far below: each iteration may take at most max_log_gain
    one = mel_postfilter(wav, quiet, CFG, PostfilterConfig(iterations=1, max_log_gain=1.0))
    ratio = np.sqrt(np.mean(one.astype(np.float64) ** 2) / np.mean(wav**2))
    assert np.exp(-1.0) * 0.8 < ratio < np.exp(-1.0) * 1.25


def test_samples_past_the_mel_are_kept_and_bad_input_is_named(speech):
    wav = speech[0]
    mel = log_mel_spectrogram(wav, CFG)[:, :10]
    out = mel_postfilter(wav, mel, CFG)
    np.testing.assert_array_equal(out[10 * CFG.hop_length :], wav[10 * CFG.hop_length :].astype(np.float32))
    with pytest.raises(ValueError, match="only"):
        mel_postfilter(wav[:100], mel, CFG)
    with pytest.raises(ValueError, match="n_mels=80"):
        mel_postfilter(wav, mel[:40], CFG)
    with pytest.raises(ValueError, match=r"shape \(T,\)"):
        mel_postfilter(wav[None], mel, CFG)
    for bad in ({"iterations": 0}, {"iterations": 1.5}, {"max_log_gain": 0.0}, {"max_log_gain": float("inf")}):
        with pytest.raises(ValueError, match="postfilter"):
            PostfilterConfig(**bad)
