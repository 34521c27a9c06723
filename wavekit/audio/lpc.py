"""Linear prediction from the log-mel (and from the waveform, as a reference).

Convention (one for all of wavekit): the pre-emphasised signal is
``s'_t = s_t - preemphasis * s_{t-1}`` and the predictor of frame ``i`` is
``a = (a_1 .. a_order)`` with ``A(z) = 1 + sum_k a_k z^-k``, so the
prediction is ``p_t = -sum_{k=1..order} a_k s'_{t-k}`` and the excitation
``e_t = s'_t - p_t``. ``1 / A(z)`` is the spectral envelope of ``s'``.

:func:`lpc_from_mel` gets ``a`` from a log-mel of
:func:`wavekit.audio.features.log_mel_spectrogram` (natural log of the
*magnitude* mel, floored at ``mel_config.log_floor``), per frame:

1. ``exp`` -> mel magnitudes ``M`` (n_mels,); linear magnitude
   ``|X| ~ max(pinv(B) @ M, 0)`` with ``B`` the same librosa filter bank
   (:func:`mel_to_linear`; bins outside ``[fmin, fmax]``, which the bank
   does not see, take the value of the nearest bin it does see);
2. power ``|X|^2`` times the pre-emphasis response ``|1 - c e^{-jw}|^2``;
3. autocorrelation ``r_0 .. r_order`` by inverse real FFT;
4. Gaussian lag window ``exp(-(2 pi f_w k / sr)^2 / 2)`` (``lag_window_hz``)
   and white-noise floor ``r_0 *= 1 + noise_floor`` (plus a tiny absolute
   floor, so silence and zeros work);
5. :func:`levinson_durbin`.

Models consume *normalised* mels (:class:`wavekit.audio.stats.FeatureStats`):
undo that first with ``stats.denormalize(mel)`` (``mel * std + mean``
per band); :func:`lpc_from_mel` expects the raw log-mel.

numpy in -> numpy out; tensor in -> tensor out, same device and dtype
(computed in float64 inside; not differentiable).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from wavekit.audio.features import MelConfig, mel_filter_bank
from wavekit.errors import FeatureError

_ABS_FLOOR = 1e-12  # added to r_0 so that an all-zero frame gives a = 0


@dataclass(frozen=True)
class LPCConfig:
    """Linear-prediction settings (defaults for 16 kHz speech).

    ``order``: predictor order; ``preemphasis``: coefficient ``c`` of
    ``s'_t = s_t - c s_{t-1}`` (0 disables); ``lag_window_hz``: bandwidth of
    the Gaussian lag window (0 disables); ``noise_floor``: white-noise floor
    relative to the frame's power (``r_0 *= 1 + noise_floor``; 1e-4 = -40 dB).
    """

    order: int = 16
    preemphasis: float = 0.85
    lag_window_hz: float = 60.0
    noise_floor: float = 1e-4

    def __post_init__(self) -> None:
        if isinstance(self.order, bool) or not isinstance(self.order, (int, np.integer)) or self.order <= 0:
            raise ValueError(f"lpc.order must be a positive integer, got {self.order!r}")
        if not (0.0 <= self.preemphasis < 1.0):
            raise ValueError(f"lpc.preemphasis must be in [0, 1), got {self.preemphasis!r}")
        if not (self.lag_window_hz >= 0.0 and math.isfinite(self.lag_window_hz)):
            raise ValueError(f"lpc.lag_window_hz must be a non-negative number, got {self.lag_window_hz!r}")
        if not (self.noise_floor >= 0.0 and math.isfinite(self.noise_floor)):
            raise ValueError(f"lpc.noise_floor must be a non-negative number, got {self.noise_floor!r}")


_DEFAULT = LPCConfig()
_MEL = MelConfig()


def _to_torch64(x: Any) -> tuple[torch.Tensor, bool, torch.dtype, torch.device]:
    """(float64 tensor, was_numpy, original dtype, original device)."""
    if isinstance(x, torch.Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.float32
        return x.detach().to(torch.float64), False, dtype, x.device
    arr = np.asarray(x)
    dtype = torch.float64 if arr.dtype == np.float64 else torch.float32
    return (
        torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64)),
        True,
        dtype,
        torch.device("cpu"),
    )


def _back(x: torch.Tensor, as_numpy: bool, dtype: torch.dtype, device: torch.device) -> Any:
    x = x.to(dtype)
    return x.numpy() if as_numpy else x.to(device)


# ----------------------------------------------------------------------------- pre-emphasis


def preemphasis(x: Any, coef: float = _DEFAULT.preemphasis) -> Any:
    """``y_t = x_t - coef * x_{t-1}`` along the last axis (``x_{-1} = 0``); numpy or tensor, any leading dims."""
    if isinstance(x, torch.Tensor):
        y = x.clone()
        y[..., 1:] -= coef * x[..., :-1]
        return y
    x = np.asarray(x)
    y = x.copy()
    y[..., 1:] -= coef * x[..., :-1]
    return y


_preemphasis = preemphasis  # the same function, for functions whose keyword argument ``preemphasis`` shadows it


def deemphasis(y: Any, coef: float = _DEFAULT.preemphasis) -> Any:
    """Inverse of :func:`preemphasis`: ``x_t = y_t + coef * x_{t-1}`` along the last axis (tensors via CPU)."""
    from scipy.signal import lfilter

    if isinstance(y, torch.Tensor):
        out = lfilter([1.0], [1.0, -coef], y.detach().cpu().double().numpy(), axis=-1)
        return torch.from_numpy(out).to(device=y.device, dtype=y.dtype)
    y = np.asarray(y)
    return lfilter([1.0], [1.0, -coef], y, axis=-1).astype(
        y.dtype if np.issubdtype(y.dtype, np.floating) else np.float64
    )


# ----------------------------------------------------------------------------- Levinson-Durbin


def levinson_durbin(r: Any, order: int) -> tuple[Any, Any]:
    """Solve the normal equations of the autocorrelation ``r`` (..., >= order+1).

    Returns ``(a, k)``, both (..., order): predictor ``a`` (``A(z) = 1 +
    sum a_k z^-k``, i.e. ``toeplitz(r[:order]) @ a = -r[1:order+1]``) and
    reflection coefficients ``k``. For a positive-definite ``r`` every
    ``|k| < 1``; a frame whose error would reach zero is stopped there
    (remaining ``k = 0``), so the filter stays stable. numpy or tensor
    (float64 inside), batched over the leading dims.
    """
    t, as_numpy, dtype, device = _to_torch64(r)
    if t.shape[-1] < order + 1:
        raise FeatureError(f"levinson_durbin needs {order + 1} autocorrelation lags, got {t.shape[-1]}")
    lead = t.shape[:-1]
    a = torch.zeros(*lead, order, dtype=torch.float64, device=t.device)
    k = torch.zeros(*lead, order, dtype=torch.float64, device=t.device)
    err = t[..., 0].clone()
    for i in range(order):
        acc = t[..., i + 1] + (a[..., :i] * t[..., 1 : i + 1].flip(-1)).sum(-1)
        ok = err > 0
        ki = torch.where(ok, -acc / torch.where(ok, err, torch.ones_like(err)), torch.zeros_like(err))
        ki = ki.clamp(-1.0 + 1e-9, 1.0 - 1e-9)  # round-off guard only; exact arithmetic keeps |k| < 1
        prev = a[..., :i].clone()
        a[..., :i] = prev + ki[..., None] * prev.flip(-1)
        a[..., i] = ki
        k[..., i] = ki
        err = err * (1.0 - ki * ki)
    return _back(a, as_numpy, dtype, device), _back(k, as_numpy, dtype, device)


def lpc_to_reflection(a: Any) -> Any:
    """Reflection coefficients of predictors ``a`` (..., order) by the step-down recursion (inverse of Levinson).

    ``A(z)`` is stable (all roots inside the unit circle) iff every ``|k| < 1``.
    Stops (leaves zeros) where a ``|k|`` reaches 1. numpy or tensor.
    """
    t, as_numpy, dtype, device = _to_torch64(a)
    cur = t.clone()
    order = t.shape[-1]
    k = torch.zeros_like(t)
    for i in range(order - 1, -1, -1):
        ki = cur[..., i]
        k[..., i] = ki
        denom = 1.0 - ki * ki
        safe = torch.where(denom > 0, denom, torch.ones_like(denom))
        prev = cur[..., :i]
        cur = (prev - ki[..., None] * prev.flip(-1)) / safe[..., None]
    return _back(k, as_numpy, dtype, device)


def _condition(r: torch.Tensor, sample_rate: int, lag_window_hz: float, noise_floor: float) -> torch.Tensor:
    """Lag window and white-noise floor on autocorrelations (..., order+1)."""
    lags = torch.arange(r.shape[-1], dtype=torch.float64, device=r.device)
    window = torch.exp(-0.5 * (2.0 * math.pi * lag_window_hz * lags / sample_rate) ** 2)
    r = r * window
    r0 = r[..., 0] * (1.0 + noise_floor) + _ABS_FLOOR
    return torch.cat([r0[..., None], r[..., 1:]], dim=-1)


def _levinson_with_gain(r: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    a, k = levinson_durbin(r, order)
    err = r[..., 0] * torch.prod(1.0 - k * k, dim=-1)
    return a, err


# ----------------------------------------------------------------------------- from the mel


@functools.lru_cache(maxsize=8)
def _mel_inverse(cfg: MelConfig) -> np.ndarray:
    """(n_freq, n_mels) pseudo-inverse of the filter bank, with uncovered bins copied from their nearest covered bin."""
    basis = mel_filter_bank(cfg)
    inv = np.linalg.pinv(basis)
    covered = np.flatnonzero(basis.sum(axis=0) > 0)
    idx = np.arange(basis.shape[1])
    nearest = covered[np.clip(np.searchsorted(covered, idx), 0, len(covered) - 1)]
    nearest = np.where(idx < covered[0], covered[0], np.where(idx > covered[-1], covered[-1], nearest))
    inv = np.where(np.isin(idx, covered)[:, None], inv, inv[nearest])
    return inv


def mel_to_linear(log_mel: Any, mel_config: MelConfig = _MEL) -> Any:
    """Linear magnitude spectrum from a log-mel: (n_mels, F) -> (n_fft//2+1, F), or batched (B, ...).

    ``max(pinv(B) @ exp(log_mel), 0)`` with ``B`` the filter bank of
    :func:`log_mel_spectrogram`; bins outside ``[fmin, fmax]`` repeat the
    nearest covered bin. numpy or tensor, like the input.
    """
    m, as_numpy, dtype, device = _to_torch64(log_mel)
    if m.dim() not in (2, 3) or m.shape[-2] != mel_config.n_mels:
        raise FeatureError(
            f"expected a log-mel of shape (n_mels={mel_config.n_mels}, frames) or (B, n_mels, frames), "
            f"got {tuple(m.shape)}; compute it with the same mel settings"
        )
    inv = torch.from_numpy(_mel_inverse(mel_config)).to(m.device)
    mag = torch.clamp(torch.matmul(inv, torch.exp(m)), min=0.0)
    return _back(mag, as_numpy, dtype, device)


def _preemphasis_response(n_fft: int, coef: float, device: torch.device) -> torch.Tensor:
    w = torch.linspace(0.0, math.pi, n_fft // 2 + 1, dtype=torch.float64, device=device)
    return 1.0 + coef * coef - 2.0 * coef * torch.cos(w)


def _lpc_from_power(
    power: torch.Tensor, n_fft: int, sr: int, order: int, lpc: LPCConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """power (..., n_fft//2+1) of the pre-emphasised frame -> (a (..., order), error power (...))."""
    r = torch.fft.irfft(power, n=n_fft, dim=-1)[..., : order + 1]
    return _levinson_with_gain(_condition(r, sr, lpc.lag_window_hz, lpc.noise_floor), order)


def lpc_from_mel(
    log_mel: Any,
    mel_config: MelConfig = _MEL,
    *,
    order: int = _DEFAULT.order,
    preemphasis: float = _DEFAULT.preemphasis,
    lag_window: float = _DEFAULT.lag_window_hz,
    noise_floor: float = _DEFAULT.noise_floor,
    return_gain: bool = False,
) -> Any:
    """Per-frame predictor from a raw log-mel: (n_mels, F) -> (F, order), (B, n_mels, F) -> (B, F, order).

    See the module docstring for the pipeline and the sign convention
    (``lag_window`` is the lag-window bandwidth in Hz). With
    ``return_gain=True`` returns ``(a, gain)`` where ``gain`` (F,) or (B, F)
    is the excitation's RMS per sample implied by the mel (the Levinson
    error of the windowed frame divided by the window's energy), i.e.
    white noise of that RMS through ``1 / A(z)`` and de-emphasis has
    roughly the mel's level.
    """
    lpc = LPCConfig(
        order=order,
        preemphasis=preemphasis,
        lag_window_hz=lag_window,
        noise_floor=noise_floor,
    )
    mag = mel_to_linear(log_mel, mel_config)
    m, as_numpy, dtype, device = _to_torch64(mag)
    power = m.transpose(-1, -2) ** 2 * _preemphasis_response(mel_config.n_fft, lpc.preemphasis, m.device)
    a, err = _lpc_from_power(power, mel_config.n_fft, mel_config.sample_rate, order, lpc)
    a_out = _back(a, as_numpy, dtype, device)
    if not return_gain:
        return a_out
    gain = torch.sqrt(torch.clamp(err, min=0.0) / _window_energy(mel_config))
    return a_out, _back(gain, as_numpy, dtype, device)


def _window_energy(cfg: MelConfig) -> float:
    return float((torch.hann_window(cfg.win_length, periodic=True, dtype=torch.float64) ** 2).sum())


# ----------------------------------------------------------------------------- from the waveform (reference)


def lpc_from_waveform(
    wav: Any,
    mel_config: MelConfig = _MEL,
    *,
    order: int = _DEFAULT.order,
    preemphasis: float = _DEFAULT.preemphasis,
    lag_window: float = _DEFAULT.lag_window_hz,
    noise_floor: float = _DEFAULT.noise_floor,
) -> Any:
    """Autocorrelation-method LPC of the waveform, one predictor per mel frame: (T,) -> (F, order), (B, T) -> (B, F, order).

    The signal is pre-emphasised, padded and windowed exactly as
    :func:`log_mel_spectrogram` frames it (``F = T // hop``; Hann window
    centred on the frame); the autocorrelation is exact (no circular
    wrap); lag window and noise floor as in :func:`lpc_from_mel`.
    """
    lpc = LPCConfig(
        order=order,
        preemphasis=preemphasis,
        lag_window_hz=lag_window,
        noise_floor=noise_floor,
    )
    x, as_numpy, dtype, device = _to_torch64(wav)
    if x.dim() not in (1, 2):
        raise FeatureError(f"lpc_from_waveform expects audio of shape (T,) or (B, T), got {tuple(x.shape)}")
    single = x.dim() == 1
    x = x[None] if single else x
    cfg, hop = mel_config, mel_config.hop_length
    frames = x.shape[1] // hop
    x = _preemphasis(x[:, : frames * hop], lpc.preemphasis)
    left, right = cfg.padding
    mode = "reflect" if frames * hop > max(left, right) else "constant"
    x = torch.nn.functional.pad(x[:, None, :], (left, right), mode=mode)[:, 0]
    window = torch.zeros(cfg.n_fft, dtype=torch.float64, device=x.device)
    off = (cfg.n_fft - cfg.win_length) // 2
    window[off : off + cfg.win_length] = torch.hann_window(
        cfg.win_length, periodic=True, dtype=torch.float64, device=x.device
    )
    seg = x.unfold(-1, cfg.n_fft, hop)[:, :frames] * window  # (B, F, n_fft)
    r = torch.fft.irfft(torch.fft.rfft(seg, n=2 * cfg.n_fft).abs() ** 2, n=2 * cfg.n_fft)[..., : order + 1]
    a, _ = _levinson_with_gain(_condition(r, cfg.sample_rate, lpc.lag_window_hz, lpc.noise_floor), order)
    if single:
        a = a[0]
    return _back(a, as_numpy, dtype, device)


# ----------------------------------------------------------------------------- envelopes


def lpc_envelope_db(a: Any, n_fft: int, gain: Any = None) -> Any:
    """``20 log10(gain / |A(e^jw)|)`` on ``n_fft//2+1`` bins from 0 to Nyquist: a (..., order) -> (..., n_fft//2+1).

    Without ``gain`` the envelope is ``1/|A|``, whose log averages to 0 dB
    over frequency (A is minimum phase), so two envelopes compare by shape.
    """
    t, as_numpy, dtype, device = _to_torch64(a)
    poly = torch.cat([torch.ones(*t.shape[:-1], 1, dtype=torch.float64, device=t.device), t], dim=-1)
    resp = torch.fft.rfft(poly, n=n_fft, dim=-1).abs().clamp(min=1e-12)
    env = -20.0 * torch.log10(resp)
    if gain is not None:
        g, _, _, _ = _to_torch64(gain)
        g = g.to(t.device)
        env = env + 20.0 * torch.log10(g.clamp(min=1e-12))[..., None]
    return _back(env, as_numpy, dtype, device)


def log_spectral_distance_db(env_a: Any, env_b: Any) -> Any:
    """RMS over frequency of the difference of two dB spectra (..., n_bins) -> (...)."""
    d = np.asarray(env_a, dtype=np.float64) - np.asarray(env_b, dtype=np.float64)
    return np.sqrt(np.mean(d * d, axis=-1))
