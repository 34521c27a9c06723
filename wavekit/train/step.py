"""How the Trainer runs one step fast: compiled loss, autocast, optimizer kind, CUDA graphs.

Every choice here is a :class:`~wavekit.train.optim.TrainConfig` field, so a
checkpoint's ``train_config`` says how it was trained and exact resume holds
for a given setting (each setting is deterministic; settings differ in rounding):

- ``compile``: ``torch.compile`` (inductor) of the model's loss, forward and
  backward. If it cannot compile (no C++ compiler, an unsupported op) the first
  step falls back to eager with one log line; the seconds the first (compiling)
  step took are reported as ``compile_s``. Changes rounding only (fused
  elementwise arithmetic).
- ``cuda_graphs`` (CUDA, with ``compile``): inductor's ``reduce-overhead`` mode,
  which captures forward and backward as CUDA graphs and replays them.
- autocast: bf16 on CUDA (``amp``), and on a CPU whose instruction set has native
  bf16 products (``amp_cpu`` and :func:`cpu_has_native_bf16`); parameters,
  gradients and the optimizer state stay float32. Changes numerics (bf16 products).
- ``fused_adam`` (CUDA): AdamW as one fused kernel per step.

Chosen for CPUs by measurement (2-core AMD EPYC Zen 1, AVX2 + FMA, shared with other
jobs): compile stays off -- compiling the default vocoder's step took 448 s and the
compiled step was no faster than eager (778 vs 711, then 654 vs 807 samples/s); bf16 is
off without native bf16 -- torch's bf16 matrix products there ran 10 to 40 times slower
than float32. On a 2-core AMD EPYC with AVX512-BF16 bf16 autocast is on by default
(``amp_cpu``): one Adam step on 2 x 8192 samples took 1.47 -> 1.01 s (default vocoder)
and 1.31 -> 0.83 s (small_mulaw) against float32 on the same 2 threads. The model-level
rewrites are always on: the conditioning product at the cheaper rate, the stacked
residual/skip product with the residual scale folded in, the dilated convolution as one
product over its stacked taps (cast to bf16 before stacking), cross-entropy, and the CPU
dropout of :mod:`wavekit.core.dropout` (torch's per-element Bernoulli draw was the largest
single cost of a small WaveNet's step). On a 2-core Intel Xeon with AVX512-BF16 the fold,
the tap product and the dropout took the Trainer's step from 20,100 to 27,700 samples/s
(default vocoder) and from 21,900 to 25,600 (small_mulaw), ``wavekit bench`` before and
after in one sitting. They
change rounding only, except the dropout masks, which are drawn differently (same rate to
within 2**-16, same generator).

Numerics: float32 eager, float32 compiled and the rewrites differ only in the order of
float32 additions; over the demo config's first steps (recipes/fillets_cs/conf/demo.yaml,
1000-step cosine schedule) the training and held-out losses of the rewritten model
stayed within 0.5% of the code before them (see the training-speed report). bf16
autocast rounds every product's inputs to 8 significant bits. Measured on the demo config
trained 1000 steps (same data, seed and schedule; AVX512-BF16 CPU): held-out loss 4.2596
with bf16 against 4.2583 in float32 (+0.03%), training loss over the last 100 steps 4.4017
against 4.4018; 147 s against 222 s of training. Again after the tap-product convolution, the
residual-scale fold and the CPU dropout (2-core Intel Xeon, AVX512-BF16): 4.2591 with bf16
against 4.2595 in float32 (-0.01%), last-100-step training loss 4.4015 against 4.4017, 112 s
each (the demo's 10-layer, 32-channel network is too small for bf16 to pay on that CPU).
``amp_cpu: false`` trains in float32.
Resume is bit-exact for either setting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from wavekit.train.optim import TrainConfig


def cpu_has_native_bf16() -> bool:
    """True if this CPU multiplies bf16 natively (AVX512-BF16 or AMX); emulated bf16 is many times slower."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def autocast_dtype(cfg: TrainConfig, device: torch.device, model: nn.Module | None = None) -> torch.dtype | None:
    """The autocast dtype for ``device`` under ``cfg`` (None = plain float32); a ``model`` whose
    class says ``mixed_precision = False`` (Tacotron 2) always trains in float32."""
    if model is not None and not getattr(model, "mixed_precision", True):
        return None
    if device.type == "cuda" and cfg.amp:
        return torch.bfloat16 if cfg.amp_dtype == "bf16" else torch.float16
    if device.type == "cpu" and cfg.amp_cpu and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def describe_precision(cfg: TrainConfig, device: torch.device, model: nn.Module) -> str:
    """The log's ``precision:`` line: what ``model``'s forward passes compute in under ``cfg``."""
    dtype = autocast_dtype(cfg, device, model)
    if dtype is not None:
        name = "bf16" if dtype == torch.bfloat16 else "fp16"
        flag = "amp_cpu" if device.type == "cpu" else "amp"
        return f"{name} autocast, float32 weights and optimizer state (train.{flag}: false for float32)"
    if autocast_dtype(cfg, device) is not None:
        return f"float32 ({type(model).__name__} trains in float32: mixed_precision = False)"
    if device.type == "cpu" and cfg.amp_cpu:
        return "float32 (no native bf16 on this CPU; train.amp_cpu has no effect)"
    return "float32"


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    """The autocast context for one forward pass (a no-op context when ``dtype`` is None)."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW from ``cfg``; the fused CUDA kernel when ``cfg.fused_adam`` and the model is on CUDA."""
    kw: dict[str, Any] = {"lr": cfg.lr, "betas": cfg.adam_betas, "eps": cfg.adam_eps, "weight_decay": cfg.weight_decay}
    if device.type == "cuda" and cfg.fused_adam:
        kw["fused"] = True
    return torch.optim.AdamW(model.parameters(), **kw)


