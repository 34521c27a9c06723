"""`wavekit image ...` end to end on digits with a tiny model (click's CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from wavekit.cli import cli


@pytest.mark.slow
def test_image_train_sample_complete_eval(tmp_path: Path) -> None:
    conf = {
        "kind": "gated_pixelcnn",
        "model": {"image_channels": 1, "levels": 2, "layers": 2, "hidden_channels": 8, "num_classes": 10},
        "data": {"dataset": "digits", "binarize": True, "use_labels": True},
        "train": {"steps": 20, "batch_size": 16, "lr": 0.005, "eval_every": 0, "save_every": 0, "log_every": 10,
                  "ema_decay": 0.0, "device": "cpu"},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(conf))
    run = CliRunner().invoke
    r = run(cli, ["image", "train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run"), "--quiet"])
    assert r.exit_code == 0, r.output
    ck = str(tmp_path / "run" / "checkpoints" / "last.pt")
    r = run(cli, ["image", "sample", ck, "-o", str(tmp_path / "s.png"), "-n", "2", "--label", "3"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    r = run(cli, ["image", "complete", ck, "-o", str(tmp_path / "c.png"), "-n", "2", "--samples", "1"])
    assert r.exit_code == 0, r.output
    r = run(cli, ["image", "eval", ck])
    assert r.exit_code == 0, r.output
    bpd = float(r.output.split("bits/dim:")[1].split()[0])
    assert 0 < bpd < 1.0  # binary data: uniform is 1 bit/dim
    assert "nats/image" in r.output


def test_receptive_field_png_and_errors(tmp_path: Path) -> None:
    run = CliRunner().invoke
    r = run(cli, ["image", "receptive-field", "--kind", "pixelcnn", "--layers", "2", "--size", "6",
                  "-o", str(tmp_path / "rf.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rf.png").is_file()
    r = run(cli, ["image", "sample", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "x.png")])
    assert r.exit_code != 0 and "Traceback" not in r.output
