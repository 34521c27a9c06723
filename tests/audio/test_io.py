"""load_wav / save_wav: formats, down-mixing, resampling, and clean errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from wavekit.audio import load_wav, save_wav
from wavekit.errors import AudioError


def dominant_frequency(wav: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return float(np.argmax(spec) * sr / len(wav))


def sine(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)).astype(np.float64)


CASES = [
    # (suffix, subtype, input rate, amplitude tolerance)
    ("wav", "PCM_U8", 8000, 0.02),
    ("wav", "PCM_16", 16000, 1e-3),
    ("wav", "PCM_24", 44100, 1e-3),
    ("wav", "PCM_32", 48000, 1e-3),
    ("wav", "FLOAT", 22050, 1e-3),
    ("wav", "DOUBLE", 48000, 1e-3),
    ("flac", "PCM_24", 44100, 1e-3),
    ("flac", "PCM_16", 8000, 1e-3),
]


@pytest.mark.parametrize("suffix,subtype,rate,tol", CASES)
def test_formats_and_rates_resample_to_16k_keeping_the_tone(tmp_path, suffix, subtype, rate, tol):
    path = tmp_path / f"tone.{suffix}"
    sf.write(path, sine(440.0, rate, 1.0), rate, subtype=subtype)
    wav = load_wav(path, 16000)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert len(wav) == 16000  # exactly one second at the new rate
    assert abs(dominant_frequency(wav, 16000) - 440.0) <= 1.0
    mid = wav[2000:-2000]  # away from resampler edge transients
    assert abs(np.abs(mid).max() - 0.5) < 0.01 + tol


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = sine(440.0, 48000, 0.5, amp=0.6), sine(440.0, 48000, 0.5, amp=0.2)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 48000, subtype="PCM_16")
    mono = load_wav(tmp_path / "st.wav", 48000)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=2e-4)


def test_other_target_rate_and_float_clipping(tmp_path):
    sf.write(tmp_path / "loud.wav", 1.5 * np.ones(22050), 22050, subtype="FLOAT")
    wav = load_wav(tmp_path / "loud.wav", 22050)
    assert wav.max() == 1.0 and len(wav) == 22050
    assert len(load_wav(tmp_path / "loud.wav", 24000)) == 24000


def test_real_ogg(fillets_files):
    path = fillets_files[0]
    info = sf.info(str(path))
    wav = load_wav(path, 16000)
    assert wav.dtype == np.float32 and wav.ndim == 1 and np.abs(wav).max() <= 1.0
    assert abs(len(wav) - info.frames * 16000 / info.samplerate) <= 1
    assert np.abs(wav).max() > 0.01  # real speech, not silence


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(AudioError, match="not found: .*nothere.wav"):
        load_wav(tmp_path / "nothere.wav")


def test_zero_byte_file(tmp_path):
    (tmp_path / "zero.wav").write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty \(0 bytes\): .*zero.wav"):
        load_wav(tmp_path / "zero.wav")


def test_valid_header_without_samples_is_empty(tmp_path):
    sf.write(tmp_path / "nosamples.wav", np.zeros(0), 16000)
    with pytest.raises(AudioError, match=r"empty \(0 samples\): .*nosamples.wav"):
        load_wav(tmp_path / "nosamples.wav")


@pytest.mark.parametrize("name,data", [("garbage.wav", b"RIFF1234WAVEjunk" * 50), ("text.ogg", b"just some text\n" * 20)])
def test_corrupt_or_non_audio(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(AudioError, match=f"cannot read audio file .*{name}.*corrupt"):
        load_wav(tmp_path / name)


def test_folder_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="folder"):
        load_wav(tmp_path)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_save_roundtrip_is_16bit_and_atomic(tmp_path, kind):
    x = sine(300.0, 16000, 0.25).astype(np.float32)
    data = torch.from_numpy(x)[None] if kind == "torch" else x
    save_wav(tmp_path / "out.wav", data, 16000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary file left behind
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.subtype, info.samplerate, info.channels) == ("PCM_16", 16000, 1)
    np.testing.assert_allclose(load_wav(tmp_path / "out.wav", 16000), x, atol=1.0 / 32768)


def test_save_rejects_multichannel(tmp_path):
    with pytest.raises(ValueError, match="mono"):
        save_wav(tmp_path / "x.wav", np.zeros((2, 10)), 16000)
