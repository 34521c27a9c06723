"""Waveforms back from a log-mel: Griffin-Lim phase reconstruction.

:func:`griffin_lim` takes the *raw* log-mel of
:func:`wavekit.audio.log_mel_spectrogram` (undo the corpus normalisation
first: ``FeatureStats.denormalize``), shape (n_mels, frames), and returns
``frames * hop`` samples aligned with it (frame ``i`` covers samples
``[i*hop, (i+1)*hop)``). Linear magnitude from the filter-bank inverse
(:func:`wavekit.audio.lpc.mel_to_linear`), phase by ``librosa.griffinlim``
(fast/momentum variant, fixed random start). Used as a baseline vocoder
(:mod:`wavekit.eval.baselines`) and to estimate F0 from a mel
(:func:`wavekit.audio.pitch.f0_from_mel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wavekit.audio.features import MelConfig
from wavekit.audio.lpc import mel_to_linear

_MEL = MelConfig()


def check_log_mel(log_mel: Any, cfg: MelConfig) -> np.ndarray:
    """``log_mel`` as float64 (n_mels, frames > 0), or ``ValueError`` naming the shape it has."""
    m = np.asarray(log_mel, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != cfg.n_mels or m.shape[1] == 0:
        raise ValueError(f"expected a log-mel of shape (n_mels={cfg.n_mels}, frames > 0), got {m.shape}")
    return m


def griffin_lim(log_mel: Any, mel_config: MelConfig = _MEL, *, n_iter: int = 100, seed: int = 0) -> np.ndarray:
    """Griffin-Lim waveform (frames * hop,) float32 from a raw log-mel (n_mels, frames)."""
    import librosa

    cfg = mel_config
    mag = mel_to_linear(check_log_mel(log_mel, cfg), cfg)  # (n_fft//2+1, frames)
    frames, hop = mag.shape[1], cfg.hop_length
    # librosa centres frame i on sample i*hop, ours on i*hop + hop//2 (features.py): run Griffin-Lim on
    # z(t) = y(t + hop//2), whose F librosa frames are ours, then shift back (the last hop//2 samples stay 0)
    z = librosa.griffinlim(mag, n_iter=n_iter, hop_length=hop, win_length=cfg.win_length, n_fft=cfg.n_fft,
                           window="hann", center=True, length=(frames - 1) * hop, init="random",
                           random_state=np.random.default_rng(seed))
    out = np.zeros(frames * hop)
    out[hop // 2 : hop // 2 + len(z)] = z
    return out.astype(np.float32)
