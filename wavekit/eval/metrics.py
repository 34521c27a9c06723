"""Objective metrics: mel-cepstral distortion, log-spectral distance, SNR, NLL.

:func:`speech_metrics` also reports STOI and wide-band PESQ
(:mod:`wavekit.eval.perceptual`) and F0 RMSE in cents and voiced/unvoiced
disagreement (:mod:`wavekit.eval.pitch`; pyin settings in
:class:`SpectralConfig`).

Conventions (fixed so that numbers are comparable between wavekit runs):

* **Mel-cepstrum** (:func:`mel_cepstrum`): power mel spectrogram from
  ``librosa.feature.melspectrogram`` (Hann window, ``center=True``,
  ``power=2``) floored at ``mel_floor``; the log *amplitude*
  ``ln A_n = ln(P_n) / 2`` of the N bands is expanded in the cepstral
  convention ``ln A(w) = c0 + 2 sum_k c_k cos(k w)`` on the mel-warped
  axis, i.e. ``c_k = (1/N) sum_n ln A_n cos(pi k (n + 1/2) / N)`` (a DCT-II
  scaled by 1/(2N)). This is the scale of SPTK's ``mcep`` coefficients,
  which the MCD formula assumes; an orthonormal DCT would inflate MCD by
  ``2 sqrt(2N)`` (about 25x for 80 bands). ``c1..c_n`` are kept (``c0``,
  the frame energy, is excluded as usual), giving ``(frames, n)``.
* **MCD** (:func:`mel_cepstral_distortion`): per aligned frame pair
  ``(10 / ln 10) * sqrt(2 * sum_d (c_d - c'_d)^2)`` dB, averaged over the
  alignment path. By Parseval this is the RMS over (mel) frequency of the
  smoothed log-amplitude difference in ``10 log10`` units. Mel-cepstra
  from mel filter banks are close to, not identical with, SPTK all-pass
  ``mcep``; compare absolute values across papers with that in mind.
* **Alignment** (:func:`align_frames`): ``"time"`` pairs frame i with
  frame i (the longer sequence is cut to the shorter); ``"dtw"`` uses
  ``librosa.sequence.dtw`` (steps (1,1), (1,0), (0,1), Euclidean cost) and
  averages over the warping path; ``"auto"`` (default) uses ``"time"``
  when both have the same number of frames (a vocoder re-synthesising a
  reference mel) and ``"dtw"`` otherwise.
* **LSD** (:func:`log_spectral_distance`): STFT magnitudes (same window and
  hop), ``20 log10 max(|S|, floor)``; per frame the RMS over frequency bins
  of the difference, averaged over aligned frames, in dB.

All waveform inputs are 1-D float arrays at ``sample_rate`` (mono).
librosa and scipy are imported on first use, so ``wavekit --help`` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavekit.likelihood import NLLResult, bits_per_dim, held_out_nll  # noqa: F401

MCD_CONSTANT = 10.0 / math.log(10.0)  # dB per natural-log unit, as in Kubichek (1993)
ALIGN_MODES = ("auto", "time", "dtw")


@dataclass(frozen=True)
class SpectralConfig:
    """Analysis settings shared by MCD and LSD (n_fft, hop and n_mels as ``wavekit.audio.MelConfig``; full band)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    n_coeffs: int = 24
    mel_floor: float = 1e-10  # floor on mel *power* before the natural log
    mag_floor: float = 1e-5  # floor on STFT *magnitude* before 20 log10 (-100 dB)
    f0_min: float = 60.0  # pyin search range (Hz); frame_length = n_fft, hop = hop_length
    f0_max: float = 500.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0:
            raise ValueError("sample_rate, n_fft and hop_length must be positive")
        if not 1 <= self.n_coeffs < self.n_mels:
            raise ValueError(f"n_coeffs must be in 1..n_mels-1 (got {self.n_coeffs} with n_mels={self.n_mels})")
        if self.mel_floor <= 0 or self.mag_floor <= 0:
            raise ValueError("floors must be positive")
        if not 0 < self.f0_min < self.f0_max <= self.sample_rate / 2:
            raise ValueError(f"need 0 < f0_min < f0_max <= sample_rate / 2, got {self.f0_min}, {self.f0_max}")


