"""`wavekit image sample/complete/train` with every bad argument and bad .npz data a user can give.

Each is a usage error (exit 2) or one `Error:` line (exit 1), before any
sampling or training, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from fault_helpers import error_line

from wavekit.cli import cli
from wavekit.config import to_dict
from wavekit.image.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from wavekit.image.pipeline import ImageDataConfig
from wavekit.train.checkpoint import save_checkpoint


def image_checkpoint(path: Path, num_classes: int) -> Path:
    """An untrained 2-level Gated PixelCNN on 8x8 binarised digits (the data `complete` reads)."""
    torch.manual_seed(0)
    cfg = GatedPixelCNNConfig(image_channels=1, levels=2, layers=1, hidden_channels=4, num_classes=num_classes)
    data = ImageDataConfig(dataset="digits", binarize=True, use_labels=num_classes > 0)
    extra = {"image": {"data": to_dict(data), "levels": 2, "height": 8, "width": 8}}
    return save_checkpoint(path, {"kind": "gated_pixelcnn", "config": to_dict(cfg),
                                  "model": GatedPixelCNN.from_config(cfg).state_dict(), **extra})


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("image_ck")
    return {"plain": image_checkpoint(d / "plain.pt", 0), "classes": image_checkpoint(d / "classes.pt", 10)}


@pytest.mark.parametrize(
    "command, model, args, code, needle",
    [
        ("sample", "plain", ["-n", "0"], 2, "-n"),
        ("sample", "plain", ["-n", "-3"], 2, "-n"),
        ("sample", "plain", ["--temperature", "-1"], 2, "--temperature"),
        ("sample", "plain", ["--height", "0"], 2, "--height"),
        ("sample", "plain", ["--label", "3"], 1, "not class-conditional"),
        ("sample", "classes", ["--label", "12"], 1, "classes 0..9"),
        ("sample", "classes", ["--label", "-1"], 1, "classes 0..9"),
        ("complete", "plain", ["-n", "0"], 2, "-n"),
        ("complete", "plain", ["--keep-rows", "-3"], 2, "--keep-rows"),
        ("complete", "plain", ["--keep-rows", "20"], 2, "use 0..7"),
        ("complete", "plain", ["--keep-rows", "8"], 2, "nothing to complete"),
        ("complete", "plain", ["--samples", "0"], 2, "--samples"),
    ],
)
def test_bad_sample_and_complete_arguments_are_clean_errors(tmp_path: Path, checkpoints, command, model, args,
                                                            code, needle) -> None:
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["image", command, "-c", str(checkpoints[model]), "-o", str(out), *args])
    line = error_line(result, code)
    assert needle in line or needle in result.output, result.output
    assert not out.exists()


def test_good_arguments_still_work(tmp_path: Path, checkpoints) -> None:
    run = CliRunner().invoke
    r = run(cli, ["image", "sample", "-c", str(checkpoints["classes"]), "-o", str(tmp_path / "s.png"), "-n", "2",
                  "--label", "9", "--temperature", "0"])
    assert r.exit_code == 0, r.output
    r = run(cli, ["image", "complete", "-c", str(checkpoints["plain"]), "-o", str(tmp_path / "c.png"), "-n", "1",
                  "--keep-rows", "7", "--samples", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.png").read_bytes()[:4] == (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def _images(n: int = 20) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 2, size=(n, 8, 8))


def _npz_bytes(tmp_path: Path, **arrays) -> bytes:
    p = tmp_path / "tmp.npz"
    np.savez(p, **arrays)
    data = p.read_bytes()
    p.unlink()
    return data


@pytest.mark.parametrize(
    "case, needle",
    [
        ("random bytes", "not a readable .npz"),
        ("truncated", "not a readable .npz"),
        ("object array", "pickled Python objects"),
        ("negative pixels", "pixel values must be 0..255, found -1..1"),
        ("pixels above 255", "pixel values must be 0..255, found 0..300"),
        ("float pixels", "must be integer images"),
        ("labels that do not match", "'y' must be 20 integer labels"),
    ],
)
def test_bad_npz_is_refused_before_training(tmp_path: Path, case: str, needle: str) -> None:
    data = tmp_path / "data.npz"
    x = _images()
    if case == "random bytes":
        data.write_bytes(np.random.default_rng(1).bytes(4096))
    elif case == "truncated":
        whole = _npz_bytes(tmp_path, x=x)
        data.write_bytes(whole[: len(whole) // 2])
    elif case == "object array":
        data.write_bytes(_npz_bytes(tmp_path, x=np.array([x[0], "not an image"], dtype=object)))
    elif case == "negative pixels":
        data.write_bytes(_npz_bytes(tmp_path, x=x - 1 * (x == 0)))
    elif case == "pixels above 255":
        data.write_bytes(_npz_bytes(tmp_path, x=x * 300))
    elif case == "float pixels":
        data.write_bytes(_npz_bytes(tmp_path, x=x.astype(np.float32)))
    else:
        data.write_bytes(_npz_bytes(tmp_path, x=x, y=np.arange(3)))
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump({
        "kind": "pixelcnn", "model": {"image_channels": 1, "levels": 2, "layers": 1, "hidden_channels": 4},
        "data": {"dataset": "npz", "path": str(data)}, "train": {"steps": 2, "batch_size": 4, "device": "cpu"}}))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["image", "train", "--config", str(conf), "-o", str(out), "--quiet"])
    line = error_line(result)
    assert str(data) in line and needle in line
    assert "allow_pickle" not in line and "pickle.load" not in line  # never advise the unsafe path
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())
