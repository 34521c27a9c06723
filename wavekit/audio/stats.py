"""Per-band feature statistics and normalisation.

Models consume *normalised* log-mel: ``(mel - mean[band]) / std[band]``.
The statistics are computed once over the training split (streaming, so the
corpus need not fit in memory) and travel with every vocoder checkpoint as
``FeatureStats.to_dict()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import torch

from wavekit.errors import FeatureError


class StatsAccumulator:
    """Streaming per-band mean and variance (Chan et al.'s pairwise update, float64)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None

    def add(self, mel: np.ndarray) -> None:
        """Add one (n_mels, frames) log-mel array."""
        mel = np.asarray(mel, dtype=np.float64)
        if mel.ndim != 2:
            raise FeatureError(f"feature statistics need (n_mels, frames) arrays, got shape {mel.shape}")
        if self.mean is not None and mel.shape[0] != self.mean.shape[0]:
            raise FeatureError(f"mel with {mel.shape[0]} bands added to statistics of {self.mean.shape[0]} bands")
        n = mel.shape[1]
        if n == 0:
            return
        mean_b = mel.mean(axis=1)
        m2_b = ((mel - mean_b[:, None]) ** 2).sum(axis=1)
        if self.mean is None:
            self.count, self.mean, self.m2 = n, mean_b, m2_b
            return
        total = self.count + n
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2_b + delta**2 * (self.count * n / total)
        self.count = total

    def result(self, min_std: float = 1e-3) -> "FeatureStats":
        if self.mean is None or self.m2 is None or self.count == 0:
            raise FeatureError("no frames to compute feature statistics from (is the training split empty?)")
        std = np.sqrt(self.m2 / self.count)
        return FeatureStats(self.mean.astype(np.float32), np.maximum(std, min_std).astype(np.float32), self.count)


@dataclass
class FeatureStats:
    """Per-band ``mean`` and ``std`` (both (n_mels,) float32) over ``count`` frames."""

    mean: np.ndarray
    std: np.ndarray
    count: int = 0

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape or self.mean.size == 0:
            raise FeatureError(f"feature stats need equal non-empty mean/std, got {self.mean.shape} and {self.std.shape}")
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.std)) and np.all(self.std > 0)):
            raise FeatureError("feature stats must be finite with positive std")

    @property
    def n_mels(self) -> int:
        return int(self.mean.shape[0])

    @classmethod
    def compute(cls, mels: Iterable[np.ndarray], min_std: float = 1e-3) -> "FeatureStats":
        """Statistics of an iterable of (n_mels, frames) arrays, streamed one at a time."""
        acc = StatsAccumulator()
        for mel in mels:
            acc.add(mel)
        return acc.result(min_std=min_std)

    def _check(self, mel: Any) -> None:
        if mel.ndim not in (2, 3) or mel.shape[-2] != self.n_mels:
            raise FeatureError(
                f"mel of shape {tuple(mel.shape)} does not fit statistics of {self.n_mels} bands; "
                "expected (n_mels, frames) or (B, n_mels, frames) computed with the same mel settings"
            )

    def _broadcast(self, mel: Any) -> tuple[Any, Any]:
        if isinstance(mel, torch.Tensor):
            dtype = mel.dtype if mel.is_floating_point() else torch.float32
            mean = torch.as_tensor(self.mean, dtype=dtype, device=mel.device)[:, None]
            std = torch.as_tensor(self.std, dtype=dtype, device=mel.device)[:, None]
            return mean, std
        np_dtype = np.dtype(mel.dtype if np.issubdtype(mel.dtype, np.floating) else np.float32)
        return self.mean.astype(np_dtype)[:, None], self.std.astype(np_dtype)[:, None]

    def normalize(self, mel: Any) -> Any:
        """``(mel - mean) / std`` per band; (n_mels, F) or (B, n_mels, F), numpy or tensor."""
        mel = mel if isinstance(mel, torch.Tensor) else np.asarray(mel)
        self._check(mel)
        mean, std = self._broadcast(mel)
        return (mel - mean) / std

    def denormalize(self, mel: Any) -> Any:
        """Inverse of :meth:`normalize`."""
        mel = mel if isinstance(mel, torch.Tensor) else np.asarray(mel)
        self._check(mel)
        mean, std = self._broadcast(mel)
        return mel * std + mean

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists) for JSON files and checkpoints."""
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std], "count": int(self.count)}

    @classmethod
    def from_dict(cls, data: Any) -> "FeatureStats":
        """Inverse of :meth:`to_dict`; :class:`FeatureError` if malformed."""
        if not isinstance(data, dict) or "mean" not in data or "std" not in data:
            raise FeatureError("feature stats must be a mapping with 'mean' and 'std' lists")
        try:
            mean = np.asarray(data["mean"], dtype=np.float32)
            std = np.asarray(data["std"], dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise FeatureError(f"feature stats hold non-numeric values ({e})") from None
        if mean.ndim != 1 or std.ndim != 1:
            raise FeatureError("feature stats 'mean' and 'std' must be flat lists")
        return cls(mean, std, int(data.get("count", 0)))
