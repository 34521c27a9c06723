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

Harmonicity (:func:`harmonic_contrast`, :func:`harmonic_figures`): whether a
voiced frame shows harmonics between 1 and 4 kHz, where a vocoder's
excitation is most often noise. Per frame, each signal at its own F0:
``10 log10`` of the mean power of the STFT bins within ``ON_HARMONIC`` F0 of a
harmonic over the mean power of the bins within ``BETWEEN`` F0 of a midpoint
between two harmonics (white noise: 0 dB; clean harmonics: tens of dB; real
speech: about 6-8 dB). ``harmonic_db`` is its mean over the frames voiced in
both, ``harmonic_ref_db`` the reference's over the same frames: a system
shows harmonics where the reference has them when the two agree. The mel
itself resolves the lower harmonics where its bands are narrower than F0
(up to about 1.5-2 kHz for a 200 Hz voice at 80 bands), so a waveform that
only matches the mel's band levels (a postfiltered noise baseline) scores
part of it too: read a system's figure against that row.
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


def frame_pairs(n_ref: int, n_gen: int, path: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(i, j): reference frame i[k] is compared with generated frame j[k]; frame by frame (the longer cut) when
    ``path`` (pairs, 2) is None."""
    if path is None:
        i = np.arange(min(n_ref, n_gen))
        return i, i
    return path[:, 0], path[:, 1]


def pitch_errors(f0_ref: np.ndarray, voiced_ref: np.ndarray, f0_gen: np.ndarray, voiced_gen: np.ndarray,
                 path: np.ndarray | None = None) -> dict[str, float]:
    """``{"f0_rmse_cents", "vuv_error", "voiced_both"}`` of two tracks; ``path`` (pairs, 2) of frame indices or None."""
    i, j = frame_pairs(len(f0_ref), len(f0_gen), path)
    vr, vg = np.asarray(voiced_ref, bool)[i], np.asarray(voiced_gen, bool)[j]
    if len(vr) == 0:
        return {"f0_rmse_cents": math.nan, "vuv_error": math.nan, "voiced_both": 0}
    both = vr & vg
    cents = 1200.0 * np.log2(np.asarray(f0_gen)[j][both] / np.asarray(f0_ref)[i][both])
    rmse = float(np.sqrt(np.mean(cents**2))) if both.any() else math.nan
    return {"f0_rmse_cents": rmse, "vuv_error": float(np.mean(vr != vg)), "voiced_both": int(both.sum())}


HARMONIC_BAND_HZ = (1000.0, 4000.0)
ON_HARMONIC = 0.1  # bins within 0.1 F0 of a harmonic ...
BETWEEN = 0.15  # ... against bins within 0.15 F0 of the midpoint between two harmonics


def harmonic_contrast(spec_db: np.ndarray, f0: np.ndarray, sample_rate: int, n_fft: int,
                      band: tuple[float, float] = HARMONIC_BAND_HZ) -> np.ndarray:
    """Per frame (frames,): the harmonic contrast in dB (module docstring) of ``spec_db`` (frames, n_fft // 2 + 1),
    20 log10 of an STFT magnitude, at ``f0`` (frames,) in Hz; ``nan`` where f0 is ``nan`` (unvoiced)."""
    spec_db = np.asarray(spec_db, np.float64)
    f0 = np.asarray(f0, np.float64)
    if spec_db.ndim != 2 or spec_db.shape[1] != n_fft // 2 + 1 or f0.shape != spec_db.shape[:1]:
        raise ValueError(f"need spec_db (frames, {n_fft // 2 + 1}) and f0 (frames,), got {spec_db.shape} and {f0.shape}")
    freqs = np.arange(n_fft // 2 + 1) * (sample_rate / n_fft)
    sel = (freqs > band[0]) & (freqs < band[1])
    out = np.full(len(f0), np.nan)
    voiced = np.isfinite(f0) & (f0 > 0)
    if not voiced.any() or not sel.any():
        return out
    power = 10.0 ** (spec_db[voiced][:, sel] / 10.0)
    phase = np.remainder(freqs[sel][None, :] / f0[voiced][:, None], 1.0)
    on = (phase < ON_HARMONIC) | (phase > 1.0 - ON_HARMONIC)
    off = np.abs(phase - 0.5) < BETWEEN
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = ((power * on).sum(1) / on.sum(1)) / ((power * off).sum(1) / off.sum(1))
        out[voiced] = 10.0 * np.log10(ratio)
    return out


def harmonic_figures(h_ref: np.ndarray, h_gen: np.ndarray, path: np.ndarray | None = None) -> dict[str, float]:
    """``{"harmonic_db", "harmonic_ref_db"}``: the mean harmonic contrast (:func:`harmonic_contrast`, per frame)
    of the generated and of the reference speech over the paired frames where both are defined (voiced in both);
    ``nan`` if there are none."""
    i, j = frame_pairs(len(h_ref), len(h_gen), path)
    r, g = np.asarray(h_ref)[i], np.asarray(h_gen)[j]
    both = np.isfinite(r) & np.isfinite(g)
    if not both.any():
        return {"harmonic_db": math.nan, "harmonic_ref_db": math.nan}
    return {"harmonic_db": float(g[both].mean()), "harmonic_ref_db": float(r[both].mean())}
