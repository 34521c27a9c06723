"""A tiny regression model and data set registered as kind "tiny_test" (test-only).

It uses every random generator the Trainer must restore on resume: the data
set crops at random from (seed, epoch, index) via ``set_epoch``; with
``augment`` it also draws from python's ``random`` and numpy's global
generator; the model has dropout (torch generator) and optional loss noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from wavekit import registry

KIND = "tiny_test"


@dataclass
class ActConfig:
    slope: float = 0.1


@dataclass
class TinyConfig:
    in_dim: int = 4
    hidden: int = 8
    dropout: float = 0.0
    noise: float = 0.0
    act: ActConfig = field(default_factory=ActConfig)

    def __post_init__(self) -> None:
        if self.hidden <= 0:
            raise ValueError(f"hidden must be > 0, got {self.hidden}")


class TinyModel(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.net = nn.Sequential(
            nn.Linear(config.in_dim, config.hidden),
            nn.LeakyReLU(config.act.slope),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    @classmethod
    def from_config(cls, config: TinyConfig) -> "TinyModel":
        return cls(config)

    @property
    def receptive_field(self) -> int:
        return self.config.in_dim

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x: (B, in_dim), y: (B,) -> mean squared error (scalar)."""
        dtype = self.net[0].weight.dtype
        if self.training:
            self.calls += 1
        pred = self.net(x.to(dtype)).squeeze(-1)
        if self.config.noise and self.training:
            pred = pred + self.config.noise * torch.randn_like(pred)
        return ((pred - y.to(dtype)) ** 2).mean()


@dataclass
class TinyDataConfig:
    items: int = 24
    valid_items: int = 8
    length: int = 12
    seed: int = 0
    augment: bool = False


class TinyDataset:
    """Sequences of ``length``; item i is a random ``in_dim`` crop (from seed, epoch, i) and its target."""

    def __init__(self, n: int, length: int, in_dim: int, seed: int, augment: bool = False) -> None:
        gen = np.random.default_rng(seed)
        self.seqs = gen.standard_normal((n, length))
        self.w = np.linspace(-1.0, 1.0, in_dim)
        self.in_dim, self.seed, self.augment = in_dim, seed, augment
        self.epoch = 0
        self.interrupt_at = 0  # raise KeyboardInterrupt on this __getitem__ call (1-based; 0 = never)
        self.calls = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        self.calls += 1
        if self.interrupt_at and self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        gen = np.random.default_rng([self.seed, self.epoch, i])
        off = int(gen.integers(0, self.seqs.shape[1] - self.in_dim + 1))
        x = self.seqs[i, off : off + self.in_dim].copy()
        y = float(x @ self.w + 0.1)
        if self.augment:
            x = x * (1.0 + 0.1 * random.random()) + 0.01 * np.random.standard_normal(self.in_dim)
        return {"x": torch.tensor(x, dtype=torch.float32), "y": torch.tensor(y, dtype=torch.float32)}


def build(data_cfg: TinyDataConfig, model_cfg: TinyConfig) -> registry.DataBundle:
    train = TinyDataset(data_cfg.items, data_cfg.length, model_cfg.in_dim, data_cfg.seed, data_cfg.augment)
    valid = TinyDataset(data_cfg.valid_items, data_cfg.length, model_cfg.in_dim, data_cfg.seed + 1)
    return registry.DataBundle(train, valid, None, {"audio": {"mel": {"sample_rate": 16000}}, "note": "tiny"})


registry.register_model(KIND, TinyConfig, TinyModel)
registry.register_data(KIND, TinyDataConfig, build)
