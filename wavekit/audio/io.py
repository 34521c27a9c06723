"""Reading and writing audio files.

``load_wav`` reads anything libsndfile understands (WAV with 8/16/24/32-bit
integer or float samples, FLAC, Ogg Vorbis, ...) through ``soundfile``,
down-mixes to mono, resamples with ``soxr`` (high quality) and returns
float32 samples in [-1, 1]. ``save_wav`` writes 16-bit PCM WAV atomically.
Every problem a user can cause with a file raises
:class:`wavekit.errors.AudioError` naming the file and saying what to do.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from wavekit.atomic import atomic_path, write_bytes_atomic, write_text_atomic  # noqa: F401 (re-exported)
from wavekit.errors import AudioError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def load_wav(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Read an audio file as float32 mono samples in [-1, 1] at ``sample_rate`` Hz.

    Multi-channel audio is averaged to mono; other rates are resampled with
    soxr ("HQ"). Float files with samples outside [-1, 1] are clipped.

    Raises:
        AudioError: the file is missing, unreadable/not audio, empty (0 samples)
            or holds non-finite samples. The message names the file.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    p = Path(path)
    if not p.exists():
        raise AudioError(f"audio file not found: {p}; check the path")
    if not p.is_file():
        raise AudioError(f"not an audio file (it is a folder or special file): {p}")
    if p.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {p}; re-export it or remove it from the input")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as e:
        raise AudioError(
            f"cannot read audio file {p}: {e}; it is corrupt or not a WAV/FLAC/Ogg file "
            "(re-export it or remove it from the input)"
        ) from None
    if data.shape[0] == 0:
        raise AudioError(f"audio file is empty (0 samples): {p}; re-export it or remove it from the input")
    wav = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"audio file holds NaN or infinite samples: {p}; re-export it or remove it")
    if rate != sample_rate:
        wav = soxr.resample(wav, rate, int(sample_rate), quality="HQ")
    return np.ascontiguousarray(np.clip(wav, -1.0, 1.0), dtype=np.float32)


def save_wav(path: str | Path, wav: Any, sample_rate: int) -> None:
    """Write mono ``wav`` ((T,) or (1, T), numpy or torch, floats in [-1, 1]) as 16-bit PCM WAV.

    Samples outside [-1, 1] are clipped. The file appears atomically: it is
    written to a temporary file in the same folder and renamed into place.
    A failed write raises :class:`wavekit.errors.OutputError` naming ``path``.
    """
    if hasattr(wav, "detach"):  # torch tensor
        wav = wav.detach().to("cpu").float().numpy()
    arr = np.asarray(wav, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise ValueError(f"save_wav expects mono audio of shape (T,) or (1, T), got {arr.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    arr = np.clip(np.nan_to_num(arr), -1.0, 1.0)
    # Encode in memory, then write the bytes ourselves: a full disk or a read-only folder is then
    # a real OSError (an OutputError naming the file), not libsndfile's "System error.".
    buf = io.BytesIO()
    sf.write(buf, arr, int(sample_rate), subtype="PCM_16", format="WAV")
    write_bytes_atomic(path, buf.getvalue(), suffix=".wav")
