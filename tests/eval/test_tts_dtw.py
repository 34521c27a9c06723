"""DTW mel-cepstral distance on log-mels, length partners, and the free-running voice check."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

from wavekit.audio.features import MelConfig
from wavekit.audio.stats import FeatureStats
from wavekit.checkpoint import LoadedModel
from wavekit.eval.metrics import MCD_CONSTANT, SpectralConfig, cepstrum_from_log_amplitude, mel_cepstrum
from wavekit.eval.tts_dtw import dtw_mel_cepstral_distance, length_partners, voice_check
from wavekit.tts.data import audio_extra
from wavekit.tts.frontend import SymbolTable
from wavekit.tts.tacotron2 import Tacotron2, Tacotron2Config

N_MELS = 80


def _ripple(amplitude: float, k: int, frames: int) -> np.ndarray:
    """log amplitude (n_mels, frames) = amplitude * cos(pi k (n + 1/2) / N): exactly cepstral coefficient k."""
    n = np.arange(N_MELS)[:, None]
    return np.repeat(amplitude * np.cos(np.pi * k * (n + 0.5) / N_MELS), frames, axis=1)


def test_cepstrum_of_a_ripple_is_half_its_amplitude():
    c = cepstrum_from_log_amplitude(_ripple(0.8, 3, 5), n_coeffs=24)
    assert c.shape == (5, 24)
    expected = np.zeros(24)
    expected[2] = 0.4  # c_3 (c0 is dropped, so index 2)
    np.testing.assert_allclose(c, np.tile(expected, (5, 1)), atol=1e-12)


def test_mel_cepstrum_of_a_waveform_goes_through_the_same_transform():
    wav = np.random.default_rng(0).standard_normal(8000) * 0.1
    cfg = SpectralConfig()
    power = librosa.feature.melspectrogram(y=wav, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                           n_mels=cfg.n_mels, power=2.0)
    log_amp = 0.5 * np.log(np.maximum(power, cfg.mel_floor))
    np.testing.assert_allclose(mel_cepstrum(wav, cfg), cepstrum_from_log_amplitude(log_amp, cfg.n_coeffs))


def test_dtw_mcd_known_value_and_invariances():
    flat = np.zeros((N_MELS, 20))
    ripple = _ripple(1.0, 1, 20)
    # c1 differs by 1/2: MCD = (10 / ln 10) * sqrt(2 * 0.25)
    assert dtw_mel_cepstral_distance(flat, ripple) == pytest.approx(MCD_CONSTANT * math.sqrt(0.5), rel=1e-9)
    # a gain change (c0) is not a spectral difference
    assert dtw_mel_cepstral_distance(ripple, ripple + 2.5) == pytest.approx(0.0, abs=1e-9)


def test_dtw_absorbs_a_slower_rendering_of_the_same_sequence():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((N_MELS, 30))
    slow = np.repeat(a, 2, axis=1)  # every frame held twice: same content, twice as long
    other = rng.standard_normal((N_MELS, 60))
    assert dtw_mel_cepstral_distance(slow, a) == pytest.approx(0.0, abs=1e-9)
    assert dtw_mel_cepstral_distance(other, a) > 1.0


def test_dtw_mcd_rejects_mismatched_bands():
    with pytest.raises(ValueError, match="n_mels"):
        dtw_mel_cepstral_distance(np.zeros((80, 5)), np.zeros((40, 5)))
    with pytest.raises(ValueError, match="NaN"):
        dtw_mel_cepstral_distance(np.full((80, 5), np.nan), np.zeros((80, 5)))


def test_length_partners_pick_the_nearest_other_sentence():
    assert length_partners([100, 140, 103, 300]) == [2, 2, 0, 1]
    assert length_partners([50, 60, 40]) == [1, 0, 0]  # 50: 60 and 40 tie, the lower index wins; never itself
    with pytest.raises(ValueError, match="two"):
        length_partners([10])


def _untrained_voice() -> LoadedModel:
    torch.manual_seed(0)
    cfg = Tacotron2Config(n_mels=N_MELS, reduction_factor=3, embed_dim=16, encoder_conv_layers=1, encoder_dim=16,
                          attention_rnn_dim=16, decoder_rnn_dim=16, prenet_dim=16, attention_dim=8,
                          location_filters=4, location_kernel=5, postnet_layers=1, postnet_channels=16,
                          max_frames=30)
    model = Tacotron2(cfg).eval()
    stats = FeatureStats(mean=np.full(N_MELS, -4.0, np.float32), std=np.full(N_MELS, 2.0, np.float32), count=1)
    table = SymbolTable.default("characters")
    return LoadedModel(model=model, kind="tacotron2", step=0, path=Path("mem"),
                       audio=audio_extra(MelConfig(), stats), symbols=table.to_dict(),
                       extra={"audio": audio_extra(MelConfig(), stats), "symbols": table.to_dict()})


def test_voice_check_scores_each_sentence_independently_of_the_others():
    voice = _untrained_voice()
    texts = ["one two", "three four five", "six"]
    first = voice_check(voice, texts, [np.zeros((N_MELS, n)) for n in (20, 40, 10)], seed=5)
    # references = the voice's own renderings: distance 0 to its own sentence, > 0 to another
    own = []
    for i, t in enumerate(texts):
        torch.manual_seed(5 + i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an untrained decoder may never stop
            mel, _ = voice.model.infer(SymbolTable.from_dict(voice.symbols).encode(t))
        own.append(FeatureStats.from_dict(voice.audio["stats"]).denormalize(mel.numpy()))
    second = voice_check(voice, texts, own, seed=5)
    for it in second["items"]:
        assert it["mcd_same"] == pytest.approx(0.0, abs=1e-6)
        assert it["mcd_other"] > 0.1 and it["closer"]
        assert it["length_error"] == 0.0
    assert second["closer_rate"] == 1.0
    # stop: decoded frames are whole decoder steps (r=3), cut at max_frames=30 when the stop token never fires
    for it, ref in zip(first["items"], (20, 40, 10)):
        assert it["predicted_frames"] % 3 == 0 and it["predicted_frames"] <= 30
        assert it["stopped"] == (it["predicted_frames"] < 30)
        assert it["length_error"] == pytest.approx(abs(it["predicted_frames"] - ref) / ref)
    assert first["stop_rate"] == pytest.approx(np.mean([it["stopped"] for it in first["items"]]))
    # checking one sentence alone gives the same figures as checking it among others
    alone = voice_check(voice, texts[1:], own[1:], seed=6)  # sentence 1 used seed 5 + 1
    assert alone["items"][0]["diagonality"] == pytest.approx(second["items"][1]["diagonality"])
    assert alone["items"][0]["mcd_same"] == pytest.approx(0.0, abs=1e-6)
