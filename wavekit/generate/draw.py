"""Drawing a sample from distribution parameters with given uniforms (torch).

Generation takes its randomness from per-stream uniforms, three per sample
(``numpy.random.default_rng(seed).random((n, 3))``), and turns them into a
value by inverse-CDF formulas. The formulas are written twice, because the
compiled CPU kernel cannot call torch: here for torch tensors (the torch
stepper, CPU or CUDA, and the reference loop of the tests) and as
``kernels._sample`` for numba. Both compute the same expressions in the same
order in float64, so the same seed gives the same samples on every backend
up to float rounding (mu-law classes are identical in practice).

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

import math

import torch
from torch import Tensor

from wavekit.core.mixture import snap_to_bins

OUT_MULAW, OUT_MOL, OUT_GAUSSIAN = 0, 1, 2
KINDS = {"mulaw": OUT_MULAW, "mol": OUT_MOL, "gaussian": OUT_GAUSSIAN}
U_TINY = 1e-6


def categorical_from_uniform(logits: Tensor, temperature: Tensor, u: Tensor) -> Tensor:
    """logits (B, K) float64, temperature (B,), u (B,) in [0, 1) -> class indices (B,) long."""
    best = logits.argmax(dim=1)
    warm = temperature > 0
    t = torch.where(warm, temperature, torch.ones_like(temperature))
    m = logits.gather(1, best.unsqueeze(1))
    cdf = torch.exp((logits - m) / t.unsqueeze(1)).cumsum(dim=1)
    k = (cdf <= (u * cdf[:, -1]).unsqueeze(1)).sum(dim=1)  # first k with cdf[k] > target
    return torch.where(warm & (k < logits.shape[1]), k, best)


def draw(
    params: Tensor, temperature: Tensor, u: Tensor, *, kind: int, n_classes: int, mixtures: int = 0,
    log_scale_min: float = -7.0,
) -> Tensor:
    """params (B, P), temperature (B,), u (B, 3) -> (B,) values: long classes (mu-law) or float64 on the bins.

    params are read in float64 (as the compiled kernel does).
    """
    params = params.to(torch.float64)
    temperature = temperature.to(torch.float64)
    u = u.to(torch.float64)
    if kind == OUT_MULAW:
        return categorical_from_uniform(params, temperature, u[:, 0])
    warm = temperature > 0
    u1 = u[:, 1].clamp(U_TINY, 1.0 - U_TINY)
    if kind == OUT_MOL:
        K = mixtures
        k = categorical_from_uniform(params[:, :K], temperature, u[:, 0]).unsqueeze(1)
        mean = params[:, K : 2 * K].gather(1, k)[:, 0]
        log_s = params[:, 2 * K : 3 * K].gather(1, k)[:, 0].clamp(min=log_scale_min)
        noisy = mean + temperature * torch.exp(log_s) * (torch.log(u1) - torch.log1p(-u1))
    elif kind == OUT_GAUSSIAN:
        mean, log_s = params[:, 0], params[:, 1].clamp(min=log_scale_min)
        noisy = mean + temperature * torch.exp(log_s) * torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(
            2.0 * math.pi * u[:, 2]
        )
    else:
        raise ValueError(f"unknown output kind {kind}")
    return snap_to_bins(torch.where(warm, noisy, mean), n_classes)
