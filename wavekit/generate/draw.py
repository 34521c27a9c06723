"""Drawing a sample from distribution parameters with given uniforms (torch), and its numba twin.

Generation takes its randomness from per-stream uniforms, three per sample
(``numpy.random.default_rng(seed).random((n, 3))``), and turns them into a
value by inverse-CDF formulas. The torch formulas have one home, each output
distribution's :meth:`wavekit.core.distributions.Distribution.sample_from_uniforms`;
:func:`draw` picks the distribution for an output kind and calls it (the torch
stepper, CPU or CUDA, and the reference loop of the tests). The compiled CPU
kernel cannot call torch, so ``sample_column`` (:mod:`wavekit.generate.draw_kernel`, which
only the numba backend imports) writes the same
expressions again for numba, in the same order in float64: the same seed gives
the same samples on every backend up to float rounding (mu-law classes are
identical in practice).

Per row b with temperature T_b and uniforms (u0, u1, u2):

- mu-law: the first class k with ``cumsum(exp((logits - max) / T))[k] > u0 * total``;
  T = 0 takes the first argmax;
- mixture of logistics: component k as above from the K logits, then
  ``mean_k + T * exp(max(log_s_k, min)) * (log u1 - log1p(-u1))`` (the
  logistic's inverse CDF), snapped to the bins; T = 0: the snapped mean of the
  most probable component;
- gaussian: ``mean + T * exp(max(log_s, min)) * sqrt(-2 log u1) * cos(2 pi u2)``
  (Box-Muller), snapped; T = 0: the snapped mean.

u1 is clamped to [1e-6, 1 - 1e-6]. Everything is written without Python-side
branching on values, so one step can be captured as a CUDA graph.
"""

from __future__ import annotations

import functools

from torch import Tensor

from wavekit.core.distributions import (
    Categorical,
    DiscretizedGaussian,
    DiscretizedMixtureOfLogistics,
    Distribution,
)

OUT_MULAW, OUT_MOL, OUT_GAUSSIAN = 0, 1, 2
KINDS = {"mulaw": OUT_MULAW, "mol": OUT_MOL, "gaussian": OUT_GAUSSIAN}


@functools.lru_cache(maxsize=64)
def distribution_for(kind: int, n_classes: int, mixtures: int = 0, log_scale_min: float = -7.0) -> Distribution:
    """The output distribution of an output ``kind`` (one of :data:`KINDS`' values)."""
    if kind == OUT_MULAW:
        return Categorical(n_classes)
    if kind == OUT_MOL:
        return DiscretizedMixtureOfLogistics(mixtures, n_classes, log_scale_min)
    if kind == OUT_GAUSSIAN:
        return DiscretizedGaussian(n_classes, log_scale_min)
    raise ValueError(f"unknown output kind {kind}")


def draw(
    params: Tensor, temperature: Tensor, u: Tensor, *, kind: int, n_classes: int, mixtures: int = 0,
    log_scale_min: float = -7.0,
) -> Tensor:
    """params (B, P), temperature (B,), u (B, 3) -> (B,) values: long classes (mu-law) or float64 on the bins.

    params are read in float64 (as the compiled kernel does); the formulas are the
    distribution's :meth:`~wavekit.core.distributions.Distribution.sample_from_uniforms`.
    """
    return distribution_for(kind, n_classes, mixtures, log_scale_min).sample_from_uniforms(params, temperature, u)
