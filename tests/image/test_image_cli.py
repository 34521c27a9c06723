"""`wavekit image ...` end to end on digits with a tiny model (click's CliRunner)."""

from __future__ import annotations

import json
import math
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
    r = run(cli, ["image", "train", "--config", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "run"), "--quiet"])
    assert r.exit_code == 0, r.output
    ck = str(tmp_path / "run" / "checkpoints" / "last.pt")
    r = run(cli, ["image", "sample", "-c", ck, "-o", str(tmp_path / "s.png"), "-n", "2", "--label", "3"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    # the old positional form still works, with a deprecation note, and draws the same grid
    r = run(cli, ["image", "sample", ck, "-o", str(tmp_path / "s_old.png"), "-n", "2", "--label", "3"])
    assert r.exit_code == 0, r.output
    assert "deprecated" in r.output and "-c/--checkpoint" in r.output
    assert (tmp_path / "s_old.png").read_bytes() == (tmp_path / "s.png").read_bytes()
    r = run(cli, ["image", "sample", ck, "-c", ck, "-o", str(tmp_path / "s2.png")])
    assert r.exit_code == 2 and "once" in r.output  # usage error: the checkpoint given twice
    r = run(cli, ["image", "sample", "-o", str(tmp_path / "s2.png")])
    assert r.exit_code == 2 and "-c/--checkpoint" in r.output
    r = run(cli, ["image", "complete", "-c", ck, "-o", str(tmp_path / "c.png"), "-n", "2", "--samples", "1"])
    assert r.exit_code == 0, r.output
    r = run(cli, ["image", "eval", "-c", ck])
    assert r.exit_code == 0, r.output
    bpd = float(r.output.split("bits/dim:")[1].split()[0])
    assert 0 < bpd < 1.0  # binary data: uniform is 1 bit/dim
    assert "nats/image" in r.output
    out = tmp_path / "eval" / "metrics.json"
    r = run(cli, ["image", "eval", "--checkpoint", ck, "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    metrics = json.loads(out.read_text())
    assert metrics == json.loads(r.output)  # --json prints what -o writes
    assert round(metrics["bits_per_dim"], 4) == bpd
    assert metrics["n_images"] > 0 and metrics["levels"] == 2 and metrics["data"] == "digits"
    assert metrics["checkpoint"] == ck
    # binary data: nats per image = bits/dim x dims x ln 2 (8x8 digits, one channel)
    assert math.isclose(metrics["nats_per_image"], metrics["bits_per_dim"] * 64 * math.log(2), rel_tol=1e-9)
    assert [p.name for p in out.parent.iterdir()] == ["metrics.json"]  # no temporary file left


def test_receptive_field_png_and_errors(tmp_path: Path) -> None:
    run = CliRunner().invoke
    r = run(cli, ["image", "receptive-field", "--kind", "pixelcnn", "--layers", "2", "--size", "6",
                  "-o", str(tmp_path / "rf.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rf.png").is_file()
    r = run(cli, ["image", "sample", "-c", str(tmp_path / "missing.pt"), "-o", str(tmp_path / "x.png")])
    assert r.exit_code != 0 and "Traceback" not in r.output
