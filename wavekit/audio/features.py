"""Log-mel spectrogram features: one implementation for numpy, CPU and GPU tensors.

Definition (defaults of :class:`MelConfig` in brackets):

- audio at ``sample_rate`` [16 kHz], float in [-1, 1];
- frames: ``frames = len(wav) // hop_length`` [hop 256 samples = 16 ms].
  Frame ``i`` describes samples ``[i*hop, (i+1)*hop)``; samples after
  ``frames*hop`` are ignored (preprocessing drops them, so audio and
  frames stay aligned);
- analysis window: periodic Hann of ``win_length`` [1024] samples,
  zero-padded to ``n_fft`` [1024] and *centred on its frame*: the signal
  is reflect-padded by ``(n_fft - hop) // 2`` samples on the left and
  ``n_fft - hop - (n_fft - hop) // 2`` on the right and analysed with
  ``center=False``. (Inputs too short to reflect are zero-padded instead.);
- magnitude spectrum ``|STFT|`` (power 1, not squared), projected on
  librosa's Slaney-normalised mel filter bank (``librosa.filters.mel``,
  ``n_mels`` [80] bands between ``fmin`` [80 Hz] and ``fmax`` [7600 Hz]);
- natural log with a floor: ``log(max(mel, log_floor))`` [1e-5], so
  digital silence maps to ``log(1e-5) = -11.51`` in every band.

This equals ``np.log(np.maximum(librosa.feature.melspectrogram(y=padded,
sr=sr, n_fft=n_fft, hop_length=hop, win_length=win_length, center=False,
power=1.0, n_mels=n_mels, fmin=fmin, fmax=fmax), log_floor))`` where
``padded`` is the padding above (tests check it on real speech).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from wavekit.errors import FeatureError


@dataclass(frozen=True)
class MelConfig:
    """Settings of :func:`log_mel_spectrogram` (see the module docstring for the exact definition)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 80.0
    fmax: float = 7600.0
    log_floor: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "win_length", "hop_length", "n_mels"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"mel.{name} must be a positive integer, got {v!r}")
        if self.win_length > self.n_fft:
            raise ValueError(f"mel.win_length ({self.win_length}) must not exceed mel.n_fft ({self.n_fft})")
        if self.hop_length > self.n_fft:
            raise ValueError(f"mel.hop_length ({self.hop_length}) must not exceed mel.n_fft ({self.n_fft})")
        if not 0.0 <= self.fmin < self.fmax:
            raise ValueError(f"need 0 <= mel.fmin < mel.fmax, got fmin={self.fmin}, fmax={self.fmax}")
        if self.fmax > self.sample_rate / 2:
            raise ValueError(
                f"mel.fmax ({self.fmax}) must not exceed half the sample rate ({self.sample_rate / 2:g} Hz)"
            )
        if not (self.log_floor > 0.0 and math.isfinite(self.log_floor)):
            raise ValueError(f"mel.log_floor must be a positive number, got {self.log_floor!r}")

    @property
    def padding(self) -> tuple[int, int]:
        """(left, right) samples of reflect padding that centre each window on its frame."""
        left = (self.n_fft - self.hop_length) // 2
        return left, self.n_fft - self.hop_length - left

    @property
    def silence_value(self) -> float:
        """The log-mel value of digital silence: ``log(log_floor)``."""
        return math.log(self.log_floor)

    def frames(self, num_samples: int) -> int:
        """Number of frames for ``num_samples`` samples: ``num_samples // hop_length``."""
        return int(num_samples) // self.hop_length


@functools.lru_cache(maxsize=16)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa  # imported lazily: only the filter bank is needed from it

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float64)


def mel_filter_bank(cfg: MelConfig) -> np.ndarray:
    """The (n_mels, n_fft // 2 + 1) Slaney mel filter bank used by :func:`log_mel_spectrogram`."""
    return _mel_basis(cfg.sample_rate, cfg.n_fft, cfg.n_mels, float(cfg.fmin), float(cfg.fmax))


