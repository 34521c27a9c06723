"""Distributed training helpers (torch.distributed under ``torchrun``) and the data sampler.

One process per device. ``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`setup` reads them, joins the process group (NCCL on
CUDA, Gloo on CPU) and picks the device. Without those variables everything
runs as a single process (rank 0 of 1) and no process group is created.

Batching choice: ``train.batch_size`` is the batch *per process*. One
optimizer step sees ``batch_size * grad_accum * world_size`` examples, so
adding processes adds throughput at a fixed per-device memory cost (the
DistributedDataParallel convention). Every epoch has one permutation of the
training set, drawn from ``(seed, epoch)`` and identical in every process;
global micro-batch ``b`` is ``perm[b*B*W : (b+1)*B*W]`` and rank ``r`` takes
the ``r``-th slice of ``B`` items of it. So two processes with batch ``B``
see exactly the items one process with batch ``2B`` sees, in the same order,
and the data position is just ``(epoch, b)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, cast

import torch
import torch.distributed as dist
from torch import nn

from wavekit.errors import ConfigError, DataError


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


class HasLoss(Protocol):
    """What the Trainer needs of a model: ``loss(**batch)``, a scalar tensor."""

    def loss(self, **batch: Any) -> torch.Tensor: ...


class LossModule(nn.Module):
    """``forward(**batch) = model.loss(**batch)``, so DDP (which hooks ``forward``) syncs ``loss``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, **batch: Any) -> torch.Tensor:
        return cast(HasLoss, self.model).loss(**batch)


def env_info() -> DistInfo:
    """Rank information from the ``torchrun`` environment (rank 0 of 1 without it)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError("RANK/WORLD_SIZE/LOCAL_RANK must be integers (they are set by torchrun)") from None
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def resolve_device(choice: str, info: DistInfo) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; with CUDA each process takes ``cuda:LOCAL_RANK``."""
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("train.device is 'cuda' but no CUDA device is available; use --device cpu")
        if info.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK {info.local_rank} but only {torch.cuda.device_count()} CUDA device(s); "
                "start at most one process per GPU (torchrun --nproc_per_node)"
            )
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return torch.device("cpu")


def setup(device_choice: str = "auto") -> tuple[DistInfo, torch.device, bool]:
    """Join the process group if launched by torchrun. Returns ``(info, device, created)``.

    ``created`` is True when this call created the process group (the caller
    then tears it down with :func:`teardown`).
    """
    info = env_info()
    device = resolve_device(device_choice, info)
    created = False
    if info.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs: dict[str, Any] = {"backend": backend, "rank": info.rank, "world_size": info.world_size}
        if device.type == "cuda":
            kwargs["device_id"] = device
        dist.init_process_group(**kwargs)
        created = True
    return info, device, created


def teardown() -> None:
    """Leave the process group after a normal finish. Every process first meets the others, so
    none destroys its gloo pairs while a peer is still using them (once seen, rarely, as a child
    aborting with "terminate called without an active exception" at the end of a two-process run)."""
    if dist.is_available() and dist.is_initialized():
        barrier()
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    if active():
        dist.barrier()


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum a few floats over all processes (identity in a single process)."""
    if not active():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_gather_object(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order (``[obj]`` in a single process)."""
    if not active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``range(n)`` for ``epoch``: a function of ``(seed, epoch)`` only."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    return torch.randperm(n, generator=g)


class ShardedBatchSampler:
    """Index lists for one epoch on one rank, from global micro-batch ``start`` on.

    Yields ``batches_per_epoch - start`` lists of ``batch_size`` indices;
    the incomplete last global batch of an epoch is dropped so that every
    rank takes the same number of equally sized steps.
    """

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, start: int, info: DistInfo) -> None:
        self.batch_size = batch_size
        self.info = info
        self.global_batch = batch_size * info.world_size
        self.batches_per_epoch = batches_per_epoch(n, batch_size, info.world_size)
        self.start = start
        self.perm = epoch_permutation(n, seed, epoch)

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        for b in range(self.start, self.batches_per_epoch):
            lo = b * self.global_batch + self.info.rank * self.batch_size
            yield self.perm[lo : lo + self.batch_size].tolist()


def batches_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    """Number of global micro-batches per epoch; :class:`DataError` if the set is too small."""
    per_epoch = n // (batch_size * world_size)
    if per_epoch == 0:
        raise DataError(
            f"training set has {n} items, fewer than one global batch "
            f"(batch_size {batch_size} x {world_size} process(es)); lower train.batch_size or add data"
        )
    return per_epoch
