"""The ``train`` section of ``wavekit bench``: eager float32 vs the Trainer's step, side by side.

Three configs: ``default_vocoder`` (``WaveNetConfig()``), ``small_mulaw`` (r9y9's
small mu-law vocoder: 20 layers, 2 stacks, 64/128/128, kernel 3, mel-conditioned)
and ``pixelcnnpp_32`` (PixelCNN++ defaults on 3 x 32 x 32 images; samples = images).
Every step is one Adam step on fixed random data.

- eager: ``model.loss`` in float32 on one torch thread, no compile;
- optimised: the step the Trainer takes on this device with its default settings
  (:class:`wavekit.train.step.LossStep`, autocast as :func:`wavekit.train.step.autocast_dtype`
  chooses) and the thread plan of :mod:`wavekit.threads`; on CUDA also ``compile``
  (its first, compiling step is reported as ``compile_s``). On CPU compile stays off: measured
  no faster here, and compiling the default vocoder took minutes.

The two are alternated (eager, optimised, eager, optimised, ...) for ``rounds``
rounds and the best round of each counts, so load from other programs hits both.

:func:`contention_row` (``wavekit bench --contention``) times the default vocoder's Trainer step
on the machine as it is, then again while a neighbour process keeps one core busy (a
pure-Python spin loop started for the measurement), with the thread plan chosen afresh
under that load and, for comparison, with torch on every core as a naive setting would have it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn

from wavekit import threads as thread_settings
from wavekit.image.pixelcnnpp import PixelCNNPlusPlus, PixelCNNPlusPlusConfig
from wavekit.train.distributed import HasLoss, LossModule
from wavekit.train.optim import TrainConfig
from wavekit.train.step import LossStep, autocast_dtype, make_optimizer
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet

SMALL_MULAW = WaveNetConfig(layers=20, stacks=2, residual_channels=64, gate_channels=128, skip_channels=128,
                            kernel_size=3, output="mulaw", cin_channels=80)


def _wavenet(cfg: WaveNetConfig, device: str, batch: int, crop: int) -> tuple[nn.Module, dict[str, Any], int]:
    model = WaveNet(cfg).to(device).train()
    wav = torch.rand(batch, crop, device=device) * 2 - 1
    c = torch.randn(batch, cfg.cin_channels, crop // cfg.hop_length, device=device)
    return model, {"wav": wav, "c": c}, batch * crop


def _pixelcnnpp(device: str, batch: int) -> tuple[nn.Module, dict[str, Any], int]:
    model = PixelCNNPlusPlus(**vars(PixelCNNPlusPlusConfig())).to(device).train()
    x = torch.randint(0, 256, (batch, 3, 32, 32), device=device)
    return model, {"x": x}, batch


def adam_stepper(model: nn.Module, batch: dict[str, Any], device: str, cfg: TrainConfig | None) -> Callable[[], None]:
    """One Adam step: eager float32 when ``cfg`` is None, else the Trainer's :class:`LossStep` under ``cfg``."""
    dev = torch.device(device)
    opt = make_optimizer(model, cfg or TrainConfig(fused_adam=False), dev)
    step = LossStep(LossModule(model), cfg, dev, autocast_dtype(cfg, dev, model), log=lambda _m: None) if cfg else None

    def run() -> None:
        opt.zero_grad(set_to_none=True)
        if step is None:
            cast(HasLoss, model).loss(**batch).backward()
        else:
            step(batch, lambda loss: loss.backward())
        opt.step()

    run.loss_step = step  # type: ignore[attr-defined]
    return run


