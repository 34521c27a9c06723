"""Held-out likelihood of any model with ``log_prob(**batch)``: the one implementation.

Both ``wavekit image evaluate`` and :mod:`wavekit.eval` (re-exported there)
use :func:`held_out_nll`; it lives on the ground floor so that a model wing
may use it without importing ``eval``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def bits_per_dim(nats_per_dim: float) -> float:
    """Convert a mean negative log-likelihood in nats per dimension to bits per dimension."""
    return float(nats_per_dim) / math.log(2.0)


@dataclass(frozen=True)
class NLLResult:
    """Held-out negative log-likelihood: total nats over ``count`` dimensions (samples or sub-pixels)."""

    total_nats: float
    count: int

    @property
    def nats_per_dim(self) -> float:
        return self.total_nats / self.count

    @property
    def bits_per_dim(self) -> float:
        return bits_per_dim(self.nats_per_dim)

    def to_dict(self) -> dict[str, float]:
        return {"nll_nats": self.nats_per_dim, "nll_bits": self.bits_per_dim, "count": self.count}


def held_out_nll(model: Any, batches: Iterable[Mapping[str, Any]], device: Any = None) -> NLLResult:
    """Mean held-out NLL of ``model`` over batches of keyword arguments for ``model.log_prob``.

    Each batch is a dict as the Trainer sees it (WaveNet: ``wav``, ``c``,
    ``g``; images: ``x``); ``model.log_prob(**batch)`` returns per-dimension
    log-probabilities ((B, T) samples or (B, C, H, W) sub-pixels) in nats.
    Returns the total over every dimension of every batch, so batches of
    different sizes are weighted by their number of dimensions.
    """
    import torch

    total, count = 0.0, 0
    was_training = bool(getattr(model, "training", False))
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                if device is not None:
                    batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
                lp = model.log_prob(**batch)
                total -= float(lp.double().sum())
                count += lp.numel()
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("held_out_nll got no data (empty batches)")
    return NLLResult(total_nats=total, count=count)
