"""Intelligibility and quality scores the speech field reports: STOI and wide-band PESQ.

* **STOI** (:func:`stoi`): short-time objective intelligibility of
  Taal et al. (2011) as implemented by ``pystoi`` (classic, not extended;
  pystoi resamples to 10 kHz and drops silent frames itself). Range about
  0..1, 1 for identical signals. Needs time-aligned signals: the two are
  cut to their common length.
* **PESQ** (:func:`pesq_wb`): ITU-T P.862.2 wide-band PESQ (``pesq``
  package, mode ``'wb'``) at 16 kHz (other rates are resampled with soxr).
  MOS-LQO scale, about 1.04 (worst) to 4.64 (identical). PESQ aligns the
  two signals itself, so they are passed whole (a delayed copy scores 4.64).
  A pair in which PESQ finds no speech gives ``nan`` (left out of means).

Both libraries are imported on first use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PESQ_RATE = 16000


def _pair(ref: Any, gen: Any, cut: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(ref, dtype=np.float64)
    g = np.asarray(gen, dtype=np.float64)
    if r.ndim != 1 or g.ndim != 1 or r.size == 0 or g.size == 0:
        raise ValueError(f"need two non-empty 1-D waveforms, got shapes {r.shape} and {g.shape}")
    if not cut:
        return r, g
    n = min(len(r), len(g))
    return r[:n], g[:n]


def stoi(ref: Any, gen: Any, sample_rate: int) -> float:
    """STOI of ``gen`` against ``ref`` (1-D waveforms at ``sample_rate``); see the module docstring."""
    from pystoi import stoi as _stoi

    r, g = _pair(ref, gen)
    value = float(_stoi(r, g, sample_rate, extended=False))
    return value if math.isfinite(value) else math.nan


def pesq_wb(ref: Any, gen: Any, sample_rate: int) -> float:
    """Wide-band PESQ (MOS-LQO) of ``gen`` against ``ref``; ``nan`` when PESQ finds no utterance."""
    from pesq import PesqError, pesq

    r, g = _pair(ref, gen, cut=False)
    if sample_rate != PESQ_RATE:
        import soxr

        r = soxr.resample(r, sample_rate, PESQ_RATE)
        g = soxr.resample(g, sample_rate, PESQ_RATE)
    if not (np.any(r) or np.any(g)):
        return math.nan  # two digital silences: nothing to score
    try:
        return float(pesq(PESQ_RATE, r.astype(np.float32), g.astype(np.float32), "wb"))
    except PesqError:
        return math.nan