def timed(run: Callable[[], None], steps: int, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        run()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def train_rows(device: str, batch: int, crop: int, steps: int, rounds: int = 2) -> list[dict[str, Any]]:
    """The ``train`` list of ``wavekit bench`` (see the module docstring)."""
    cfg = TrainConfig(compile=device == "cuda", device="cuda" if device == "cuda" else "cpu")
    plan = thread_settings.plan(probe=True) if device == "cpu" else None
    before = torch.get_num_threads()
    image_batch = max(1, batch * 4)
    rows = []
    builds: dict[str, Callable[[], tuple[nn.Module, dict[str, Any], int]]] = {
        "default_vocoder": lambda: _wavenet(WaveNetConfig(), device, batch, crop),
        "small_mulaw": lambda: _wavenet(SMALL_MULAW, device, batch, crop),
        "pixelcnnpp_32": lambda: _pixelcnnpp(device, image_batch),
    }
    try:
        for name, build in builds.items():
            torch.manual_seed(0)
            model, data, per_step = build()
            torch.manual_seed(0)
            opt_model, _, _ = build()  # the same weights; its own optimizer state
            eager = adam_stepper(model, data, device, None)
            fast = adam_stepper(opt_model, data, device, cfg)
            torch.set_num_threads(1)
            eager()
            if plan is not None:
                torch.set_num_threads(plan.threads)
            t0 = time.perf_counter()
            fast()  # warm-up; compiles when the setting compiles
            first_s = time.perf_counter() - t0
            best_e = best_f = float("inf")
            for _ in range(rounds):
                torch.set_num_threads(1)
                best_e = min(best_e, timed(eager, steps, device))
                if plan is not None:
                    torch.set_num_threads(plan.threads)
                best_f = min(best_f, timed(fast, steps, device))
            e, f = steps * per_step / best_e, steps * per_step / best_f
            ls: LossStep | None = fast.loss_step  # type: ignore[attr-defined]
            setting = _describe(cfg, device, plan, ls)
            rows.append({"config": name, "eager_samples_per_s": e, "samples_per_s": f, "speedup": f / e,
                         "setting": setting, "first_step_s": first_s,
                         "compile_s": ls.compile_s if ls is not None and ls.compiled is not None else None})
    finally:
        torch.set_num_threads(before)
    return rows


def contention_row(batch: int, crop: int, steps: int, rounds: int = 3) -> dict[str, Any] | None:
    """The default vocoder's Trainer step (CPU) idle, then beside a neighbour spinning on one core.

    Keys: ``idle_samples_per_s`` / ``idle_threads`` (the plan on the machine as it is),
    ``idle_same_threads_samples_per_s`` (idle, at the thread count the plan then chooses under
    load), ``contended_samples_per_s`` / ``contended_threads`` (the plan chosen with the
    neighbour running), ``all_cores_contended_samples_per_s`` (torch on every core regardless);
    ``slowdown`` = 1 - contended / idle (what losing a core costs in all),
    ``slowdown_same_threads`` = 1 - contended / idle at the same thread count (what the
    neighbour costs the cores that are left: the thread settings' part) and
    ``all_cores_slowdown``. None on a one-core machine.
    """
    cores = thread_settings.usable_cores()
    if cores < 2:
        return None
    before = torch.get_num_threads()
    torch.manual_seed(0)
    model, data, per_step = _wavenet(WaveNetConfig(), "cpu", batch, crop)
    run = adam_stepper(model, data, "cpu", TrainConfig(device="cpu"))

    def best(threads: int) -> float:
        torch.set_num_threads(threads)
        run()  # warm-up at this thread count
        return steps * per_step / min(timed(run, steps, "cpu") for _ in range(rounds))

    try:
        idle_plan = thread_settings.plan(probe=True)
        idle = best(idle_plan.threads)
        neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)  # let it take its core before the probe
            busy_plan = thread_settings.plan(probe=True)
            contended = best(busy_plan.threads)
            all_cores = best(cores)
        finally:
            neighbour.kill()
            neighbour.wait()
        idle_same = best(busy_plan.threads)
    finally:
        torch.set_num_threads(before)
    return {"config": "default_vocoder", "neighbour": "one core busy (python spin loop)",
            "idle_samples_per_s": idle, "idle_threads": idle_plan.threads,
            "contended_samples_per_s": contended, "contended_threads": busy_plan.threads,
            "busy_cores_seen": busy_plan.busy_cores, "all_cores_contended_samples_per_s": all_cores,
            "idle_same_threads_samples_per_s": idle_same, "slowdown": 1.0 - contended / idle,
            "slowdown_same_threads": 1.0 - contended / idle_same, "all_cores_slowdown": 1.0 - all_cores / idle}


def _describe(cfg: TrainConfig, device: str, plan: thread_settings.ThreadPlan | None, ls: LossStep | None) -> str:
    parts = []
    if plan is not None:
        parts.append(f"{plan.threads} thread(s)")
    dtype = autocast_dtype(cfg, torch.device(device))
    parts.append("bf16 autocast" if dtype == torch.bfloat16 else "float32")
    if ls is not None and ls.compiled is not None:
        parts.append("compiled" + (" + CUDA graphs" if cfg.cuda_graphs else ""))
    elif ls is not None and ls.fallback:
        parts.append("compile failed: eager")
    else:
        parts.append("eager")
    return ", ".join(parts)

