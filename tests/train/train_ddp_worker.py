"""Train the tiny model for two float64 steps; run alone or under torchrun (test helper).

Usage: python train_ddp_worker.py OUT BATCH_SIZE. Rank 0 saves the last step's gradients
and the final weights to OUT/result.pt.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import train_tiny as T  # noqa: E402

from wavekit.train import TrainConfig, Trainer  # noqa: E402
from wavekit.train.distributed import env_info  # noqa: E402


def run(out: Path, batch_size: int) -> dict:
    torch.manual_seed(0)
    model = T.TinyModel(T.TinyConfig(hidden=6)).double()
    bundle = T.build(T.TinyDataConfig(items=40, valid_items=10), model.config)
    cfg = TrainConfig(steps=2, batch_size=batch_size, grad_accum=2, lr=0.01, lr_schedule="cosine", warmup_steps=1,
                      grad_clip=0.0, ema_decay=0.5, eval_every=1, eval_batches=3, log_every=1, save_every=0,
                      device="cpu")
    trainer = Trainer(model, bundle.train, bundle.valid, config=cfg, out_dir=out, kind=T.KIND, progress=False)
    trainer.train()
    result = {"grads": [p.grad.clone() for p in model.parameters()], "model": model.state_dict(),
              "ema": trainer.ema.state_dict(), "world_size": trainer.info.world_size}
    if env_info().is_main:
        torch.save(result, Path(out) / "result.pt")
    return result


if __name__ == "__main__":
    torch.set_num_threads(1)
    run(Path(sys.argv[1]), int(sys.argv[2]))
