"""Optimisation settings (:class:`TrainConfig`), learning-rate schedules with warmup, EMA weights."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal

import torch
from torch import nn


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings (the ``train:`` section of an experiment)."""

    steps: int = 10_000  # optimizer steps in total
    batch_size: int = 8  # per process; one step sees batch_size * grad_accum * world_size items
    lr: float = 1e-3
    lr_schedule: Literal["constant", "cosine", "exponential", "step"] = "constant"
    warmup_steps: int = 0
    lr_min_ratio: float = 0.0  # cosine ends at lr * lr_min_ratio
    lr_gamma: float = 0.5  # exponential/step: factor per lr_decay_steps
    lr_decay_steps: int = 100_000
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    weight_decay: float = 0.0  # decoupled (AdamW); 0 is plain Adam
    grad_clip: float = 1.0  # max global gradient norm; 0 = no clipping
    ema_decay: float = 0.9999  # 0 = no EMA weights
    amp: bool = True  # mixed precision (CUDA only; ignored on CPU)
    amp_dtype: Literal["bf16", "fp16"] = "bf16"  # fp16 uses a GradScaler
    amp_cpu: bool = True  # bf16 autocast on a CPU with native bf16 (AVX512-BF16/AMX; ignored elsewhere)
    compile: bool = False  # torch.compile the loss (inductor); falls back to eager if it cannot
    cuda_graphs: bool = False  # CUDA with compile: capture forward/backward as CUDA graphs
    fused_adam: bool = True  # CUDA: AdamW as one fused kernel
    threads: int = 0  # torch/numba threads per process; 0 = auto (see wavekit.threads)
    grad_accum: int = 1
    eval_every: int = 1000  # 0 = never
    eval_batches: int = 8
    log_every: int = 50
    save_every: int = 1000  # 0 = only at the end (and on Ctrl-C)
    keep_last: int = 3  # step checkpoints kept; 0 = all
    seed: int = 1234
    num_workers: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    find_unused_parameters: bool = False  # DDP option for models with unused branches

    def __post_init__(self) -> None:
        positive = {"steps": self.steps, "batch_size": self.batch_size, "lr": self.lr,
                    "grad_accum": self.grad_accum, "log_every": self.log_every,
                    "lr_decay_steps": self.lr_decay_steps, "adam_eps": self.adam_eps}
        for name, v in positive.items():
            if v <= 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        non_negative = {"warmup_steps": self.warmup_steps, "weight_decay": self.weight_decay,
                        "grad_clip": self.grad_clip, "eval_every": self.eval_every,
                        "eval_batches": self.eval_batches, "save_every": self.save_every,
                        "keep_last": self.keep_last, "num_workers": self.num_workers,
                        "threads": self.threads}
        for name, v in non_negative.items():
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.lr_min_ratio <= 1.0:
            raise ValueError(f"lr_min_ratio must be in [0, 1], got {self.lr_min_ratio}")
        if not 0.0 < self.lr_gamma <= 1.0:
            raise ValueError(f"lr_gamma must be in (0, 1], got {self.lr_gamma}")
        if not all(0.0 <= b < 1.0 for b in self.adam_betas):
            raise ValueError(f"adam_betas must be in [0, 1), got {self.adam_betas}")


def lr_factor(
    schedule: str,
    *,
    steps: int,
    warmup_steps: int = 0,
    min_ratio: float = 0.0,
    gamma: float = 0.5,
    decay_steps: int = 100_000,
) -> Callable[[int], float]:
    """Multiplier of the base learning rate at optimizer step ``k`` (0-based), for ``LambdaLR``.

    Linear warmup ``(k+1)/warmup_steps`` over the first ``warmup_steps``,
    times the schedule: ``"constant"`` 1; ``"cosine"`` from 1 down to
    ``min_ratio`` at ``steps`` (counted after warmup); ``"exponential"``
    ``gamma ** (k / decay_steps)``; ``"step"`` ``gamma ** (k // decay_steps)``.
    Returns a plain function (so ``LambdaLR`` keeps no schedule settings in
    its state and a resumed run uses the current config's schedule).
    """
    if schedule not in ("constant", "cosine", "exponential", "step"):
        raise ValueError(f"unknown lr schedule {schedule!r}")

    def factor(k: int) -> float:
        warm = min(1.0, (k + 1) / warmup_steps) if warmup_steps > 0 else 1.0
        if schedule == "constant":
            f = 1.0
        elif schedule == "cosine":
            progress = min(1.0, max(0.0, (k - warmup_steps) / max(1, steps - warmup_steps)))
            f = min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
        elif schedule == "exponential":
            f = gamma ** (k / decay_steps)
        else:
            f = gamma ** (k // decay_steps)
        return warm * f

    return factor


class EMA:
    """Exponential moving average of a model's state (floating tensors averaged, others copied).

    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after ``n``
    updates, so a short run's average is not dominated by the initial
    weights. Created after the model is on its device and never re-bound
    (the live tensors are cached for speed).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        live = model.state_dict()
        self._live = list(live.values())
        self.shadow: dict[str, torch.Tensor] = {k: v.detach().clone() for k, v in live.items()}

    @torch.no_grad()
    def update(self, num_updates: int) -> None:
        d = min(self.decay, (1.0 + num_updates) / (10.0 + num_updates))
        for s, v in zip(self.shadow.values(), self._live):
            if s.dtype.is_floating_point:
                s.lerp_(v, 1.0 - d)
            else:
                s.copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != set(self.shadow):
            raise KeyError("EMA state does not match the model's parameters")
        for k, s in self.shadow.items():
            s.copy_(state[k])

    @contextmanager
    def swapped_into(self, model: nn.Module) -> Iterator[None]:
        """Temporarily load the EMA weights into ``model`` (restored on exit)."""
        backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield
        finally:
            model.load_state_dict(backup)
