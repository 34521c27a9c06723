"""`wavekit preprocess` through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from wavekit.cli import cli


def test_cli_runs_resumes_and_refuses_other_settings(tmp_path, corpus_src):
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["preprocess", str(corpus_src), str(out), "-q", "--valid-count", "1", "--test-count", "1", "--limit", "8"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "kept 8 items" in first.output and "processed 8 files" in first.output
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 8
    again = runner.invoke(cli, args)
    assert again.exit_code == 0 and "nothing to do" in again.output
    clash = runner.invoke(cli, args + ["--set", "mel.hop_length=200"])
    assert clash.exit_code == 1 and "different mel settings" in clash.output and "Traceback" not in clash.output


def test_cli_config_file_and_overrides(tmp_path, corpus_src):
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump({"mel": {"n_fft": 800, "win_length": 800, "hop_length": 200}, "model": {"layers": 3}}))
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli, ["preprocess", str(corpus_src), str(out), "-q", "--limit", "4", "--config", str(conf), "--set", "mel.n_mels=40"]
    )
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["mel"]["hop_length"], meta["mel"]["n_fft"], meta["mel"]["n_mels"]) == (200, 800, 40)
    rows = [json.loads(r) for r in (out / "manifest.jsonl").read_text().splitlines()]
    assert all(r["samples"] == r["frames"] * 200 for r in rows)


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--set", "model.layers=3"], "only takes mel settings"),
        (["--set", "mel.hop_lenght=3"], "unknown config key mel.hop_lenght"),
        (["--set", "mel.fmax=12000"], "fmax"),
    ],
)
def test_cli_bad_settings_are_clean_errors(tmp_path, corpus_src, extra, match):
    res = CliRunner().invoke(cli, ["preprocess", str(corpus_src), str(tmp_path / "o"), "-q", *extra])
    assert res.exit_code == 1 and match in res.output and "Traceback" not in res.output


def test_subprocess_missing_src_is_a_clean_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "wavekit", "preprocess", str(tmp_path / "nope"), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "Error: SRC not found" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_subprocess_run(tmp_path, corpus_src):
    """A real `python -m wavekit preprocess` run (parallel workers are tested in test_preprocess.py)."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "wavekit", "preprocess", str(corpus_src), str(out), "--limit", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "kept 3 items" in proc.stdout and "files/s" in proc.stdout
    assert len(list((out / "items").glob("*.npz"))) == 3
