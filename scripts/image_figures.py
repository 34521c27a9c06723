#!/usr/bin/env python
"""Figures for the image models: held-out bits/dim, sampling speed, sample grids.

Sections (``--sections``, comma separated; default all):

* ``digits``:  each model trained briefly on sklearn digits (8x8, 17 levels, 10 % held
  out), held-out bits/dim; 16 samples per model as a PNG grid;
* ``fashion``: the convolutional models trained briefly on Fashion-MNIST (28x28, 256
  levels, Debian's ``dataset-fashion-mnist``), bits/dim on the first test images;
* ``speed``:   cached vs naive sampling (same seed, same images: checked) at batch 1
  and 16, 16x16 and 28x28, for PixelCNN, Gated PixelCNN and PixelCNN++ (untrained
  models of the sizes below; speed does not depend on the weights).

Models are trained with a plain Adam loop (``model.loss(x)``, fixed steps and batch).
Prints markdown tables to stdout; grids go to ``--images-dir`` (``docs/images`` by
default; ``exp/image_figures_quick`` with ``--quick``, which shrinks everything to a
smoke run). Timings use one intra-op thread (``--threads``).

    .venv/bin/python scripts/image_figures.py                  # everything, ~15 min on 2 cores
    .venv/bin/python scripts/image_figures.py --sections speed # the speed table only
    .venv/bin/python scripts/image_figures.py --quick          # smoke run, ~1 min
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from wavekit.image import GatedPixelCNN, ImageModel, PixelCNN, PixelCNNConfig, PixelCNNPlusPlus, PixelRNN
from wavekit.image.pipeline import ImageDataConfig, build
from wavekit.image.plots import save_grid

# name -> (file stem, constructor of levels); the sizes reported in the tables
MODELS = {
    "PixelCNN": ("pixelcnn", lambda levels: PixelCNN(levels=levels, layers=4, hidden_channels=32)),
    "Gated PixelCNN": ("gatedpixelcnn", lambda levels: GatedPixelCNN(levels=levels, layers=4, hidden_channels=32)),
    "PixelCNN++": (
        "pixelcnnplusplus",
        lambda levels: PixelCNNPlusPlus(
            image_channels=1, levels=levels, layers=2, hidden_channels=32, mixtures=5, dropout=0.1
        ),
    ),
    "PixelRNN (Row LSTM)": (
        "pixelrnn_row",
        lambda levels: PixelRNN(levels=levels, layers=2, hidden_channels=32, variant="row"),
    ),
    "PixelRNN (Diagonal BiLSTM)": (
        "pixelrnn_diagonal",
        lambda levels: PixelRNN(levels=levels, layers=1, hidden_channels=16, variant="diagonal"),
    ),
}
CONV_MODELS = ["PixelCNN", "Gated PixelCNN", "PixelCNN++"]


def describe(model: ImageModel) -> str:
    cfg = model.config
    parts = [f"layers={cfg.layers}", f"hidden={cfg.hidden_channels}"]
    if hasattr(cfg, "mixtures"):
        parts.append(f"mixtures={cfg.mixtures}")
    params = sum(p.numel() for p in model.parameters())
    return ", ".join(parts) + f", {params / 1e3:.0f}k params"


@torch.no_grad()
def held_out_bpd(model: ImageModel, images: torch.Tensor, batch: int = 64) -> float:
    """Mean bits/dim over ``images`` (eval mode)."""
    model.eval()
    total = 0.0
    for k in range(0, len(images), batch):
        chunk = images[k : k + batch]
        total += model.loss(chunk).item() * len(chunk)
    return total / len(images) / math.log(2.0)


def train(model: ImageModel, images: torch.Tensor, steps: int, batch: int, lr: float, seed: int) -> float:
    """Plain Adam loop on random mini-batches; returns seconds spent."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.loss(images[torch.randint(0, len(images), (batch,), generator=g)])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return time.perf_counter() - start


