"""`wavekit train` and `wavekit info` through click's CliRunner, with the test-only tiny kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import train_tiny as T
import yaml
from click.testing import CliRunner

from wavekit.cli import cli
from wavekit.train import load_checkpoint, load_experiment

CONFIG = {
    "kind": T.KIND,
    "model": {"hidden": 5},
    "data": {"items": 16},
    "train": {"steps": 6, "batch_size": 4, "lr": 0.01, "save_every": 2, "eval_every": 2, "eval_batches": 1,
              "log_every": 1},
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_train_resume_and_info(config_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "exp"
    first = run("train", "--config", str(config_file), "-o", str(out), "--set", "train.steps=4",
                "--device", "cpu", "--quiet")
    assert first.exit_code == 0, first.output
    assert f"checkpoints: {out / 'checkpoints'}" in first.output
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 4
    # OUT/config.yaml is the resolved config, overrides included.
    resolved = load_experiment(out / "config.yaml")
    assert resolved.train.steps == 4 and resolved.train.device == "cpu" and resolved.model.hidden == 5

    again = run("train", "--config", str(config_file), "-o", str(out), "--quiet")
    assert again.exit_code == 1 and "Error:" in again.output and "--resume" in again.output
    assert "Traceback" not in again.output

    resumed = run("train", "--config", str(config_file), "-o", str(out), "--resume", "--device", "cpu",
                  "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == 6
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == [1, 2, 3, 4, 5, 6]

    ckpt = out / "checkpoints" / "last.pt"
    info = run("info", str(ckpt), "--json")
    assert info.exit_code == 0, info.output
    summary = json.loads(info.output)
    model = T.TinyModel(T.TinyConfig(hidden=5))
    assert summary["kind"] == T.KIND and summary["step"] == 6
    assert summary["parameters"] == sum(p.numel() for p in model.parameters())
    assert summary["receptive_field"] == model.receptive_field
    assert summary["receptive_field_ms"] == pytest.approx(1000 * model.receptive_field / 16000)
    assert summary["config"]["hidden"] == 5 and "valid_loss" in summary["metrics"]

    text = run("info", str(ckpt))
    assert run("info", "-c", str(ckpt)).output == text.output  # the option form every model-taking command shares
    assert text.exit_code == 0
    assert f"{summary['parameters']:,}" in text.output and "receptive field: 4 samples" in text.output
    assert "16000 Hz" in text.output and "hidden: 5" in text.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--set", "model.hiden=3"], "model.hiden"),
        (["--set", "train.lr=fast"], "train.lr"),
        (["--set", "kind=nope"], "nope"),
    ],
)
def test_train_config_errors_are_clean(config_file: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    result = run("train", "--config", str(config_file), "-o", str(tmp_path / "o"), *args)
    assert result.exit_code == 1 and needle in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_info_on_a_bad_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    for path in (bad, tmp_path / "missing.pt"):
        result = run("info", str(path))
        assert result.exit_code == 1 and "Error: " in result.output and str(path) in result.output
        assert "Traceback" not in result.output
