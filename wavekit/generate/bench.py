"""`wavekit bench`: generation and training speed, measured side by side in one run.

- ``generation``: for 10, 20 and 30 layers (10 per stack, kernel 2, 64 residual,
  128 gate, 128 skip channels, mu-law 256, no conditioning) the naive
  generator (a full forward pass over the receptive-field window for every
  sample, batch 1) against the compiled incremental step (batch 1);
- ``engine``: the 20-layer model in the engine with 1, 8 and 32 concurrent streams;
- ``rtf``: seconds of compute per second of 16 kHz audio for the default
  vocoder (``WaveNetConfig()``, mel conditioned) at batch 1, conditioning
  (upsampling and projections) included; ``rtf_source_filter`` the same vocoder
  in the source-filter mode (``excitation="lpc"``: LPC from the mel included),
  ``rtf_source_filter_pitch`` with the sine source and ``rtf_source_filter_long_term``
  with the long-term predictor (``long_term=0.8``), F0 from the mel included;
- ``train``: a list of ``{config, eager_samples_per_s, samples_per_s, speedup}`` for
  ``default_vocoder`` (``WaveNetConfig()``), ``small_mulaw`` (20 layers, 2 stacks,
  64/128/128, kernel 3, mel-conditioned) and ``pixelcnnpp_32`` (PixelCNN++ on 3 x 32 x 32,
  samples = images): Adam steps on random data, the eager float32 step on one thread
  against the Trainer's step for the device (:mod:`wavekit.generate.bench_train`: the
  thread plan, and compile / autocast where they were measured faster), alternated
  round by round in one run;
- ``cuda_graphs`` (``--device cuda`` only, else None): the 20-layer model in the
  engine at 1 stream with the step replayed as a CUDA graph vs run eagerly.

On ``--device cuda`` the incremental, engine and rtf figures come from the
engine's torch backend on the GPU (CUDA graphs); on cpu from the numba kernel.

Each generation figure is the best of ``settings.repeats`` (3) timed rounds, the
engine ones after an untimed warm-up round on the same engine. Random weights:
speed does not depend on training. Figures depend on the machine's load; no
test asserts on them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from wavekit.generate.engine import GenerationEngine, Request
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet

SAMPLE_RATE = 16000


def bench_config(layers: int) -> WaveNetConfig:
    """The benchmark WaveNet: ``layers`` layers, 10 per stack, kernel 2, 64/128/128 channels, no conditioning."""
    return WaveNetConfig(
        layers=layers, stacks=max(1, layers // 10), residual_channels=64, gate_channels=128, skip_channels=128,
        kernel_size=2, output="mulaw", cin_channels=0, dropout=0.0,
    )


def _model(cfg: WaveNetConfig, device: str) -> WaveNet:
    torch.manual_seed(0)
    return WaveNet(cfg).to(device).eval()


@torch.no_grad()
def naive_samples_per_s(model: WaveNet, n: int, device: str, repeats: int = 1) -> float:
    """Generate n samples by re-running the full model over the receptive-field window each time (best of repeats)."""
    rf = model.receptive_field
    gen = torch.Generator(device=device).manual_seed(0)
    model(torch.zeros(1, rf + 1, device=device))  # warm-up
    best = 0.0
    for _ in range(repeats):
        window = torch.zeros(1, rf + 1, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            params = model(window)[:, :, -1:]
            x = model.to_waveform(model.distribution.sample(params, 1.0, gen))
            window = torch.cat([window[:, 1:], x.to(window.dtype)], dim=1)
        if device == "cuda":
            torch.cuda.synchronize()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def engine_samples_per_s(
    model: WaveNet, streams: int, length: int, mel_frames: int = 0, threads: int | None = None,
    device: str = "cpu", graphs: bool | None = None, repeats: int = 1,
) -> float:
    """Samples/s of ``streams`` concurrent requests of ``length`` samples in a ``streams``-slot engine.

    One engine serves a warm-up round of the same requests, then ``repeats`` timed rounds;
    the best round counts (as ``timeit`` does: on a shared machine the slower rounds measure
    the neighbours). Timing starts before the requests are submitted, so the mel's
    upsampling and all conditioning work are included.
    """
    engine = GenerationEngine(model, slots=streams, threads=threads, device=device, graphs=graphs)
    cfg = model.config
    rng = np.random.default_rng(0)
    mels = [rng.standard_normal((cfg.cin_channels, mel_frames)).astype(np.float32) if cfg.cin_channels else None
            for _ in range(streams)]

    def round_() -> float:
        t0 = time.perf_counter()
        engine.generate_all([Request(mel=mel, length=length, seed=i) for i, mel in enumerate(mels)])
        return streams * length / (time.perf_counter() - t0)

    round_()
    return max(round_() for _ in range(repeats))


def run_bench(device: str = "cpu", quick: bool = False, contention: bool = False) -> dict[str, Any]:
    """All measurements as one JSON-ready dict (keys generation, engine, rtf, train, settings; with
    ``contention`` on the CPU also ``train_contention``, :func:`wavekit.generate.bench_train.contention_row`)."""
    if device == "cuda" and not torch.cuda.is_available():
        from wavekit.errors import WavekitError

        raise WavekitError("--device cuda: no CUDA device is available; use --device cpu")
    n_naive, n_inc, n_engine = (2, 200, 64) if quick else (20, 8000, 2048)
    repeats = 1 if quick else 3
    threads = torch.get_num_threads()
    gen_threads = os.cpu_count() or 1
    if device == "cpu":
        # torch on one thread: on a shared 2-core machine its 2-thread kernels can be many times
        # slower (spinning workers), which would flatter the incremental speedups.
        torch.set_num_threads(1)
    try:
        result = _measure(device, quick, n_naive, n_inc, n_engine, gen_threads, repeats)
    finally:
        torch.set_num_threads(threads)
    if contention and device == "cpu":
        from wavekit.generate.bench_train import contention_row

        batch, crop = result["settings"]["train_batch"]
        result["train_contention"] = contention_row(batch, crop, steps=1 if quick else 2, rounds=1 if quick else 3)
    return result


def _measure(
    device: str, quick: bool, n_naive: int, n_inc: int, n_engine: int, gen_threads: int, repeats: int
) -> dict[str, Any]:
    generation = []
    for layers in (10, 20, 30):
        cfg = bench_config(layers)
        naive = naive_samples_per_s(_model(cfg, device), n_naive, device, repeats)
        inc = engine_samples_per_s(_model(cfg, device), 1, n_inc, threads=gen_threads, device=device, repeats=repeats)
        generation.append({
            "layers": layers, "residual_channels": cfg.residual_channels,
            "naive_samples_per_s": naive, "incremental_samples_per_s": inc, "speedup": inc / naive,
        })
    model20 = _model(bench_config(20), device)
    engine = [
        {"streams": s, "samples_per_s": engine_samples_per_s(model20, s, n_engine, threads=gen_threads, device=device,
                                                       repeats=repeats)}
        for s in (1, 8, 32)
    ]
    cuda_graphs = None
    if device == "cuda":
        on, off = (engine_samples_per_s(model20, 1, n_engine, device=device, graphs=g, repeats=repeats)
                   for g in (True, False))
        cuda_graphs = {"streams": 1, "graphs_on_samples_per_s": on, "graphs_off_samples_per_s": off}
    seconds = 0.05 if quick else 1.0

    def rtf_of(**mode: Any) -> float:
        """Real-time factor of the default vocoder in ``mode`` at batch 1 (``seconds`` of mel)."""
        cfg = WaveNetConfig(dropout=0.0, **mode)
        frames = int(seconds * SAMPLE_RATE) // cfg.hop_length
        return SAMPLE_RATE / engine_samples_per_s(
            _model(cfg, device), 1, frames * cfg.hop_length, frames, threads=gen_threads, device=device,
            repeats=repeats,
        )

    rtf, rtf_sf = rtf_of(), rtf_of(excitation="lpc")
    rtf_pitch = rtf_of(excitation="lpc", pitch_harmonics=8)  # + F0 from the mel, sine source
    rtf_long_term = rtf_of(excitation="lpc", long_term=0.8)  # + F0 from the mel, pitch predictor
    batch, crop, steps = (1, 1024, 1) if quick else (2, 8192, 2)
    from wavekit.generate.bench_train import train_rows

    train = train_rows(device, batch, crop, steps, rounds=1 if quick else 2)
    backend = "torch + CUDA graphs" if device == "cuda" else "numba (CPU)"
    return {
        "generation": generation, "engine": engine, "rtf": rtf, "rtf_source_filter": rtf_sf,
        "rtf_source_filter_pitch": rtf_pitch, "rtf_source_filter_long_term": rtf_long_term, "train": train,
        "cuda_graphs": cuda_graphs,
        "settings": {"device": device, "quick": quick, "torch_threads": torch.get_num_threads(), "generation_threads": gen_threads,
                     "generation_backend": backend, "train_batch": [batch, crop], "repeats": repeats},
    }


def format_table(result: dict[str, Any]) -> str:
    """The human-readable table of :func:`run_bench`'s result."""
    lines = ["generation (batch 1)", f"{'layers':>7} {'channels':>9} {'naive/s':>10} {'incremental/s':>14} {'speedup':>8}"]
    for g in result["generation"]:
        lines.append(
            f"{g['layers']:>7} {g['residual_channels']:>9} {g['naive_samples_per_s']:>10.1f} "
            f"{g['incremental_samples_per_s']:>14.0f} {g['speedup']:>7.0f}x"
        )
    lines += ["", "engine (20 layers)", f"{'streams':>7} {'samples/s':>10} {'vs 1':>6}"]
    base = result["engine"][0]["samples_per_s"]
    for e in result["engine"]:
        lines.append(f"{e['streams']:>7} {e['samples_per_s']:>10.0f} {e['samples_per_s'] / base:>5.1f}x")
    graphs = result.get("cuda_graphs")
    if graphs:
        lines.append(f"CUDA graphs ({graphs['streams']} stream): on {graphs['graphs_on_samples_per_s']:.0f}/s, "
                     f"off {graphs['graphs_off_samples_per_s']:.0f}/s")
    lines += ["", f"default vocoder real-time factor (batch 1): {result['rtf']:.2f}",
              f"  source-filter mode (excitation=lpc): {result['rtf_source_filter']:.2f}",
              f"  with the sine source (pitch_harmonics=8, F0 from the mel): {result['rtf_source_filter_pitch']:.2f}",
              f"  with the long-term predictor (long_term=0.8, F0 from the mel): "
              f"{result['rtf_source_filter_long_term']:.2f}",
              "", "training samples/s (eager float32, 1 thread -> Trainer step)"]
    for t in result["train"]:
        lines.append(f"{t['config']:>16} {t['eager_samples_per_s']:>9.0f} -> {t['samples_per_s']:>9.0f} "
                     f"{t['speedup']:>5.2f}x  [{t['setting']}]")
    c = result.get("train_contention")
    if c:
        lines += ["", f"training under contention ({c['config']}, {c['neighbour']})",
                  f"  idle {c['idle_samples_per_s']:.0f}/s on {c['idle_threads']} thread(s), "
                  f"{c['idle_same_threads_samples_per_s']:.0f}/s on {c['contended_threads']}",
                  f"  with the neighbour {c['contended_samples_per_s']:.0f}/s on {c['contended_threads']} thread(s) "
                  f"(slowdown {c['slowdown']:.0%}; {c['slowdown_same_threads']:.0%} against idle on as many threads), "
                  f"on every core {c['all_cores_contended_samples_per_s']:.0f}/s (slowdown {c['all_cores_slowdown']:.0%})"]
    s = result["settings"]
    lines.append(f"[device {s['device']}, torch {s['torch_threads']} thread(s), generation {s['generation_threads']} thread(s) {s['generation_backend']}]")
    return "\n".join(lines)
