"""`wavekit eval speech` / `wavekit eval report` end to end on real speech, through click's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from wavekit.audio import save_wav
from wavekit.cli import cli
from wavekit.eval.report import build_report, read_times


def _strict_json(text: str):
    def reject(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def expdir(tmp_path, speech_pair) -> Path:
    """An experiment folder as a recipe leaves it: generated wavs, a training log, stage times."""
    m, v, (fm, fv) = speech_pair
    exp = tmp_path / "exp"
    rng = np.random.default_rng(0)
    save_wav(exp / "vocoded" / f"{fm.stem}.wav", m + 0.003 * rng.standard_normal(len(m)), 16000)
    save_wav(exp / "vocoded" / f"{fv.stem}.wav", v + 0.03 * rng.standard_normal(len(v)), 16000)
    save_wav(exp / "vocoded" / "no_reference.wav", v[:4000], 16000)
    log = [{"step": s, "train_loss": 4.0 - s / 100, "items_per_s": 900.0} for s in range(0, 200, 20)]
    log += [{"step": 100, "valid_loss": 3.2}, {"step": 199, "valid_loss": 2.9}]
    (exp / "train").mkdir()
    (exp / "train" / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in log) + "\n")
    (exp / "times.tsv").write_text("preprocess\t12.5\ntrain\t300\nvocode\t40.25\ntrain\t310\n")
    return exp


def test_eval_speech_then_report(expdir, speech_pair):
    _, _, (fm, fv) = speech_pair
    runner = CliRunner()
    res = runner.invoke(cli, ["eval", "speech", "--ref", str(fm), "--ref", str(fv), "--gen", str(expdir / "vocoded"),
                              "-o", str(expdir / "eval" / "metrics.json"), "--plots", str(expdir / "eval" / "plots")])
    assert res.exit_code == 0, res.output
    assert fm.stem in res.output and "mean (2 utt)" in res.output
    result = _strict_json((expdir / "eval" / "metrics.json").read_text())
    rows = {u["id"]: u for u in result["utterances"]}
    assert set(rows) == {fm.stem, fv.stem}
    assert result["unpaired"] == ["no_reference"]
    assert 0.0 < rows[fm.stem]["mcd_db"] < rows[fv.stem]["mcd_db"]  # more noise -> more distortion
    assert result["mean"]["mcd_db"] == pytest.approx((rows[fm.stem]["mcd_db"] + rows[fv.stem]["mcd_db"]) / 2)
    for key in ("stoi", "pesq", "f0_rmse_cents", "vuv_error"):  # the field's metrics are in every row and the mean
        assert all(np.isfinite(u[key]) for u in result["utterances"]) and key in result["mean"]
    assert rows[fm.stem]["stoi"] > rows[fv.stem]["stoi"] and rows[fm.stem]["pesq"] > rows[fv.stem]["pesq"]
    assert "STOI" in res.output and "PESQ-WB" in res.output
    assert all(Path(u["plot"]).is_file() for u in result["utterances"])

    res = runner.invoke(cli, ["eval", "report", str(expdir)])
    assert res.exit_code == 0, res.output
    report = (expdir / "report.md").read_text()
    assert f"{result['mean']['mcd_db']:.4g}" in report
    assert f"{rows[fv.stem]['lsd_db']:.4g}" in report
    # every link and embedded image points at a file that exists, relative to the report
    targets = re.findall(r"\]\(([^)]+)\)", report)
    assert targets and all((expdir / t).is_file() for t in targets)
    assert not any(t.startswith("..") or t.startswith("/") for t in targets)  # self-contained folder
    assert f"(report_assets/ref/{fm.name})" in report  # the corpus reference was copied in
    assert f"![{fv.stem}: reference vs generated](eval/plots/{fv.stem}.png)" in report  # comparison embedded
    assert any(t.endswith(f"{fm.stem}.wav") for t in targets)  # generated audio linked
    assert any(t.endswith("no_reference.wav") for t in targets)  # unpaired audio still listed
    assert any(t.startswith("report_assets/") and t.endswith(".png") for t in targets)  # training curves drawn
    assert f"| train | {310:.1f} |" in report  # a later line for the same stage wins
    assert f"| **total** | {12.5 + 310 + 40.25:.1f} |" in report
    assert "valid_loss" in report and "2.9" in report


def test_report_rerun_is_stable_and_atomic(expdir):
    first = build_report(expdir).read_text()
    second = build_report(expdir).read_text()
    assert first == second
    assert not [p for p in expdir.iterdir() if p.name.startswith(".report.md")]


def test_report_of_empty_folder_says_so(tmp_path):
    text = build_report(tmp_path).read_text()
    assert "Nothing to report yet" in text


def test_read_times_json_and_tsv(tmp_path):
    (tmp_path / "times.json").write_text('{"a": 1.5, "b": 2}')
    (tmp_path / "times.tsv").write_text("b\t3\nbroken line\nc\tx\n")
    assert read_times(tmp_path) == {"a": 1.5, "b": 3.0}


def test_cli_errors_are_clean(tmp_path, speech_pair):
    _, _, (fm, _) = speech_pair
    runner = CliRunner()
    res = runner.invoke(cli, ["eval", "report", str(tmp_path / "missing")])
    assert res.exit_code == 1 and "Error:" in res.output and "experiment folder not found" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["eval", "speech", "--ref", str(fm), "--gen", str(tmp_path / "nogen")])
    assert res.exit_code == 1 and "generated-audio folder not found" in res.output
    (tmp_path / "gen").mkdir()
    save_wav(tmp_path / "gen" / "other_name.wav", np.zeros(1600, np.float32), 16000)
    res = runner.invoke(cli, ["eval", "speech", "--ref", str(fm), "--gen", str(tmp_path / "gen")])
    assert res.exit_code == 1 and "no generated file matches" in res.output
    res = runner.invoke(cli, ["eval", "speech", "--ref", str(tmp_path / "nope.wav"), "--gen", str(tmp_path / "gen")])
    assert res.exit_code == 1 and "no such file or folder" in res.output


def test_eval_speech_with_preprocess_manifest_as_reference(tmp_path, speech_pair):
    m, v, (fm, fv) = speech_pair
    manifest = tmp_path / "dump" / "manifest.jsonl"
    manifest.parent.mkdir()
    rows = [{"id": "item_m", "source": str(fm), "split": "test"}, {"id": "item_v", "source": str(fv), "split": "train"}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    save_wav(tmp_path / "gen" / "item_m.wav", m, 16000)  # outputs named after item ids, not file stems
    save_wav(tmp_path / "gen" / "item_v.wav", v, 16000)
    res = CliRunner().invoke(cli, ["eval", "speech", "--ref", str(manifest), "--split", "test",
                                   "--gen", str(tmp_path / "gen"), "-o", str(tmp_path / "m.json")])
    assert res.exit_code == 0, res.output
    result = _strict_json((tmp_path / "m.json").read_text())
    assert [u["id"] for u in result["utterances"]] == ["item_m"]
    assert result["utterances"][0]["ref"] == str(fm)
    assert result["unpaired"] == ["item_v"]  # a train item is not a test reference
    assert result["utterances"][0]["mcd_db"] < 0.5  # a 16-bit copy of its own reference: small
