"""`wavekit train` / `info` under real faults: a full and a read-only disk, a code-executing checkpoint,
and the small things a new user trips over (--resume on the wrong folder, recipe configs, crops)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import train_tiny as T
import yaml
from click.testing import CliRunner
from fault_helpers import error_line, no_temporaries, small_disk

import wavekit
from wavekit.audio import MelConfig, preprocess_corpus
from wavekit.cli import cli
from wavekit.errors import CheckpointError
from wavekit.train import load_checkpoint

CONFIG = {
    "kind": T.KIND,
    "model": {"hidden": 5},
    "data": {"items": 16},
    "train": {"steps": 6, "batch_size": 4, "lr": 0.01, "save_every": 1, "keep_last": 0, "eval_every": 0,
              "log_every": 1},
}


def write_config(path: Path, data: dict = CONFIG) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_full_disk_while_training_keeps_saved_checkpoints_and_resume_finishes(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "tiny.yaml")
    with small_disk(tmp_path / "disk", 64) as disk:  # two 22 KB checkpoints fit, the third does not
        out = disk.path / "exp"
        first = run("train", "--config", conf, "-o", out, "--quiet")
        line = error_line(first)
        assert "no space left" in line and str(out) in line and "--resume" in line
        saved = sorted((out / "checkpoints").glob("step-*.pt"))
        assert saved, "some checkpoints fitted"
        for p in saved:  # every file under a final name is whole
            assert load_checkpoint(p)["step"] == int(p.stem.split("-")[1])
        assert no_temporaries(out / "checkpoints") == []

        disk.resize(1024)
        second = run("train", "--config", conf, "-o", out, "--quiet", "--resume")
        assert second.exit_code == 0, second.output
        assert f"resumed from {saved[-1]}" in second.output and "done at step 6" in second.output


def test_disk_without_room_for_one_checkpoint_fails_before_training(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "tiny.yaml")
    with small_disk(tmp_path / "disk", 16) as disk:
        result = run("train", "--config", conf, "-o", disk.path / "exp", "--quiet")
        line = error_line(result)
        assert "not enough space" in line and "a checkpoint" in line and str(disk.path / "exp" / "checkpoints") in line
        assert "training" not in result.output and not (disk.path / "exp" / "metrics.jsonl").exists()


def test_read_only_disk_fails_before_training(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "tiny.yaml")
    with small_disk(tmp_path / "disk", 64) as disk:
        disk.read_only()
        result = run("train", "--config", conf, "-o", disk.path / "exp", "--quiet")
        line = error_line(result)
        assert "read-only file system" in line and str(disk.path / "exp") in line
        assert "training" not in result.output  # failed before the model was built


class RunsCode:
    """Unpickling this runs a shell command (what a malicious checkpoint does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("container", ["torch", "pickle"])
def test_code_executing_checkpoint_is_refused_and_its_code_never_runs(tmp_path: Path, container: str) -> None:
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(RunsCode(proof)))
    assert proof.exists(), "the payload really runs code when unpickled"

    marker = tmp_path / "PWNED"
    payload = {"kind": T.KIND, "config": {}, "model": {}, "x": RunsCode(marker)}
    ck = tmp_path / "checkpoints" / "step-00000001.pt"
    ck.parent.mkdir()
    if container == "torch":
        torch.save(payload, ck)
    else:
        ck.write_bytes(pickle.dumps(payload, protocol=4))

    line = error_line(run("info", ck))
    assert "holds code or Python objects that wavekit will not load" in line and str(ck) in line
    assert "weights_only" not in line and "corrupt" not in line
    with pytest.raises(CheckpointError, match="holds code"):
        wavekit.load(ck)
    resume = run("train", "--config", write_config(tmp_path / "tiny.yaml"), "-o", tmp_path, "--resume", "--quiet")
    assert "holds code" in error_line(resume)
    assert not marker.exists()


def test_resume_without_checkpoints_says_so(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "tiny.yaml", {**CONFIG, "train": {**CONFIG["train"], "steps": 1}})
    result = run("train", "--config", conf, "-o", tmp_path / "typo", "--resume", "--quiet")
    assert result.exit_code == 0, result.output
    assert f"--resume: no checkpoint in {tmp_path / 'typo' / 'checkpoints'}; starting from scratch" in result.output


def test_unknown_key_names_the_yaml_file(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "tiny.yaml", {**CONFIG, "model": {"hiden": 5}})
    line = error_line(run("train", "--config", conf, "-o", tmp_path / "o"))
    assert str(conf) in line and "model.hiden" in line
    assert not (tmp_path / "o").exists()


def test_recipe_config_trains_directly_and_a_second_experiment_says_how(tmp_path: Path) -> None:
    recipe = {"recipe": {"jobs": 1}, "mel": {"n_mels": 80}, **CONFIG,
              "train": {**CONFIG["train"], "steps": 1}}
    result = run("train", "--config", write_config(tmp_path / "r.yaml", recipe), "-o", tmp_path / "o", "--quiet")
    assert result.exit_code == 0, result.output
    assert "ignoring the recipe:, mel: section(s)" in result.output and "done at step 1" in result.output

    two = {**recipe, "tts": {"kind": "tacotron2", "model": {}}}
    line = error_line(run("train", "--config", write_config(tmp_path / "t.yaml", two), "-o", tmp_path / "p"))
    assert str(tmp_path / "t.yaml") in line and "--section tts" in line


def test_crop_longer_than_every_item_warns(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    t = np.arange(8000) / 16000
    for i in range(3):
        sf.write(src / f"t{i}.wav", (0.3 * np.sin(2 * np.pi * (300 + 40 * i) * t)).astype(np.float32), 16000)
    corpus = tmp_path / "dump"
    preprocess_corpus(src, corpus, MelConfig(), valid_count=0, test_count=0, progress=False)
    conf = {
        "kind": "wavenet",
        "model": {"layers": 2, "stacks": 1, "residual_channels": 4, "gate_channels": 8, "skip_channels": 4,
                  "cin_channels": 80, "upsample_scales": [4, 4, 4, 4], "dropout": 0.0},
        "data": {"root": str(corpus), "crop_samples": 16384, "valid_split": ""},
        "train": {"steps": 1, "batch_size": 1, "eval_every": 0, "device": "cpu"},
    }
    result = run("train", "--config", write_config(tmp_path / "w.yaml", conf), "-o", tmp_path / "o", "--quiet")
    assert result.exit_code == 0, result.output
    assert "data.crop_samples=16384 is longer than every training item (the longest has 7936 samples)" in result.output
