"""One model-agnostic Trainer: anything with ``model.loss(**batch) -> scalar`` trains here.

Features: AdamW with a warmup + schedule, gradient clipping, gradient
accumulation, EMA weights (used for evaluation and saved), mixed precision on
CUDA, held-out evaluation, ``metrics.jsonl``, a tqdm bar, atomic checkpoints
(keep last K, ``best.pt``, ``last.pt``) and exact resume: the model, optimizer,
scheduler, EMA, grad scaler, random generators and data position are saved,
so N steps + resume + N steps equals 2N steps bit for bit (CPU).
DistributedDataParallel under ``torchrun``; see :mod:`wavekit.train.distributed`
for how batches are sharded. Only rank 0 writes files.

Datasets are map-style; items are dicts, ``collate`` makes a batch dict. A
dataset with random crops should derive them from ``(its seed, epoch,
index)``; the Trainer calls ``dataset.set_epoch(epoch)`` when it has one.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Generator, Iterator, cast

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, default_collate
from tqdm import tqdm

from wavekit import registry
from wavekit import threads as thread_settings
from wavekit.config import to_dict
from wavekit.errors import CheckpointError, ConfigError, WavekitError
from wavekit.train import checkpoint as ckpt_io
from wavekit.train import distributed as D
from wavekit.train import metrics_log
from wavekit.train.distributed import HasLoss, LossModule
from wavekit.train.interrupt import deferred_interrupt
from wavekit.train.optim import EMA, TrainConfig, lr_factor
from wavekit.train.step import LossStep, autocast, autocast_dtype, describe_precision, make_optimizer


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda")
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class Trainer:
    """Train ``model`` on ``train_data``; write checkpoints and metrics under ``out_dir``."""

    def __init__(
        self,
        model: nn.Module,
        train_data: Any,
        valid_data: Any | None = None,
        collate: Callable[[list], Any] | None = None,
        config: TrainConfig | None = None,
        out_dir: str | Path = "exp",
        checkpoint_extra: dict[str, Any] | None = None,
        kind: str | None = None,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg = config or TrainConfig()
        if not hasattr(model, "config"):
            raise ValueError("the model needs a .config dataclass (checkpoints store it)")
        self.kind = kind or registry.kind_of(model)
        self.info, self.device, self._owns_group = D.setup(cfg.device)
        self.train_data, self.valid_data = train_data, valid_data
        self.collate = collate or default_collate
        self.extra = dict(checkpoint_extra or {})
        clash = ckpt_io.STANDARD_KEYS & set(self.extra)
        if clash:
            raise ValueError(f"checkpoint_extra may not use reserved keys {sorted(clash)}")
        self.out_dir = Path(out_dir)
        self.ckpt_dir = self.out_dir / "checkpoints"
        self.metrics_path = self.out_dir / "metrics.jsonl"
        self.progress = progress
        self.threads = thread_settings.for_training(cfg.threads, cfg.num_workers)  # .describe() for the log

        self.model = model.to(self.device)
        self.loss_module: nn.Module = LossModule(self.model)
        if self.info.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.loss_module = DistributedDataParallel(
                self.loss_module, device_ids=ids, find_unused_parameters=cfg.find_unused_parameters
            )
        self.optimizer = make_optimizer(self.model, cfg, self.device)
        factor = lr_factor(cfg.lr_schedule, steps=cfg.steps, warmup_steps=cfg.warmup_steps,
                           min_ratio=cfg.lr_min_ratio, gamma=cfg.lr_gamma, decay_steps=cfg.lr_decay_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.ema = EMA(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.amp_dtype = autocast_dtype(cfg, self.device, model)
        self.precision = describe_precision(cfg, self.device, model)  # for the log
        self.loss_step = LossStep(self.loss_module, cfg, self.device, self.amp_dtype, log=self._say)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

        self.step = 0
        self.epoch, self.batch_in_epoch = 0, 0
        self.best_valid = math.inf
        self.metrics: dict[str, Any] = {}
        self._rng_snapshot: dict[str, Any] | None = None
        self._saved_step = -1

    # ------------------------------------------------------------------ running

    def train(self, resume: bool = False, max_steps: int | None = None) -> dict[str, Any]:
        """Train up to ``config.steps`` (or stop early after ``max_steps`` total steps, saving).

        ``resume=True`` continues from the newest checkpoint in ``out_dir``
        (starting fresh if there is none). Ctrl-C saves a checkpoint of the
        last finished step, then re-raises ``KeyboardInterrupt``.
        Returns the latest metrics (``loss``, ``valid_loss``, ``best_valid_loss``, ...).
        """
        cfg = self.cfg
        if resume:
            self._resume()
        else:
            if ckpt_io.latest_checkpoint(self.ckpt_dir) is not None:
                raise ConfigError(
                    f"{self.ckpt_dir} already holds checkpoints; resume them (--resume) or choose another -o/--outdir"
                )
            ckpt_io.seed_everything(cfg.seed + 1009 * self.info.rank)
        stop = min(cfg.steps, max_steps) if max_steps is not None else cfg.steps
        if self.info.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            metrics_log.trim_after(self.metrics_path, self.step)
        self._rng_snapshot = ckpt_io.rng_state()
        batches = self._batches()
        bar = tqdm(total=stop, initial=self.step, desc="train", unit="step", dynamic_ncols=True,
                   disable=not (self.progress and self.info.is_main))
        window = {"loss": 0.0, "grad_norm": 0.0, "n": 0, "t": time.perf_counter()}
        try:
            while self.step < stop:
                lr = self.optimizer.param_groups[0]["lr"]
                loss, pos = self._forward_backward(batches)
                # Ctrl-C is held back from here to the end of the step: the update, its log line,
                # evaluation and checkpoint happen fully, and the interrupt then saves this step.
                with deferred_interrupt():
                    grad_norm = self._apply_update(pos)
                    window["loss"] += loss
                    window["grad_norm"] += grad_norm
                    window["n"] += 1
                    bar.update(1)
                    if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                        self._log_window(window, lr, bar)
                    if cfg.eval_every and (self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                        self._evaluate_and_record()
                    if cfg.save_every and self.step % cfg.save_every == 0:
                        self.save()
            if self._saved_step != self.step:
                self.save()
        except KeyboardInterrupt:
            bar.close()
            if self.info.is_main and self.step > 0 and self._saved_step != self.step:
                path = self.save(collective=False)
                tqdm.write(f"interrupted: saved step {self.step} to {path}; continue with --resume (resume=True)")
            raise
        finally:
            bar.close()
            batches.close()
        if self._owns_group:
            D.teardown()
        return dict(self.metrics)

    def _forward_backward(self, batches: Iterator[tuple[tuple[int, int], Any]]) -> tuple[float, tuple[int, int]]:
        """Accumulate gradients over ``grad_accum`` micro-batches; returns (mean loss, data position after)."""
        cfg = self.cfg
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        pos = (self.epoch, self.batch_in_epoch)
        for i in range(cfg.grad_accum):
            pos, batch = next(batches)
            batch = _to_device(batch, self.device)
            last = i == cfg.grad_accum - 1
            sync = cast(DistributedDataParallel, self.loss_module).no_sync() if (self.info.distributed and not last) else nullcontext()
            with sync:
                loss = self.loss_step(batch, self._backward)
            total += loss.detach().to(torch.float64)
        return float(total) / cfg.grad_accum, pos

    def _apply_update(self, pos: tuple[int, int]) -> float:
        """Clip, step optimizer/scheduler/EMA, advance step and data position; returns the gradient norm."""
        cfg = self.cfg
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm))
        if not math.isfinite(grad_norm) and self.scaler is None:
            raise WavekitError(
                f"training diverged at step {self.step + 1} (gradient norm {grad_norm}); lower train.lr, "
                "add train.warmup_steps or train.grad_clip, then --resume from the last checkpoint"
            )
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.step)
        self.step += 1
        self.epoch, self.batch_in_epoch = pos
        self._rng_snapshot = ckpt_io.rng_state()
        return grad_norm

    def _backward(self, loss: torch.Tensor) -> None:
        if loss.dim() != 0:
            raise ValueError(f"model.loss must return a scalar, got shape {tuple(loss.shape)}")
        scaled = loss / self.cfg.grad_accum
        (self.scaler.scale(scaled) if self.scaler else scaled).backward()

    def _autocast(self) -> Any:
        return autocast(self.device, self.amp_dtype)

    def _say(self, message: str) -> None:
        if self.info.is_main:
            tqdm.write(message)

    def _batches(self) -> Generator[tuple[tuple[int, int], Any], None, None]:
        """Yield ``((epoch, batch) position after this micro-batch, batch)`` forever, from the saved position."""
        cfg, n = self.cfg, len(self.train_data)
        per_epoch = D.batches_per_epoch(n, cfg.batch_size, self.info.world_size)
        epoch, start = self.epoch, self.batch_in_epoch
        while True:
            if start >= per_epoch:
                epoch, start = epoch + 1, 0
                continue
            if hasattr(self.train_data, "set_epoch"):
                self.train_data.set_epoch(epoch)
            sampler = D.ShardedBatchSampler(n, cfg.batch_size, cfg.seed, epoch, start, self.info)
            gen = torch.Generator().manual_seed((cfg.seed * 7919 + epoch * 104_729 + start) % (2**63))
            loader = DataLoader(self.train_data, batch_sampler=sampler, collate_fn=self.collate,
                                num_workers=self.threads.workers, pin_memory=self.device.type == "cuda", generator=gen)
            for b, batch in enumerate(loader, start=start + 1):
                yield ((epoch, b) if b < per_epoch else (epoch + 1, 0)), batch
            epoch, start = epoch + 1, 0

    # ------------------------------------------------------------------ evaluation and logging

    @torch.no_grad()
    def evaluate(self) -> float | None:
        """Item-weighted mean ``model.loss`` over the first ``eval_batches`` batches of the held-out set.

        Uses the EMA weights when EMA is on; leaves every random generator as it was.
        """
        cfg, data = self.cfg, self.valid_data
        if data is None or cfg.eval_batches == 0 or len(data) == 0:
            return None
        rng = ckpt_io.rng_state()
        if hasattr(data, "set_epoch"):
            data.set_epoch(0)  # the same crops at every evaluation
        B, W, r = cfg.batch_size, self.info.world_size, self.info.rank
        total, count = 0.0, 0
        swap = self.ema.swapped_into(self.model) if self.ema is not None else nullcontext()
        with swap:
            self.model.eval()
            for k in range(min(cfg.eval_batches, math.ceil(len(data) / (B * W)))):
                idx = list(range(k * B * W + r * B, min(len(data), k * B * W + (r + 1) * B)))
                if not idx:
                    continue
                batch = _to_device(self.collate([data[i] for i in idx]), self.device)
                with self._autocast():
                    loss = cast(HasLoss, self.model).loss(**batch)
                total += float(loss) * len(idx)
                count += len(idx)
            self.model.train()
        total, n = D.all_reduce_sum([total, float(count)], self.device)
        ckpt_io.set_rng_state(rng)
        return total / n if n else None

    def _evaluate_and_record(self) -> None:
        valid = self.evaluate()
        if valid is None:
            return
        self.metrics["valid_loss"] = valid
        self._write_metrics({"step": self.step, "valid_loss": valid})
        if valid < self.best_valid:
            self.best_valid = valid
            self.metrics.update(best_valid_loss=valid, best_step=self.step)
            self.save(best_only=True)

    def _log_window(self, window: dict[str, Any], lr: float, bar: tqdm) -> None:
        cfg = self.cfg
        now = time.perf_counter()
        loss_sum, n = D.all_reduce_sum([window["loss"], float(window["n"])], self.device)
        loss = loss_sum / n
        if not math.isfinite(loss):
            raise WavekitError(f"training loss is {loss} at step {self.step}; lower train.lr and --resume")
        items = window["n"] * cfg.batch_size * cfg.grad_accum * self.info.world_size  # batch items (crops, images, utterances)
        rec = {"step": self.step, "epoch": self.epoch, "loss": loss, "lr": lr,
               "grad_norm": window["grad_norm"] / window["n"],
               "items_per_s": items / max(now - window["t"], 1e-9)}
        self.metrics.update(loss=loss, lr=lr, step=self.step)
        self._write_metrics(rec)
        bar.set_postfix(loss=f"{loss:.4f}", items_s=f"{rec['items_per_s']:.3g}")
        window.update(loss=0.0, grad_norm=0.0, n=0, t=now)

    def _write_metrics(self, record: dict[str, Any]) -> None:
        if self.info.is_main:
            metrics_log.append(self.metrics_path, record)

    # ------------------------------------------------------------------ checkpoints

    def state(self, rng_states: list[dict[str, Any] | None]) -> dict[str, Any]:
        """The checkpoint payload for the current step."""
        return {
            "kind": self.kind,
            "config": to_dict(self.model.config),
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": {"ranks": rng_states},
            "data_state": {"epoch": self.epoch, "batch": self.batch_in_epoch,
                           "global_batch": self.cfg.batch_size * self.info.world_size},
            "metrics": dict(self.metrics),
            "train_config": to_dict(self.cfg),
            **self.extra,
        }

    def save(self, collective: bool = True, best_only: bool = False) -> Path:
        """Write ``step-XXXXXXXX.pt`` (or only ``best.pt``) from rank 0; prune old ones; point ``last.pt``."""
        states: list[dict[str, Any] | None] = D.all_gather_object(self._rng_snapshot) if collective else [self._rng_snapshot]
        path = self.ckpt_dir / "best.pt" if best_only else ckpt_io.step_path(self.ckpt_dir, self.step)
        if self.info.is_main:
            ckpt_io.save_checkpoint(path, self.state(states))
            if not best_only:
                ckpt_io.point_last(self.ckpt_dir, path)
                ckpt_io.prune(self.ckpt_dir, self.cfg.keep_last)
        if not best_only:
            self._saved_step = self.step
        if collective:
            D.barrier()
        return path

    def _resume(self) -> None:
        path = ckpt_io.latest_checkpoint(self.ckpt_dir)
        if path is None:
            if self.info.is_main:
                tqdm.write(f"--resume: no checkpoint in {self.ckpt_dir}; starting from scratch (is -o/--outdir right?)")
            ckpt_io.seed_everything(self.cfg.seed + 1009 * self.info.rank)
            return
        ckpt = ckpt_io.load_checkpoint(path, map_location=self.device)
        if ckpt["kind"] != self.kind or ckpt["config"] != to_dict(self.model.config):
            raise CheckpointError(
                f"{path} was trained with a different model ({ckpt['kind']} {ckpt['config']}); "
                "resume with the same model config or choose another -o/--outdir"
            )
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scheduler.load_state_dict(ckpt["scheduler"])
            if self.ema is not None:
                self.ema.load_state_dict(ckpt["ema"] if ckpt.get("ema") is not None else ckpt["model"])
            if self.scaler is not None and ckpt.get("scaler"):
                self.scaler.load_state_dict(ckpt["scaler"])
        except (KeyError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{path}: cannot restore the training state ({e}); choose another -o/--outdir") from None
        self.step = int(ckpt["step"])
        ds = ckpt["data_state"]
        # A different batch size or process count keeps the epoch and rounds the item offset down.
        self.epoch = int(ds["epoch"])
        self.batch_in_epoch = int(ds["batch"]) * int(ds["global_batch"]) // (self.cfg.batch_size * self.info.world_size)
        self.metrics = dict(ckpt.get("metrics") or {})
        self.best_valid = float(self.metrics.get("best_valid_loss", math.inf))
        self._saved_step = self.step
        states = ckpt["rng"]["ranks"]
        if self.info.rank < len(states):
            ckpt_io.set_rng_state(states[self.info.rank])
        else:
            ckpt_io.seed_everything(self.cfg.seed + 1009 * self.info.rank + self.step)
        if self.info.is_main:
            tqdm.write(f"resumed from {path} (step {self.step})")
