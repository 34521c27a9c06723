"""One training step of wavekit against r9y9/wavenet_vocoder, measured side by side in one process.

    git clone https://github.com/r9y9/wavenet_vocoder /tmp/r9y9     # outside this repository
    .venv/bin/python scripts/r9y9_side_by_side.py --r9y9 /tmp/r9y9 [--rounds 3] [--json out.json]

r9y9's model and loss are imported from that checkout (its package ``wavenet_vocoder``; nothing
of it is copied here). Two configs in r9y9's names, each one Adam step on a batch of 2 crops of
7936 samples (31 mel frames of 80 bands), mel-conditioned, random data:

- ``small_mulaw``: 20 layers, 2 stacks, 64 residual / 128 gate / 128 skip channels, kernel 3,
  256-class mu-law (r9y9: one-hot input, ``ConvInUpsampleNetwork`` with ``cin_pad=2``, cross entropy);
- ``mol_head``: 24 layers, 4 stacks, 128/256/128, kernel 3, a mixture of 10 logistics over 65536 levels
  (r9y9: scalar input, ``discretized_mix_logistic_loss``).

Timed, alternating round by round, the best round of each counting: r9y9 on one thread and on
every core (its better figure counts, and r9y9's default exponential moving average of the
weights is left out, both in its favour); wavekit's eager float32 step on one thread; wavekit's
Trainer step (:mod:`wavekit.generate.bench_train`: the thread plan of :mod:`wavekit.threads`).
Dropout 0.05 on both sides. Prints a table and ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from wavekit import threads as thread_settings
from wavekit.audio.mulaw import mulaw_encode
from wavekit.generate.bench_train import adam_stepper, timed
from wavekit.train.optim import TrainConfig
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet

BATCH, FRAMES, HOP, CIN_PAD = 2, 31, 256, 2
CONFIGS: dict[str, dict[str, Any]] = {
    "small_mulaw": dict(layers=20, stacks=2, residual_channels=64, gate_channels=128, skip_channels=128),
    "mol_head": dict(layers=24, stacks=4, residual_channels=128, gate_channels=256, skip_channels=128),
}


def import_r9y9(path: Path) -> Any:
    """r9y9's package ``wavenet_vocoder`` from a checkout (its ``version.py`` is written by its setup.py: stubbed)."""
    if not (path / "wavenet_vocoder" / "wavenet.py").is_file():
        sys.exit(f"error: {path} is not a checkout of r9y9/wavenet_vocoder (no wavenet_vocoder/wavenet.py); "
                 "clone it: git clone https://github.com/r9y9/wavenet_vocoder")
    if not (path / "wavenet_vocoder" / "version.py").is_file():
        stub = types.ModuleType("wavenet_vocoder.version")
        stub.version = "checkout"  # type: ignore[attr-defined]
        sys.modules["wavenet_vocoder.version"] = stub
    sys.path.insert(0, str(path))
    import wavenet_vocoder
    import wavenet_vocoder.mixture

    return wavenet_vocoder


def r9y9_stepper(r9y9: Any, name: str, data: dict[str, torch.Tensor]) -> Any:
    """One Adam step of r9y9's WaveNet in config ``name`` (its train.py's step without the EMA)."""
    mulaw = name == "small_mulaw"
    torch.manual_seed(0)
    model = r9y9.WaveNet(
        out_channels=256 if mulaw else 30, kernel_size=3, dropout=0.05, cin_channels=80, gin_channels=-1,
        upsample_conditional_features=True, upsample_net="ConvInUpsampleNetwork",
        upsample_params={"upsample_scales": [4, 4, 4, 4], "cin_channels": 80, "cin_pad": CIN_PAD},
        scalar_input=not mulaw, output_distribution="Logistic", cin_pad=CIN_PAD,
        **{"skip_out_channels" if k == "skip_channels" else k: v for k, v in CONFIGS[name].items()},
    ).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    wav, c = data["wav"], F.pad(data["c"], (CIN_PAD, CIN_PAD), mode="replicate")
    if mulaw:
        classes = mulaw_encode(wav, 256)
        x = F.one_hot(classes, 256).transpose(1, 2).float()
    else:
        x = wav.unsqueeze(1)

    def run() -> None:
        opt.zero_grad()
        y_hat = model(x, c, None, False)
        if mulaw:
            loss = F.cross_entropy(y_hat[:, :, :-1], classes[:, 1:])
        else:
            loss = r9y9.mixture.discretized_mix_logistic_loss(
                y_hat[:, :, :-1], wav[:, 1:].unsqueeze(-1), num_classes=65536, log_scale_min=-16.0)
        loss.backward()
        opt.step()

    return run


def wavekit_steppers(name: str, data: dict[str, torch.Tensor]) -> tuple[Any, Any]:
    cfg = WaveNetConfig(kernel_size=3, output="mulaw" if name == "small_mulaw" else "mol", cin_channels=80,
                        dropout=0.05, **CONFIGS[name])
    torch.manual_seed(0)
    eager_model = WaveNet(cfg).train()
    torch.manual_seed(0)
    fast_model = WaveNet(cfg).train()
    return adam_stepper(eager_model, data, "cpu", None), adam_stepper(fast_model, data, "cpu", TrainConfig(device="cpu"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--r9y9", type=Path, required=True, help="a checkout of r9y9/wavenet_vocoder")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2, help="Adam steps per timed round")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    r9y9 = import_r9y9(args.r9y9)
    plan = thread_settings.plan(probe=True)
    cores = os.cpu_count() or 1
    torch.manual_seed(0)
    data = {"wav": (torch.rand(BATCH, FRAMES * HOP) * 2 - 1) ** 3, "c": torch.randn(BATCH, 80, FRAMES)}
    rows = []
    for name in CONFIGS:
        eager, fast = wavekit_steppers(name, data)
        theirs = r9y9_stepper(r9y9, name, data)
        runs = {"r9y9 1 thread": (theirs, 1), f"r9y9 {cores} threads": (theirs, cores),
                "wavekit eager": (eager, 1), "wavekit": (fast, plan.threads)}
        best = {k: float("inf") for k in runs}
        for run, n in runs.values():  # warm-up
            torch.set_num_threads(n)
            run()
        for _ in range(args.rounds):
            for k, (run, n) in runs.items():
                torch.set_num_threads(n)
                best[k] = min(best[k], timed(run, args.steps, "cpu") / args.steps)
        r9y9_s = min(best["r9y9 1 thread"], best[f"r9y9 {cores} threads"])
        row = {"config": name, "batch": [BATCH, FRAMES * HOP], "r9y9_s": r9y9_s, "r9y9_1_thread_s": best["r9y9 1 thread"],
               "wavekit_eager_s": best["wavekit eager"], "wavekit_s": best["wavekit"],
               "r9y9_over_wavekit": r9y9_s / best["wavekit"], "wavekit_setting": f"{plan.threads} thread(s)"}
        rows.append(row)
        print(f"{name:>12}: r9y9 {r9y9_s:.2f} s/step (1 thread {best['r9y9 1 thread']:.2f}), wavekit eager "
              f"{row['wavekit_eager_s']:.2f}, wavekit {row['wavekit_s']:.2f} -> r9y9 / wavekit "
              f"{row['r9y9_over_wavekit']:.2f}x", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "when": time.strftime("%Y-%m-%d %H:%M")}, indent=1))


if __name__ == "__main__":
    main()
