"""Checkpoints: wavekit.load rebuilds the trained model; bad files give CheckpointError naming them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import train_tiny as T

import wavekit
from wavekit.errors import CheckpointError, ConfigError
from wavekit.train import TrainConfig, Trainer, load_checkpoint, save_checkpoint


def train_tiny(out: Path, hidden: int = 6, **settings) -> Trainer:
    torch.manual_seed(0)
    model = T.TinyModel(T.TinyConfig(hidden=hidden))
    bundle = T.build(T.TinyDataConfig(), model.config)
    cfg = TrainConfig(**{"steps": 4, "batch_size": 4, "lr": 0.01, "eval_every": 2, "eval_batches": 1,
                         "save_every": 1, "keep_last": 2, "ema_decay": 0.5, "device": "cpu", **settings})
    trainer = Trainer(model, bundle.train, bundle.valid, config=cfg, out_dir=out,
                      checkpoint_extra=bundle.checkpoint_extra, kind=T.KIND, progress=False)
    trainer.train()
    return trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    return train_tiny(tmp_path_factory.mktemp("run"))


def test_load_rebuilds_the_trained_model_with_ema_weights(trained: Trainer) -> None:
    model = wavekit.load(trained.ckpt_dir / "last.pt")
    assert isinstance(model, T.TinyModel) and not model.training
    assert model.config == trained.model.config
    ema = trained.ema.state_dict()
    assert any(not torch.equal(v, trained.model.state_dict()[k]) for k, v in ema.items())  # EMA differs
    for k, v in model.state_dict().items():
        assert torch.equal(v, ema[k]), k
    assert model.checkpoint_extra == {"audio": {"mel": {"sample_rate": 16000}}, "note": "tiny"}
    assert model.checkpoint_step == 4


def test_load_without_ema_gives_the_trained_weights(tmp_path: Path) -> None:
    trainer = train_tiny(tmp_path, ema_decay=0.0)
    model = wavekit.load(tmp_path / "checkpoints" / "last.pt")
    x = torch.randn(5, 4)
    y = torch.randn(5)
    trainer.model.eval()
    assert torch.equal(model.loss(x, y), trainer.model.loss(x, y))


def test_checkpoint_folder_layout(trained: Trainer) -> None:
    d = trained.ckpt_dir
    assert sorted(p.name for p in d.glob("step-*.pt")) == ["step-00000003.pt", "step-00000004.pt"]  # keep_last=2
    assert (d / "last.pt").resolve() == (d / "step-00000004.pt").resolve()
    evals = [json.loads(line) for line in trained.metrics_path.read_text().splitlines() if "valid_loss" in line]
    best_eval = min(evals, key=lambda r: r["valid_loss"])
    best = load_checkpoint(d / "best.pt")
    assert best["step"] == best_eval["step"] and best["metrics"]["best_valid_loss"] == best_eval["valid_loss"]
    assert [r["step"] for r in evals] == [2, 4]
    assert not list(d.glob("*.tmp")) and not list(d.glob(".*"))  # atomic writes leave no temp files


def _corrupt_variants(good: Path, tmp_path: Path) -> list[tuple[Path, str]]:
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(raw[: len(raw) // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 8)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    a_list = tmp_path / "list.pt"
    torch.save([1, 2, 3], a_list)
    return [(truncated, "corrupt"), (garbage, "corrupt"), (empty, "corrupt"), (foreign, "not a wavekit checkpoint"),
            (a_list, "not a wavekit checkpoint"), (tmp_path / "missing.pt", "not found"),
            (tmp_path, "not found")]


def test_bad_checkpoints_raise_checkpoint_error_naming_the_file(trained: Trainer, tmp_path: Path) -> None:
    for path, reason in _corrupt_variants(trained.ckpt_dir / "last.pt", tmp_path):
        with pytest.raises(CheckpointError, match=reason) as info:
            wavekit.load(path)
        assert str(path) in str(info.value)


def test_resume_from_a_corrupt_latest_checkpoint_says_which_file(tmp_path: Path) -> None:
    train_tiny(tmp_path)
    latest = tmp_path / "checkpoints" / "step-00000004.pt"
    latest.write_bytes(latest.read_bytes()[:100])
    torch.manual_seed(0)
    model = T.TinyModel(T.TinyConfig(hidden=6))
    bundle = T.build(T.TinyDataConfig(), model.config)
    fresh = Trainer(model, bundle.train, config=TrainConfig(steps=6, batch_size=4, device="cpu"),
                    out_dir=tmp_path, kind=T.KIND, progress=False)
    with pytest.raises(CheckpointError, match="step-00000004.pt"):
        fresh.train(resume=True)


def test_resume_refuses_a_different_model_and_fresh_start_refuses_old_checkpoints(tmp_path: Path) -> None:
    train_tiny(tmp_path)
    bundle = T.build(T.TinyDataConfig(), T.TinyConfig())
    other = Trainer(T.TinyModel(T.TinyConfig(hidden=7)), bundle.train, config=TrainConfig(steps=6, batch_size=4,
                    device="cpu"), out_dir=tmp_path, kind=T.KIND, progress=False)
    with pytest.raises(CheckpointError, match="different model"):
        other.train(resume=True)
    with pytest.raises(ConfigError, match="--resume"):
        other.train()


def test_save_checkpoint_accepts_only_plain_data(tmp_path: Path) -> None:
    payload = {"kind": T.KIND, "config": {"hidden": 3}, "model": {}, "stats": np.zeros(3)}
    with pytest.raises(TypeError, match="stats"):
        save_checkpoint(tmp_path / "x.pt", payload)
    assert not list(tmp_path.iterdir())
