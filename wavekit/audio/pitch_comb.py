"""Pitch comb postfilter: make the periodicity a vocoded waveform already has reach the whole band.

A sampled source-filter vocoder repeats its low band every pitch period (its
long-term predictor works below 1 kHz), while above that its excitation is
the network's fresh noise in every period: harmonics show in the spectrogram
only low down. Speech codecs face the same with their decoded excitation and
answer with a long-term postfilter (the CELP "pitch postfilter"); this is that
idea offline, two-sided:

1. per frame of ``hop`` samples, the lag ``L`` in ``[sr / f0_max, sr / f0_min]``
   that maximises the normalised correlation ``rho(L)`` between a window of
   ``window`` samples centred on the frame and the same window ``L`` samples
   earlier (:func:`pitch_correlation`); a submultiple ``L / m`` (m = 4, 3, 2)
   whose correlation is within ``SUBMULTIPLE`` of the best is taken instead, so
   the comb sits at the period, not at a multiple of it;
2. a frame whose best correlation is below ``threshold`` is left alone (its
   gain is 0): noise, fricatives and silence, with no period to enhance, pass
   unchanged, and no voicing is invented (as the codecs' postfilter switches
   off below a correlation of 0.5);
3. ``y_t = (x_t + sum_{k=1..K} w_k (x_{t - k L} + x_{t + k L})) / (1 + 2 sum_k w_k)``
   with ``w_k = rho gain^k`` (the frame gains interpolated between frame
   centres, so that the comb fades in and out): an average over ``K`` periods
   each side, which keeps what repeats every ``L`` samples and attenuates what
   does not, at every frequency. Samples the comb would take from outside the
   waveform are left out of the sum and the weights.

A waveform that is exactly periodic with a period in the range comes out as
it went in (away from the edges); so does white noise (its correlation stays
far below the threshold). The level of the aperiodic part drops, by up to
``10 log10((1 + 2 sum w_k)^2 / (1 + 2 sum w_k^2))`` dB (6.9 dB at the defaults
with rho = 1); the mel-consistency postfilter that follows it in
:class:`wavekit.audio.postfilter.Postfilter` sets the band levels back to the
mel. Cost: one (lags, window) product per frame, a few milliseconds per second
of audio.

Input ``wav`` (T,) float; output (T,) float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SUBMULTIPLE = 0.9  # a lag L / m replaces the best L when its correlation is at least this fraction of the best's


@dataclass(frozen=True)
class PitchCombConfig:
    """Settings of :func:`pitch_comb`: ``periods`` K >= 1 each side; ``gain`` in (0, 1];
    ``threshold`` in [0, 1) the least correlation at the lag for the comb to act; the lag range from
    ``f0_min`` < ``f0_max`` (Hz); ``hop`` >= 1 and ``window`` >= 2 samples of the lag search."""

    periods: int = 2
    gain: float = 0.7
    threshold: float = 0.5
    f0_min: float = 60.0
    f0_max: float = 500.0
    hop: int = 256
    window: int = 512

    def __post_init__(self) -> None:
        for name, least in (("periods", 1), ("hop", 1), ("window", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"pitch comb {name} must be an integer >= {least}, got {value!r}")
        if not (0.0 < self.gain <= 1.0):
            raise ValueError(f"pitch comb gain must be in (0, 1], got {self.gain!r}")
        if not (0.0 <= self.threshold < 1.0):
            raise ValueError(f"pitch comb threshold must be in [0, 1), got {self.threshold!r}")
        if not (0.0 < self.f0_min < self.f0_max and math.isfinite(self.f0_max)):
            raise ValueError(f"pitch comb needs 0 < f0_min < f0_max, got {self.f0_min!r} and {self.f0_max!r}")

    def lags(self, sample_rate: int) -> tuple[int, int]:
        """(shortest, longest) lag in samples at ``sample_rate``."""
        return max(1, int(math.floor(sample_rate / self.f0_max))), int(math.ceil(sample_rate / self.f0_min))


def _check_wave(wav: Any) -> np.ndarray:
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"pitch comb expects a waveform of shape (T,), got {x.shape}")
    return x


def _best_lag(rho: np.ndarray, shortest: int) -> int:
    """Index into ``rho`` (lags shortest, shortest + 1, ...) of the period: the best lag, or its smallest
    submultiple L / m (m = 4, 3, 2, within one sample) whose correlation is within ``SUBMULTIPLE`` of it."""
    best = int(np.argmax(rho))
    lag = shortest + best
    for m in (4, 3, 2):
        centre = int(round(lag / m)) - shortest
        lo, hi = max(centre - 1, 0), min(centre + 2, len(rho))
        if lo >= hi:  # the submultiple is shorter than the shortest lag
            continue
        i = lo + int(np.argmax(rho[lo:hi]))
        if rho[i] >= SUBMULTIPLE * rho[best]:
            return i
    return best


def pitch_correlation(wav: Any, sample_rate: int, config: PitchCombConfig = PitchCombConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(lag (frames,) int64 samples, rho (frames,) float64) of every frame of ``config.hop`` samples
    (frame f centred on sample ``f * hop + hop // 2``; frames = ceil(T / hop)), as in step 1 of the
    module docstring. The waveform is taken as zero outside ``[0, T)``; a silent window has rho 0."""
    x = _check_wave(wav)
    shortest, longest = config.lags(sample_rate)
    W, hop = config.window, config.hop
    frames = -(-len(x) // hop)
    pad = longest + W
    xp = np.concatenate([np.zeros(pad), x, np.zeros(W + hop)])
    lags = np.zeros(frames, dtype=np.int64)
    rhos = np.zeros(frames)
    for f in range(frames):
        start = pad + f * hop + hop // 2 - W // 2
        seg = xp[start : start + W]
        past = sliding_window_view(xp[start - longest : start - shortest + W], W)[::-1]  # row i: lag shortest + i
        energy = float(seg @ seg)
        if energy <= 0.0:
            lags[f] = shortest
            continue
        rho = (past @ seg) / np.sqrt(np.maximum(np.einsum("ij,ij->i", past, past), 1e-300) * energy)
        i = _best_lag(rho, shortest)
        lags[f], rhos[f] = shortest + i, rho[i]
    return lags, rhos


def pitch_comb(wav: Any, sample_rate: int, config: PitchCombConfig = PitchCombConfig()) -> np.ndarray:
    """``wav`` (T,) -> (T,) float64 with its periodicity carried to every frequency (module docstring)."""
    x = _check_wave(wav)
    T = len(x)
    if T == 0:
        return x.copy()
    lag_f, rho_f = pitch_correlation(x, sample_rate, config)
    hop = config.hop
    gain_f = np.where(rho_f >= config.threshold, rho_f, 0.0)
    t = np.arange(T)
    centres = np.arange(len(gain_f)) * hop + hop // 2
    gain = np.interp(t, centres, gain_f)
    lag = lag_f[np.minimum(t // hop, len(lag_f) - 1)]
    total = x.copy()
    weight = np.ones(T)
    for k in range(1, config.periods + 1):
        w = gain * config.gain**k
        for side in (-1, 1):
            src = t + side * k * lag
            inside = (src >= 0) & (src < T) & (w > 0)
            total[inside] += w[inside] * x[src[inside]]
            weight[inside] += w[inside]
    return total / weight
