"""Exact resume: N steps + resume + N steps == 2N steps, bit for bit (CPU), also after Ctrl-C."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
import train_tiny as T

from wavekit.train import TrainConfig, Trainer, load_checkpoint

# Cosine schedule with warmup, EMA, gradient accumulation, dropout, loss noise, augmentation
# (python + numpy generators) and per-epoch random crops; 5 micro-batches per epoch, so
# optimizer steps straddle epoch boundaries.
SETTINGS = dict(steps=12, batch_size=4, grad_accum=2, lr=0.01, lr_schedule="cosine", warmup_steps=3,
                ema_decay=0.9, eval_every=4, eval_batches=2, save_every=5, keep_last=2, log_every=1,
                device="cpu")


def make_trainer(out: Path, init_seed: int = 0, **overrides) -> Trainer:
    torch.manual_seed(init_seed)
    model = T.TinyModel(T.TinyConfig(dropout=0.2, noise=0.1))
    bundle = T.build(T.TinyDataConfig(items=20, augment=True), model.config)
    return Trainer(model, bundle.train, bundle.valid, config=TrainConfig(**{**SETTINGS, **overrides}),
                   out_dir=out, checkpoint_extra=bundle.checkpoint_extra, kind=T.KIND, progress=False)


def metric_records(out: Path) -> list[dict]:
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "items_per_s"} for r in recs]


def assert_same_training_state(a: Trainer, b: Trainer) -> None:
    assert a.step == b.step
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb), ka
    for k, v in a.ema.state_dict().items():
        assert torch.equal(v, b.ema.state_dict()[k]), f"ema {k}"
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i, st in sa["state"].items():
        for name, v in st.items():
            assert torch.equal(v, sb["state"][i][name]), f"optimizer {i} {name}"
    assert a.scheduler.state_dict() == b.scheduler.state_dict()
    assert (a.epoch, a.batch_in_epoch) == (b.epoch, b.batch_in_epoch)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    out = tmp_path_factory.mktemp("reference")
    trainer = make_trainer(out)
    trainer.train()
    return trainer


def test_resume_equals_uninterrupted_run(reference: Trainer, tmp_path: Path) -> None:
    make_trainer(tmp_path).train(max_steps=6)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 6
    resumed = make_trainer(tmp_path, init_seed=99)  # different init: all state must come from the checkpoint
    resumed.train(resume=True)
    assert_same_training_state(reference, resumed)
    # The logged losses (training and held-out) agree step for step, with no duplicated lines.
    assert metric_records(tmp_path) == metric_records(reference.out_dir)


def _interrupt_in_data(trainer: Trainer, k: int) -> None:
    per_step = SETTINGS["batch_size"] * SETTINGS["grad_accum"]
    trainer.train_data.interrupt_at = per_step * k + 3  # while loading step k+1's second micro-batch


def _interrupt_in_loss(trainer: Trainer, k: int) -> None:
    original, calls = trainer.model.loss, [0]

    def loss(**batch):
        calls[0] += trainer.model.training  # evaluation calls do not count
        if calls[0] == SETTINGS["grad_accum"] * k + 1:  # first micro-batch of step k+1
            raise KeyboardInterrupt
        return original(**batch)

    trainer.model.loss = loss


def _sigint_during_update(trainer: Trainer, k: int) -> None:
    # A real SIGINT arriving in the middle of step k's update (before the EMA update): the update
    # and the step's bookkeeping complete, then training stops with step k saved.
    original, calls = trainer.ema.update, [0]

    def update(num_updates: int) -> None:
        calls[0] += 1
        if calls[0] == k:
            signal.raise_signal(signal.SIGINT)
        original(num_updates)

    trainer.ema.update = update


@pytest.mark.parametrize("inject", [_interrupt_in_data, _interrupt_in_loss, _sigint_during_update])
def test_ctrl_c_saves_finished_steps_and_resumes_exactly(reference: Trainer, tmp_path: Path, inject) -> None:
    k = 7
    trainer = make_trainer(tmp_path)
    inject(trainer, k)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert ckpt["step"] == k and trainer.step == k
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*.pt")) == ["step-00000005.pt",
                                                                                 "step-00000007.pt"]
    resumed = make_trainer(tmp_path, init_seed=99)
    resumed.train(resume=True)
    assert_same_training_state(reference, resumed)
    assert metric_records(tmp_path) == metric_records(reference.out_dir)


def test_resume_with_dataloader_workers(tmp_path: Path) -> None:
    # Worker processes get their crops from set_epoch + index, so resume stays exact with workers
    # (global generators inside workers are not restored: augmentation is off here).
    def trainer(out: Path, init_seed: int = 0) -> Trainer:
        torch.manual_seed(init_seed)
        model = T.TinyModel(T.TinyConfig(dropout=0.2))
        bundle = T.build(T.TinyDataConfig(items=20), model.config)
        cfg = TrainConfig(**{**SETTINGS, "steps": 8, "num_workers": 2})
        return Trainer(model, bundle.train, bundle.valid, config=cfg, out_dir=out, kind=T.KIND, progress=False)

    whole = trainer(tmp_path / "whole")
    whole.train()
    trainer(tmp_path / "split").train(max_steps=3)
    resumed = trainer(tmp_path / "split", init_seed=5)
    resumed.train(resume=True)
    assert_same_training_state(whole, resumed)