class LossStep:
    """``self(batch, backward) -> loss``: the loss of ``module(**batch)``, then ``backward(loss)``.

    With ``cfg.compile`` the module is compiled at the first call (forward and
    backward); if that fails it is reported once (``fallback``), the micro-batch is
    redone eagerly and every later call runs eagerly. ``compile_s`` is the wall time
    of that first call (compiling included), None until it ran.
    """

    def __init__(self, module: nn.Module, cfg: TrainConfig, device: torch.device,
                 amp_dtype: torch.dtype | None = None, log: Callable[[str], None] = print) -> None:
        self.module, self.log = module, log
        self.device, self.amp_dtype = device, amp_dtype
        self.compiled: Callable[..., torch.Tensor] | None = None
        self.compile_s: float | None = None
        self.fallback: str | None = None
        if cfg.compile:
            mode = "reduce-overhead" if (cfg.cuda_graphs and device.type == "cuda") else None
            self.compiled = torch.compile(module, mode=mode, dynamic=False)
        elif cfg.cuda_graphs and device.type == "cuda":
            log("train.cuda_graphs needs train.compile=true (inductor captures the graphs); running without")

    def _run(self, fn: Callable[..., torch.Tensor], batch: dict[str, Any],
             backward: Callable[[torch.Tensor], None]) -> torch.Tensor:
        with autocast(self.device, self.amp_dtype):  # the forward only; backward follows its dtypes
            loss = fn(**batch)
        backward(loss)
        return loss

    def __call__(self, batch: dict[str, Any], backward: Callable[[torch.Tensor], None]) -> torch.Tensor:
        if self.compiled is None:
            return self._run(self.module, batch, backward)
        if self.compile_s is not None:
            return self._run(self.compiled, batch, backward)
        t0 = time.perf_counter()
        try:
            loss = self._run(self.compiled, batch, backward)
            self.log(f"torch.compile: first (compiling) step took {time.perf_counter() - t0:.1f} s")
        except Exception as e:  # noqa: BLE001 -- inductor raises many types (BackendCompilerFailed, C++ build errors)
            self.compiled = None
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            self.fallback = f"{type(e).__name__}: {msg}"[:300]
            self.log(f"torch.compile failed ({self.fallback}); training eagerly")
            for p in self.module.parameters():
                p.grad = None
            loss = self._run(self.module, batch, backward)
        self.compile_s = time.perf_counter() - t0
        return loss
