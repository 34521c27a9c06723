"""Pitch accuracy: F0 RMSE in cents and voiced/unvoiced disagreement, from ``librosa.pyin``.

F0 track (:func:`f0_track`): ``librosa.pyin`` with fixed settings so
numbers compare between runs: search range ``f0_min`` .. ``f0_max`` of
:class:`~wavekit.eval.metrics.SpectralConfig` [60 .. 500 Hz, which covers
adult male and female speech], ``frame_length = n_fft`` [1024 = 64 ms],
``hop_length`` [256], ``center=True`` (so frames are those of
:func:`~wavekit.eval.metrics.mel_cepstrum`), pyin's other defaults
(10-cent resolution). A frame is voiced when pyin's ``voiced_flag`` says so.

Comparison (:func:`pitch_errors`) over paired frames (frame i with frame
i, the longer track cut; or a given alignment path):

* ``vuv_error``: fraction of frames whose voicing decisions differ (0 .. 1);
* ``f0_rmse_cents``: ``sqrt(mean((1200 log2(f_gen / f_ref))^2))`` over the
  frames voiced in both (``nan`` if there are none).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def f0_track(wav: Any, sample_rate: int, *, f0_min: float, f0_max: float, frame_length: int,
             hop_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz, voiced flags), both (frames,): unvoiced frames hold ``nan`` in f0."""
    import librosa

    x = np.asarray(wav, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"f0_track needs a non-empty 1-D waveform, got shape {x.shape}")
    f0, voiced, _ = librosa.pyin(x, fmin=f0_min, fmax=f0_max, sr=sample_rate, frame_length=frame_length,
                                 hop_length=hop_length, center=True)
    voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
    return np.where(voiced, f0, np.nan), voiced


def pitch_errors(f0_ref: np.ndarray, voiced_ref: np.ndarray, f0_gen: np.ndarray, voiced_gen: np.ndarray,
                 path: np.ndarray | None = None) -> dict[str, float]:
    """``{"f0_rmse_cents", "vuv_error", "voiced_both"}`` of two tracks; ``path`` (pairs, 2) of frame indices or None."""
    if path is None:
        n = min(len(f0_ref), len(f0_gen))
        i = j = np.arange(n)
    else:
        i, j = path[:, 0], path[:, 1]
    vr, vg = np.asarray(voiced_ref, bool)[i], np.asarray(voiced_gen, bool)[j]
    if len(vr) == 0:
        return {"f0_rmse_cents": math.nan, "vuv_error": math.nan, "voiced_both": 0}
    both = vr & vg
    cents = 1200.0 * np.log2(np.asarray(f0_gen)[j][both] / np.asarray(f0_ref)[i][both])
    rmse = float(np.sqrt(np.mean(cents**2))) if both.any() else math.nan
    return {"f0_rmse_cents": rmse, "vuv_error": float(np.mean(vr != vg)), "voiced_both": int(both.sum())}