def load(dataset: str, limit_valid: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    cfg = ImageDataConfig(dataset=dataset)
    levels = 17 if dataset == "digits" else 256
    bundle = build(cfg, PixelCNNConfig(levels=levels))
    valid = bundle.valid.images
    return bundle.train.images, valid[:limit_valid] if limit_valid else valid, levels


def likelihood_section(dataset: str, names: list[str], steps: int, batch: int, limit_valid: int, args) -> list[str]:
    train_x, valid_x, levels = load(dataset, limit_valid)
    H, W = train_x.shape[2:]
    rows = [
        f"### Held-out bits/dim: {dataset} ({H}x{W}, {levels} levels; {len(train_x)} train, "
        f"{len(valid_x)} held-out images; {steps} Adam steps of batch {batch}, lr {args.lr} cosine)",
        "",
        "| model | size | bits/dim before | bits/dim after | train time (s) |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        stem, make = MODELS[name]
        torch.manual_seed(args.seed)
        model = make(levels)
        before = held_out_bpd(model, valid_x)
        secs = train(model, train_x, steps, batch, args.lr, args.seed)
        after = held_out_bpd(model, valid_x)
        rows.append(f"| {name} | {describe(model)} | {before:.3f} | {after:.3f} | {secs:.0f} |")
        print(f"[{dataset}] {name}: {after:.3f} bits/dim after {steps} steps ({secs:.0f} s)", file=sys.stderr)
        samples = model.sample(16, H, W, seed=args.seed)
        path = save_grid(samples, levels, args.images_dir / f"{dataset}_{stem}.png", nrow=8,
                         title=f"{name}, {dataset}, {steps} steps: {after:.2f} bits/dim")
        print(f"  wrote {path}", file=sys.stderr)
    rows.append(f"\nUniform over {levels} levels: {math.log2(levels):.3f} bits/dim.")
    return rows


def _time_sampling(model: ImageModel, batch: int, size: int, cached: bool, rows: int) -> tuple[float, torch.Tensor]:
    """Seconds to sample the first ``rows`` rows of ``batch`` size x size images (later rows given)."""
    x = torch.zeros(batch, model.image_channels, size, size, dtype=torch.long)
    known = torch.zeros(batch, 1, size, size, dtype=torch.bool)
    known[:, :, rows:] = True
    start = time.perf_counter()
    out = model.complete(x, known, seed=0, cached=cached)
    return time.perf_counter() - start, out


def speed_section(sizes: list[int], batches: list[int], naive_rows: dict[int, int], levels: int, args) -> list[str]:
    lines = [
        f"### Sampling speed: cached vs naive ({levels} levels, {torch.get_num_threads()} CPU thread(s), untrained "
        "models of the sizes above)",
        "",
        "| model | image | batch | cached (s per batch) | naive (s per batch) | speedup | same images |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in CONV_MODELS:
        torch.manual_seed(args.seed)
        model = MODELS[name][1](levels).eval()
        for size in sizes:
            for batch in batches:
                t_cached, a = _time_sampling(model, batch, size, True, size)
                k = min(naive_rows.get(size, size), size)
                t_naive_k, b = _time_sampling(model, batch, size, False, k)
                t_naive = t_naive_k * size / k  # naive costs one full forward per pixel: linear in rows
                same = bool(torch.equal(a[:, :, :k], b[:, :, :k]))
                note = "" if k == size else f" ({k} of {size} rows timed)"
                lines.append(
                    f"| {name} | {size}x{size} | {batch} | {t_cached:.2f} | {t_naive:.2f}{note} | "
                    f"{t_naive / t_cached:.1f}x | {'yes' if same else 'NO'} |"
                )
                print(f"[speed] {name} {size} B={batch}: x{t_naive / t_cached:.1f}", file=sys.stderr)
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", default="digits,fashion,speed", help="comma list of digits, fashion, speed")
    p.add_argument("--quick", action="store_true", help="tiny steps and sizes: a smoke run of every section")
    p.add_argument("--images-dir", type=Path, default=None, help="where PNG grids go (default docs/images)")
    p.add_argument("--digits-steps", type=int, default=300)
    p.add_argument("--fashion-steps", type=int, default=150)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--naive-rows-28", type=int, default=4, help="rows timed for naive 28x28 (0: all)")
    args = p.parse_args(argv)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    unknown = sections - {"digits", "fashion", "speed"}
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.images_dir is None:
        args.images_dir = Path("exp/image_figures_quick" if args.quick else "docs/images")
    torch.set_num_threads(args.threads)
    out = []
    if "digits" in sections:
        steps = 20 if args.quick else args.digits_steps
        out += likelihood_section("digits", list(MODELS), steps, args.batch, 0, args) + [""]
    if "fashion" in sections:
        steps = 5 if args.quick else args.fashion_steps
        out += likelihood_section("fashion_mnist", CONV_MODELS, steps, 16, 100 if args.quick else 500, args) + [""]
    if "speed" in sections:
        if args.quick:
            out += speed_section([16], [1, 4], {16: 2}, 256, args)
        else:
            out += speed_section([16, 28], [1, 16], {28: args.naive_rows_28 or 28}, 256, args)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