def log_mel_spectrogram(wav: Any, cfg: MelConfig = MelConfig()) -> Any:
    """Log-mel spectrogram of ``wav`` (T,) -> (n_mels, frames), or (B, T) -> (B, n_mels, frames).

    ``frames == T // cfg.hop_length``. numpy in -> numpy out, tensor in ->
    tensor out on the same device. float64 inputs are analysed in float64,
    everything else in float32.
    """
    as_numpy = not isinstance(wav, torch.Tensor)
    x = torch.from_numpy(np.ascontiguousarray(wav)) if as_numpy else wav
    if not x.is_floating_point():
        raise FeatureError(f"log_mel_spectrogram expects floating-point audio in [-1, 1], got dtype {x.dtype}")
    if x.dim() not in (1, 2):
        raise FeatureError(f"log_mel_spectrogram expects audio of shape (T,) or (B, T), got {tuple(x.shape)}")
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    single = x.dim() == 1
    x = x.to(dtype)
    x = x[None] if single else x
    if x.shape[1] // cfg.hop_length == 0:
        out = torch.zeros(x.shape[0], cfg.n_mels, 0, dtype=dtype, device=x.device)
    else:
        basis = torch.from_numpy(mel_filter_bank(cfg)).to(device=x.device, dtype=dtype)
        out = torch.log(torch.clamp(torch.matmul(basis, _stft(x, cfg).abs()), min=cfg.log_floor))
    if single:
        out = out[0]
    return out.numpy() if as_numpy else out


def _stft(x: torch.Tensor, cfg: MelConfig) -> torch.Tensor:
    """Complex STFT (B, n_fft // 2 + 1, T // hop) of real (B, T), T >= hop, with the framing defined above."""
    hop = cfg.hop_length
    frames = x.shape[1] // hop
    x = x[:, : frames * hop]
    left, right = cfg.padding
    mode = "reflect" if frames * hop > max(left, right) else "constant"
    x = F.pad(x[:, None, :], (left, right), mode=mode)[:, 0]
    window = torch.hann_window(cfg.win_length, periodic=True, dtype=x.dtype, device=x.device)
    return torch.stft(x, cfg.n_fft, hop_length=hop, win_length=cfg.win_length, window=window, center=False,
                      return_complex=True)


def stft(wav: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """Complex STFT of ``wav`` (T,) or (B, T) -> (n_freq, frames) or (B, n_freq, frames), n_freq = n_fft // 2 + 1.

    The analysis of :func:`log_mel_spectrogram` (same padding, window and
    frames, ``frames == T // hop_length >= 1``): ``log_mel_spectrogram(wav)``
    is ``log(max(mel_filter_bank(cfg) @ |stft(wav)|, log_floor))``.
    :func:`istft` inverts it.
    """
    if not wav.is_floating_point() or wav.dim() not in (1, 2) or wav.shape[-1] < cfg.hop_length:
        raise FeatureError(f"stft expects floating-point audio of shape (T,) or (B, T) with T >= hop_length "
                           f"({cfg.hop_length}), got {tuple(wav.shape)} {wav.dtype}")
    spec = _stft(wav.reshape(-1, wav.shape[-1]), cfg)
    return spec[0] if wav.dim() == 1 else spec


def istft(spec: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """Waveform (frames * hop,) or (B, frames * hop) from a complex STFT laid out as :func:`stft` makes it.

    Weighted overlap-add (the analysis window again, divided by the summed
    squared windows), so ``istft(stft(x)) == x`` for ``x`` of ``frames * hop``
    samples, to rounding (a modified spectrum gives the least-squares signal).
    """
    if not spec.is_complex() or spec.dim() not in (2, 3) or spec.shape[-2] != cfg.n_fft // 2 + 1:
        raise FeatureError(f"istft expects a complex spectrum of shape ({cfg.n_fft // 2 + 1}, frames) or "
                           f"(B, {cfg.n_fft // 2 + 1}, frames), got {tuple(spec.shape)} {spec.dtype}")
    s = spec.reshape(-1, *spec.shape[-2:])
    hop, frames = cfg.hop_length, s.shape[-1]
    real = torch.float64 if s.dtype == torch.complex128 else torch.float32
    window = torch.hann_window(cfg.win_length, periodic=True, dtype=real, device=s.device)
    window = F.pad(window, ((cfg.n_fft - cfg.win_length) // 2, (cfg.n_fft - cfg.win_length + 1) // 2))
    chunks = torch.fft.irfft(s, n=cfg.n_fft, dim=1) * window[None, :, None]  # (B, n_fft, frames)
    length = (frames - 1) * hop + cfg.n_fft
    fold = dict(output_size=(1, length), kernel_size=(1, cfg.n_fft), stride=(1, hop))
    y = F.fold(chunks, **fold)[:, 0, 0]
    norm = F.fold((window**2)[None, :, None].expand(1, -1, frames).contiguous(), **fold)[0, 0, 0]
    left = cfg.padding[0]
    out = (y / norm.clamp(min=1e-8))[:, left : left + frames * hop]
    return out[0] if spec.dim() == 2 else out
