"""Output distributions behind one interface.

Every distribution reads parameters ``params`` (B, P, T) with
``P == num_params`` and describes one value per position:

- ``log_prob(params, x)``: x (B, T) -> log-probabilities (B, T);
- ``sample(params, temperature=1.0, generator=None)`` -> values (B, T);
  temperature 0 is ``mode``; generator as in :mod:`wavekit.core.sampling`
  (None, one generator, or one per batch row);
- ``mode(params)`` -> a most likely value (B, T), deterministic;
- ``sample_from_uniforms(params, temperature, u)``: one position per row, params
  (B, P), temperature (B,), u (B, 3) uniforms in [0, 1) -> values (B,) by
  inverse-CDF formulas in float64. This is generation's sampling convention
  (:mod:`wavekit.generate.draw` calls it; its numba twin ``sample_column``
  computes the same expressions in the same order), so a stream's samples
  depend only on its own uniforms.

Values: :class:`Categorical` uses class indices (long, 0..num_classes-1);
:class:`DiscretizedMixtureOfLogistics` and :class:`DiscretizedGaussian` use
floats in [-1, 1] on ``num_classes`` evenly spaced bin centres, the edge bins
taking the whole tails, so every distribution is a normalised distribution
over a finite set of values and log-likelihoods are comparable (nats).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from wavekit.core import mixture, sampling
from wavekit.core.sampling import Generators


class Distribution(ABC):
    """Per-position distribution parameterised by (B, num_params, T)."""

    num_params: int

    @abstractmethod
    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        """params (B, P, T), x (B, T) -> (B, T)."""

    @abstractmethod
    def sample(self, params: Tensor, temperature: float = 1.0, generator: Generators = None) -> Tensor:
        """params (B, P, T) -> (B, T)."""

    @abstractmethod
    def mode(self, params: Tensor) -> Tensor:
        """params (B, P, T) -> (B, T)."""

    @abstractmethod
    def sample_from_uniforms(self, params: Tensor, temperature: Tensor, u: Tensor) -> Tensor:
        """params (B, P), temperature (B,), u (B, 3) in [0, 1) -> (B,) values, computed in float64.

        Rows with temperature 0 take the mode. Written without Python-side branching on
        values, so a generation step that calls it can be captured as a CUDA graph.
        """

    def _check(self, params: Tensor) -> None:
        if params.dim() != 3 or params.shape[1] != self.num_params:
            raise ValueError(
                f"{type(self).__name__} expects params (B, {self.num_params}, T), got {tuple(params.shape)}"
            )


class Categorical(Distribution):
    """Softmax over ``num_classes`` classes (e.g. mu-law levels); params are logits."""

    def __init__(self, num_classes: int) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.num_classes = self.num_params = num_classes

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        self._check(params)
        if x.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"Categorical values must be integer class indices, got {x.dtype}")
        # cross_entropy is log_softmax + gather in one op (the same numbers); its backward
        # writes softmax - one-hot directly instead of scattering into a zero (B, C, T) tensor
        return -F.cross_entropy(params, x.long(), reduction="none")

    def sample(self, params: Tensor, temperature: float = 1.0, generator: Generators = None) -> Tensor:
        self._check(params)
        return sampling.sample_logits(params, temperature, generator, dim=1)

    def mode(self, params: Tensor) -> Tensor:
        self._check(params)
        return params.argmax(dim=1)

    def sample_from_uniforms(self, params: Tensor, temperature: Tensor, u: Tensor) -> Tensor:
        """The first class k with ``cumsum(exp((logits - max) / T))[k] > u0 * total``; long (B,)."""
        return sampling.categorical_from_uniform(
            params.to(torch.float64), temperature.to(torch.float64), u.to(torch.float64)[:, 0]
        )


class DiscretizedMixtureOfLogistics(Distribution):
    """Mixture of ``mixtures`` logistics discretized to ``num_classes`` bins on [-1, 1].

    A thin wrapper over :mod:`wavekit.core.mixture` with one channel (the math
    is shared with the image models). Parameter layout per position:
    ``[logits K | means K | log-scales K]`` (P = 3K).
    """

    def __init__(self, mixtures: int, num_classes: int = 65536, log_scale_min: float = -7.0) -> None:
        self.mixtures = mixtures
        self.num_classes = num_classes
        self.log_scale_min = log_scale_min
        self.num_params = mixture.mixture_num_params(mixtures, 1)
        self._kw: dict[str, Any] = dict(
            mixtures=mixtures, channels=1, num_classes=num_classes, log_scale_min=log_scale_min
        )

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        self._check(params)
        return mixture.mixture_log_prob(params, x.unsqueeze(1), **self._kw).squeeze(1)

    def sample(self, params: Tensor, temperature: float = 1.0, generator: Generators = None) -> Tensor:
        self._check(params)
        sampling.check_temperature(temperature)
        if generator is None or isinstance(generator, torch.Generator):
            return mixture.mixture_sample(params, temperature=temperature, generator=generator, **self._kw).squeeze(1)
        if len(generator) != params.shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {params.shape[0]}")
        rows = [
            mixture.mixture_sample(params[b : b + 1], temperature=temperature, generator=g, **self._kw)
            for b, g in enumerate(generator)
        ]
        return torch.cat(rows).squeeze(1)

    def mode(self, params: Tensor) -> Tensor:
        self._check(params)
        return mixture.mixture_mode(params, **self._kw).squeeze(1)

    def sample_from_uniforms(self, params: Tensor, temperature: Tensor, u: Tensor) -> Tensor:
        """Component k from the K logits with u0 (as :class:`Categorical`), then
        ``mean_k + T * exp(max(log_s_k, min)) * (log u1 - log1p(-u1))`` (the logistic's inverse
        CDF, u1 clamped to [1e-6, 1 - 1e-6]), snapped to the bins; T = 0: the snapped mean of the
        most probable component. float64 (B,).
        """
        params, temperature, u = params.to(torch.float64), temperature.to(torch.float64), u.to(torch.float64)
        K = self.mixtures
        u1 = u[:, 1].clamp(sampling.U_TINY, 1.0 - sampling.U_TINY)
        k = sampling.categorical_from_uniform(params[:, :K], temperature, u[:, 0]).unsqueeze(1)
        mean = params[:, K : 2 * K].gather(1, k)[:, 0]
        log_s = params[:, 2 * K : 3 * K].gather(1, k)[:, 0].clamp(min=self.log_scale_min)
        noisy = mean + temperature * torch.exp(log_s) * (torch.log(u1) - torch.log1p(-u1))
        return mixture.snap_to_bins(torch.where(temperature > 0, noisy, mean), self.num_classes)


def _log_ndtr(z: Tensor) -> Tensor:
    """log Phi(z) with finite gradients everywhere (torch's backward breaks far in the lower tail).

    Below z = -20 the asymptotic series log(phi(z) / |z| * (1 - 1/z^2 + 3/z^4)) is used; its
    relative error there is below 1e-7.
    """
    tail = z.clamp(min=-1e18, max=-20.0)
    inv2 = 1.0 / (tail * tail)
    asym = -0.5 * tail * tail - torch.log(-tail) - 0.5 * math.log(2 * math.pi) + torch.log1p(-inv2 + 3 * inv2 * inv2)
    return torch.where(z < -20.0, asym, torch.special.log_ndtr(z.clamp(min=-20.0, max=40.0)))


class DiscretizedGaussian(Distribution):
    """Gaussian discretized to ``num_classes`` bins on [-1, 1]; params ``[mean, log_std]`` (P = 2).

    The bin of x is [x - h, x + h] with h = 1 / (num_classes - 1); the edge
    bins take the tails. The mass of a central bin is computed in the lower
    tail of the normal CDF (mirrored when the bin lies above the mean), where
    ``log_ndtr`` keeps full precision; when the bin is narrower than 1e-3
    standard deviations the midpoint rule (log density x width, relative
    error below 1e-7 z^2) replaces the CDF difference, which would cancel.
    Samples are snapped to bin centres, like the mixture's.
    """

    num_params = 2
    _NARROW = 1e-3

    def __init__(self, num_classes: int = 65536, log_scale_min: float = -7.0) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.num_classes = num_classes
        self.log_scale_min = log_scale_min

    def _split(self, params: Tensor) -> tuple[Tensor, Tensor]:
        self._check(params)
        return params[:, 0], params[:, 1].clamp(min=self.log_scale_min)

    def log_prob(self, params: Tensor, x: Tensor) -> Tensor:
        mean, log_std = self._split(params)
        x = x.to(params.dtype)
        h = 1.0 / (self.num_classes - 1)
        inv_std = torch.exp(-log_std)
        z_plus = (x - mean + h) * inv_std
        z_minus = (x - mean - h) * inv_std
        width = 2.0 * h * inv_std  # bin width in standard deviations
        # central bin, exact: log(Phi(hi) - Phi(lo)) in the lower tail
        mirror = (z_plus + z_minus) > 0
        lo = torch.where(mirror, -z_plus, z_minus)
        hi = torch.where(mirror, -z_minus, z_plus)
        log_hi = _log_ndtr(hi)
        gap = (_log_ndtr(lo) - log_hi).clamp(max=-1e-30)
        log_delta = log_hi + torch.log(-torch.expm1(gap))
        # central bin, narrow: density at the centre times the width
        z = (x - mean) * inv_std
        log_mid = -0.5 * z * z - 0.5 * math.log(2 * math.pi) + math.log(2.0 * h) - log_std  # log width: no underflow
        central = torch.where(width < self._NARROW, log_mid, log_delta)
        lower = x < -1.0 + h
        upper = x > 1.0 - h
        left_tail = _log_ndtr(z_plus)
        right_tail = _log_ndtr(-z_minus)
        return torch.where(lower, left_tail, torch.where(upper, right_tail, central))

    def sample(self, params: Tensor, temperature: float = 1.0, generator: Generators = None) -> Tensor:
        sampling.check_temperature(temperature)
        if temperature == 0:
            return self.mode(params)
        mean, log_std = self._split(params)
        noise = sampling.randn(mean.shape, generator, dtype=mean.dtype, device=mean.device)
        return mixture.snap_to_bins(mean + temperature * torch.exp(log_std) * noise, self.num_classes)

    def mode(self, params: Tensor) -> Tensor:
        mean, _ = self._split(params)
        return mixture.snap_to_bins(mean, self.num_classes)

    def sample_from_uniforms(self, params: Tensor, temperature: Tensor, u: Tensor) -> Tensor:
        """``mean + T * exp(max(log_s, min)) * sqrt(-2 log u1) * cos(2 pi u2)`` (Box-Muller, u1
        clamped to [1e-6, 1 - 1e-6]), snapped to the bins; T = 0: the snapped mean. float64 (B,).
        """
        params, temperature, u = params.to(torch.float64), temperature.to(torch.float64), u.to(torch.float64)
        u1 = u[:, 1].clamp(sampling.U_TINY, 1.0 - sampling.U_TINY)
        mean, log_s = params[:, 0], params[:, 1].clamp(min=self.log_scale_min)
        noisy = mean + temperature * torch.exp(log_s) * torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(
            2.0 * math.pi * u[:, 2]
        )
        return mixture.snap_to_bins(torch.where(temperature > 0, noisy, mean), self.num_classes)