def _as_wave(wav: Any, name: str) -> np.ndarray:
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D waveform, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    return x


def mel_cepstrum(wav: Any, config: SpectralConfig = SpectralConfig()) -> np.ndarray:
    """Mel-cepstral coefficients c1..c_n of a waveform: (T,) -> (frames, n_coeffs)."""
    import librosa

    x = _as_wave(wav, "wav")
    mel = librosa.feature.melspectrogram(
        y=x,
        sr=config.sample_rate,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
        power=2.0,
    )
    log_amp = 0.5 * np.log(np.maximum(mel, config.mel_floor))  # (n_mels, frames)
    return cepstrum_from_log_amplitude(log_amp, config.n_coeffs)


def cepstrum_from_log_amplitude(log_amp: Any, n_coeffs: int = 24) -> np.ndarray:
    """Mel-cepstrum c1..c_n of a natural-log *amplitude* mel spectrogram: (n_bands, frames) -> (frames, n_coeffs).

    The cepstral convention of the module docstring (DCT-II scaled by 1/(2N));
    :func:`mel_cepstrum` applies it to a waveform's mel, and it applies as well to
    a wavekit log-mel feature (``ln`` of a magnitude mel, ``wavekit.audio.MelConfig``).
    """
    import scipy.fft

    a = np.asarray(log_amp, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"log_amp must be (n_bands, frames) with frames >= 1, got shape {a.shape}")
    if not 1 <= n_coeffs < a.shape[0]:
        raise ValueError(f"n_coeffs must be in 1..n_bands-1 (got {n_coeffs} with {a.shape[0]} bands)")
    ceps = scipy.fft.dct(a, type=2, axis=0) / (2 * a.shape[0])  # c_k, see module docstring
    return ceps[1 : n_coeffs + 1].T.copy()


def log_magnitude_db(wav: Any, config: SpectralConfig = SpectralConfig()) -> np.ndarray:
    """20 log10 of the floored STFT magnitude: (T,) -> (frames, n_fft // 2 + 1)."""
    import librosa

    x = _as_wave(wav, "wav")
    mag = np.abs(librosa.stft(x, n_fft=config.n_fft, hop_length=config.hop_length))
    return (20.0 * np.log10(np.maximum(mag, config.mag_floor))).T.copy()


