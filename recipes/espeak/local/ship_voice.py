#!/usr/bin/env python3
"""Turn a trained Tacotron 2 run into the embedded voice's files: weights and training curves.

Writes ``--out`` (default ``wavekit/pretrained/en.pt``): the checkpoint without
optimizer, scheduler, scaler, RNG and data-loader state (EMA weights, when the
run kept them, become the weights; kind, config, step, metrics, train config,
mel settings and statistics, and the symbol table stay), checks that it loads
with ``wavekit.load`` (``torch.load(weights_only=True)``) and decodes as the
original does, and that it is at most ``--max-mb`` MB. Then ``--curves``
(default ``wavekit/pretrained/en_curves.png``): training and validation loss
against step from the run's ``metrics.jsonl``.

Usage:
  python recipes/espeak/local/ship_voice.py --run exp/espeak_pretrained/train_tts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402

from wavekit.checkpoint import load, strip_checkpoint  # noqa: E402
from wavekit.errors import CheckpointError  # noqa: E402
from wavekit.eval.plots import plot_training_curves, read_metrics_jsonl  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
CURVES = ("loss", "valid_loss")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, type=Path, help="`wavekit train --out` folder of the Tacotron 2")
    ap.add_argument("--checkpoint", default="last.pt", help="file in RUN/checkpoints to ship (last.pt)")
    ap.add_argument("--out", type=Path, default=ROOT / "wavekit/pretrained/en.pt")
    ap.add_argument("--curves", type=Path, default=ROOT / "wavekit/pretrained/en_curves.png")
    ap.add_argument("--max-mb", type=float, default=8.0, help="size limit of the shipped file in MiB (8)")
    args = ap.parse_args(argv)

    src = args.run / "checkpoints" / args.checkpoint
    strip_checkpoint(src, args.out)
    size = args.out.stat().st_size
    if size > args.max_mb * 1024 * 1024:
        raise CheckpointError(f"{args.out} is {size / 2**20:.2f} MiB, over the {args.max_mb:g} MiB limit")
    shipped, trained = load(args.out), load(src)
    if shipped.kind != "tacotron2" or shipped.symbols is None or shipped.audio is None:
        raise CheckpointError(f"{args.out} lost its kind, symbol table or audio settings")
    ids = torch.tensor([5, 9, 12, 7, 1])
    with torch.no_grad():
        torch.manual_seed(0)
        a, _ = shipped.model.infer(ids, max_frames=60)
        torch.manual_seed(0)
        b, _ = trained.model.infer(ids, max_frames=60)
    if not torch.equal(a, b):
        raise CheckpointError(f"{args.out} decodes differently from {src}")
    records = [{k: r[k] for k in ("step", *CURVES) if k in r} for r in read_metrics_jsonl(args.run / "metrics.jsonl")]
    last = max((int(r["step"]) for r in records if "step" in r), default=shipped.step)
    plot_training_curves(records, args.curves, title=f"embedded English voice: Tacotron 2 on espeak-ng en-us "
                         f"({last} steps; shipped: step {shipped.step})")
    params = sum(p.numel() for p in shipped.model.parameters())
    print(f"wrote {args.out}: step {shipped.step}, {params:,} parameters, {size:,} bytes ({size / 2**20:.2f} MiB)")
    print(f"wrote {args.curves}")
    return 0


if __name__ == "__main__":
    run_main(main)
