"""Random draws with per-stream generators, and sampling from logits.

``generator`` everywhere may be ``None`` (torch's default generator), one
``torch.Generator`` for the whole batch, or a sequence of generators, one per
row of dim 0 (per stream). With a sequence, row b's numbers come from
``generator[b]`` only, so a stream draws the same numbers whatever else is
in the batch — what a batched engine needs for "same seed, same output".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

Generators = Union[None, torch.Generator, Sequence[torch.Generator]]

U_TINY = 1e-6  # uniforms are clamped to [U_TINY, 1 - U_TINY] before a log


def _draw(fn, shape: Sequence[int], generator: Generators, dtype: torch.dtype, device) -> Tensor:
    if generator is None or isinstance(generator, torch.Generator):
        return fn(tuple(shape), generator=generator, dtype=dtype, device=device)
    if len(generator) != shape[0]:
        raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}")
    rows = [fn(tuple(shape[1:]), generator=g, dtype=dtype, device=device) for g in generator]
    return torch.stack(rows) if rows else torch.empty(tuple(shape), dtype=dtype, device=device)


def rand(shape: Sequence[int], generator: Generators = None, *, dtype=torch.float32, device=None) -> Tensor:
    """Uniform [0, 1) of ``shape``; per-row generators when ``generator`` is a sequence."""
    return _draw(torch.rand, shape, generator, dtype, device)


def randn(shape: Sequence[int], generator: Generators = None, *, dtype=torch.float32, device=None) -> Tensor:
    """Standard normal of ``shape``; per-row generators when ``generator`` is a sequence."""
    return _draw(torch.randn, shape, generator, dtype, device)


def gumbel(shape: Sequence[int], generator: Generators = None, *, dtype=torch.float32, device=None) -> Tensor:
    """Standard Gumbel noise ``-log(-log(u))`` with u clamped away from 0 and 1."""
    u = rand(shape, generator, dtype=dtype, device=device).clamp(U_TINY, 1.0 - U_TINY)
    return -torch.log(-torch.log(u))


def check_temperature(temperature: float) -> None:
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")


def sample_logits(logits: Tensor, temperature: float = 1.0, generator: Generators = None, dim: int = -1) -> Tensor:
    """Class indices drawn from ``softmax(logits / temperature)`` along ``dim`` (that dim removed).

    Gumbel-max: ``argmax(logits / T + Gumbel)``. ``temperature == 0`` is the
    argmax (no random numbers are drawn). Per-row generators index dim 0.
    """
    check_temperature(temperature)
    if temperature == 0:
        return logits.argmax(dim=dim)
    noise = gumbel(logits.shape, generator, dtype=logits.dtype, device=logits.device)
    return (logits / temperature + noise).argmax(dim=dim)


def categorical_from_uniform(logits: Tensor, temperature: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF draw: logits (B, K), temperature (B,), u (B,) in [0, 1) -> class indices (B,) long.

    The first class k with ``cumsum(exp((logits - max) / T))[k] > u * total``; rows with
    T = 0 take the first argmax. No Python-side branching on values (CUDA-graph safe).
    """
    best = logits.argmax(dim=1)
    warm = temperature > 0
    t = torch.where(warm, temperature, torch.ones_like(temperature))
    m = logits.gather(1, best.unsqueeze(1))
    cdf = torch.exp((logits - m) / t.unsqueeze(1)).cumsum(dim=1)
    k = (cdf <= (u * cdf[:, -1]).unsqueeze(1)).sum(dim=1)  # first k with cdf[k] > target
    return torch.where(warm & (k < logits.shape[1]), k, best)