def align_frames(a: np.ndarray, b: np.ndarray, mode: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Pair the frames of two feature sequences (frames_a, D), (frames_b, D).

    Returns two arrays of the same shape (pairs, D): ``a_aligned[k]`` is
    compared with ``b_aligned[k]``. See the module docstring for the modes.
    """
    path = alignment_path(a, b, mode)
    return a[path[:, 0]], b[path[:, 1]]


def alignment_path(a: np.ndarray, b: np.ndarray, mode: str = "auto") -> np.ndarray:
    """(pairs, 2) frame indices ``(i, j)`` pairing frame i of ``a`` with frame j of ``b`` (see :func:`align_frames`)."""
    if mode not in ALIGN_MODES:
        raise ValueError(f"align must be one of {ALIGN_MODES}, got {mode!r}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be (frames, D) with equal D, got {a.shape} and {b.shape}")
    if mode == "auto":
        mode = "time" if len(a) == len(b) else "dtw"
    if mode == "time":
        n = np.arange(min(len(a), len(b)))
        return np.stack([n, n], axis=1)
    import librosa

    _, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    return np.ascontiguousarray(path[::-1])  # librosa returns the path from the end to the start


def mcd_from_cepstra(c_ref: np.ndarray, c_gen: np.ndarray, align: str = "auto") -> float:
    """Mean mel-cepstral distortion (dB) between (frames, n_coeffs) cepstra (c0 already excluded)."""
    a, b = align_frames(np.asarray(c_ref, np.float64), np.asarray(c_gen, np.float64), align)
    per_frame = MCD_CONSTANT * np.sqrt(2.0 * np.sum((a - b) ** 2, axis=1))
    return float(per_frame.mean())


def mel_cepstral_distortion(
    ref: Any, gen: Any, config: SpectralConfig = SpectralConfig(), align: str = "auto"
) -> float:
    """Mel-cepstral distortion in dB between reference and generated speech (0 for identical)."""
    return mcd_from_cepstra(mel_cepstrum(ref, config), mel_cepstrum(gen, config), align)


def lsd_from_spectra(db_ref: np.ndarray, db_gen: np.ndarray, align: str = "auto") -> float:
    """Log-spectral distance in dB between (frames, bins) spectra of :func:`log_magnitude_db`."""
    a, b = align_frames(db_ref, db_gen, align)
    return float(np.sqrt(np.mean((a - b) ** 2, axis=1)).mean())


def log_spectral_distance(
    ref: Any, gen: Any, config: SpectralConfig = SpectralConfig(), align: str = "auto"
) -> float:
    """Log-spectral distance in dB: mean over aligned frames of the per-frame RMS dB difference."""
    return lsd_from_spectra(log_magnitude_db(ref, config), log_magnitude_db(gen, config), align)


def snr_db(ref: Any, gen: Any) -> float:
    """Signal-to-noise ratio 10 log10(sum ref^2 / sum (ref - gen)^2) over the common length.

    Waveforms are compared sample by sample (no alignment); the longer one is
    cut to the shorter. Identical signals give ``inf``.
    """
    r, g = _as_wave(ref, "ref"), _as_wave(gen, "gen")
    n = min(len(r), len(g))
    r, g = r[:n], g[:n]
    noise = float(np.sum((r - g) ** 2))
    signal = float(np.sum(r**2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def speech_metrics(
    ref: Any, gen: Any, config: SpectralConfig = SpectralConfig(), align: str = "auto"
) -> dict[str, float]:
    """All reference-vs-generated speech metrics for one utterance pair.

    ``stoi`` needs time alignment: with ``align="dtw"`` (or ``"auto"`` on
    different lengths) it is ``nan``; F0 frames are then paired along the
    mel-cepstral DTW path.
    """
    from wavekit.eval.perceptual import pesq_wb, stoi
    from wavekit.eval.pitch import f0_track, harmonic_contrast, harmonic_figures, pitch_errors

    r, g = _as_wave(ref, "ref"), _as_wave(gen, "gen")
    c_ref, c_gen = mel_cepstrum(r, config), mel_cepstrum(g, config)
    mode = align if align != "auto" else ("time" if len(c_ref) == len(c_gen) else "dtw")
    pitch_kw: dict[str, Any] = {"f0_min": config.f0_min, "f0_max": config.f0_max, "frame_length": config.n_fft,
                "hop_length": config.hop_length}
    f0_r, v_r = f0_track(r, config.sample_rate, **pitch_kw)
    f0_g, v_g = f0_track(g, config.sample_rate, **pitch_kw)
    path = None if mode == "time" else alignment_path(c_ref, c_gen, mode)
    pitch = pitch_errors(f0_r, v_r, f0_g, v_g, path)
    db_ref, db_gen = log_magnitude_db(r, config), log_magnitude_db(g, config)
    h_ref, h_gen = (harmonic_contrast(db[: len(f0)], f0[: len(db)], config.sample_rate, config.n_fft)
                    for db, f0 in ((db_ref, f0_r), (db_gen, f0_g)))
    harmonics = harmonic_figures(h_ref, h_gen, path)
    return {
        "mcd_db": mcd_from_cepstra(c_ref, c_gen, mode),
        "lsd_db": lsd_from_spectra(db_ref, db_gen, mode),
        "snr_db": snr_db(r, g),
        "stoi": stoi(r, g, config.sample_rate) if mode == "time" else math.nan,
        "pesq": pesq_wb(r, g, config.sample_rate),
        "f0_rmse_cents": pitch["f0_rmse_cents"],
        "vuv_error": pitch["vuv_error"],
        "voiced_both": pitch["voiced_both"],
        **harmonics,
        "ref_seconds": len(r) / config.sample_rate,
        "gen_seconds": len(g) / config.sample_rate,
    }
