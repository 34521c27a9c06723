"""Mel-consistency postfilter: make a vocoded waveform's log-mel equal the mel it was vocoded from.

The vocoders apply it after the pitch comb (:mod:`wavekit.audio.pitch_comb`): :class:`Postfilter`,
:func:`postfilter`.

A vocoder is asked for audio whose log-mel is the input mel; a sampled
autoregressive vocoder gets the envelope about right and the level of each
band in each frame only on average. :func:`mel_postfilter` corrects that,
``iterations`` times:

1. analyse the waveform (:func:`wavekit.audio.features.stft`, the framing of
   the mel itself) and take its log-mel;
2. per frame and mel band, the log-gain ``target - got``, clipped to
   ``+-max_log_gain`` (so a band the vocoder left silent is not blown up
   into noise);
3. per frequency bin, the filter-bank-weighted mean of the band log-gains
   (bins no band covers, below ``fmin`` / above ``fmax``, are left alone);
4. scale the complex spectrum by it, keeping the vocoder's phase, and
   resynthesise (:func:`wavekit.audio.features.istft`, least squares).

It changes magnitudes only, never phase: harmonics, voicing and the fine
time structure stay the vocoder's; what changes is the level of each band
in each 16 ms frame. (Griffin-Lim alternates analysis and resynthesis too,
but from random phase and with magnitudes taken wholly from the mel's
inverse; here both phase and fine structure come from the network.) Cost: ``iterations`` x (STFT + inverse) per
utterance, a few milliseconds per second of audio.

Input: ``wav`` (T,) float, ``log_mel`` (n_mels, frames) the *raw* log-mel
(undo the corpus normalisation first: ``FeatureStats.denormalize``), with
``frames * hop <= T``; output (T,) float32, samples past ``frames * hop``
unchanged. :class:`Postfilter` binds it to a vocoder's mel settings and
feature statistics, taking the normalised mel the vocoder was given.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from wavekit.audio.features import MelConfig, istft, mel_filter_bank, stft
from wavekit.audio.inversion import check_log_mel
from wavekit.audio.pitch_comb import PitchCombConfig, pitch_comb
from wavekit.audio.stats import FeatureStats


@dataclass(frozen=True)
class PostfilterConfig:
    """Settings of :func:`mel_postfilter`: ``iterations`` >= 1; ``max_log_gain`` > 0 (natural log, 3 = 26 dB)."""

    iterations: int = 4
    max_log_gain: float = 3.0

    def __post_init__(self) -> None:
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"postfilter iterations must be an integer >= 1, got {self.iterations!r}")
        if not (self.max_log_gain > 0 and np.isfinite(self.max_log_gain)):
            raise ValueError(f"postfilter max_log_gain must be a positive number, got {self.max_log_gain!r}")


@functools.lru_cache(maxsize=8)
def _bin_weights(cfg: MelConfig) -> np.ndarray:
    """(n_freq, n_mels): each bin's filter-bank weights over the bands, rows summing to 1 (0 where no band)."""
    basis = mel_filter_bank(cfg).T
    total = basis.sum(1, keepdims=True)
    return np.divide(basis, total, out=np.zeros_like(basis), where=total > 0)


def mel_postfilter(
    wav: Any, log_mel: Any, mel_config: MelConfig = MelConfig(), config: PostfilterConfig = PostfilterConfig()
) -> np.ndarray:
    """``wav`` (T,) with its log-mel moved onto ``log_mel`` (n_mels, frames), raw; see the module docstring."""
    cfg = mel_config
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"mel_postfilter expects a waveform of shape (T,), got {x.shape}")
    target = check_log_mel(log_mel, cfg)
    n = target.shape[1] * cfg.hop_length
    if n > len(x):
        raise ValueError(f"the mel has {target.shape[1]} frames ({n} samples) but the waveform only {len(x)} samples")
    basis = torch.from_numpy(mel_filter_bank(cfg))
    weights = torch.from_numpy(_bin_weights(cfg))
    goal = torch.from_numpy(target)
    y = torch.from_numpy(x[:n].copy())
    for _ in range(config.iterations):
        spec = stft(y, cfg)  # (n_freq, frames)
        got = torch.log(torch.clamp(basis @ spec.abs(), min=cfg.log_floor))
        gain = torch.clamp(goal - got, -config.max_log_gain, config.max_log_gain)
        y = istft(spec * torch.exp(weights @ gain), cfg)
    out = x.copy()
    out[:n] = y.numpy()
    return out.astype(np.float32)


@dataclass(frozen=True)
class Postfilter:
    """What ``wavekit vocode`` and ``wavekit synthesize`` apply to every output, bound to a vocoder's
    features (its mel settings and the statistics its mels are normalised with): the pitch comb
    (:func:`wavekit.audio.pitch_comb.pitch_comb`, ``comb``; None = without it), which carries the
    periodicity the output has to every frequency, then :func:`mel_postfilter`, which sets the band levels."""

    mel: MelConfig
    stats: FeatureStats
    config: PostfilterConfig = PostfilterConfig()
    comb: PitchCombConfig | None = PitchCombConfig()

    def apply(self, wav: np.ndarray, mel: np.ndarray) -> np.ndarray:
        """``wav`` (T,) vocoded from the normalised ``mel`` (n_mels, frames) -> (T,) float32, its log-mel matched."""
        return postfilter(wav, self.stats.denormalize(mel), self.mel, self.config, self.comb)


def postfilter(
    wav: Any, log_mel: Any, mel_config: MelConfig = MelConfig(), config: PostfilterConfig = PostfilterConfig(),
    comb: PitchCombConfig | None = PitchCombConfig(),
) -> np.ndarray:
    """The vocoders' postfilter on a *raw* ``log_mel`` (n_mels, frames): the pitch comb of ``wav`` (T,)
    (:func:`~wavekit.audio.pitch_comb.pitch_comb`, unless ``comb`` is None), then :func:`mel_postfilter`;
    (T,) float32."""
    x = wav if comb is None else pitch_comb(wav, mel_config.sample_rate, comb)
    return mel_postfilter(x, log_mel, mel_config, config)
