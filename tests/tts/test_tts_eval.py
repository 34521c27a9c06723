"""`wavekit eval tts`: held-out mel loss, alignment and stop scores of a Tacotron 2 (reuses the trained fixture)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import wavekit
from wavekit.cli import cli
from wavekit.config import from_dict, load_yaml
from wavekit.errors import CheckpointError, DataError
from wavekit.tts.data import TtsDataset, collate_tts
from wavekit.tts.evaluate import evaluate_acoustic
from wavekit.tts.frontend import SymbolTable
from wavekit.tts.tacotron2 import Tacotron2, Tacotron2Config

pytestmark = pytest.mark.slow  # needs the trained_tts session fixture


def _untrained_like(model: Tacotron2, conf: Path) -> Tacotron2:
    torch.manual_seed(0)
    fresh = Tacotron2(from_dict(Tacotron2Config, load_yaml(conf)["model"]))
    fresh.checkpoint_extra = model.checkpoint_extra
    return fresh


def test_trained_model_scores_far_above_untrained(trained_tts, tts_corpus) -> None:
    ckpt, conf = trained_tts
    model = wavekit.load(ckpt)
    trained = evaluate_acoustic(model, tts_corpus, "dev", max_frames=300)
    untrained = evaluate_acoustic(_untrained_like(model, conf), tts_corpus, "dev", max_frames=300)
    assert trained["sentences"] == untrained["sentences"] == len(trained["items"]) == 2
    for res in (trained, untrained):
        for key in ("mel_loss", "mel_loss_before_postnet", "diagonality", "focus_rate", "stop_rate", "length_error"):
            assert math.isfinite(res[key]), (key, res[key])
        assert 0.0 <= res["stop_rate"] <= 1.0 and 0.0 <= res["diagonality"] <= 1.0
        for it in res["items"]:  # a sentence counts as stopped exactly when it ends before the limit
            assert it["stopped"] == (it["predicted_frames"] < 300)
            assert it["length_error"] == pytest.approx(abs(it["predicted_frames"] - it["frames"]) / it["frames"])
    # Uniform attention scores about 2 * band = 0.2 (see test_alignment_training).
    assert untrained["diagonality"] < 0.35
    assert trained["diagonality"] > 0.6 and trained["diagonality"] > untrained["diagonality"] + 0.3, (trained, untrained)
    # Before the post-net the held-out loss falls well below an untrained model's; after it, only somewhat
    # (the tiny post-net's BatchNorm running statistics lag behind 120 fast steps).
    assert trained["mel_loss_before_postnet"] < 0.6 * untrained["mel_loss_before_postnet"]
    assert trained["mel_loss"] < untrained["mel_loss"]
    assert trained["stop_rate"] == 1.0 and trained["length_error"] < 0.3, trained["items"]


def test_mel_loss_is_the_training_loss_term(trained_tts, tts_corpus) -> None:
    """With one batch holding the whole split, the reported loss is `loss_terms`' post-net term."""
    ckpt, _ = trained_tts
    model = wavekit.load(ckpt).double()
    res = evaluate_acoustic(model, tts_corpus, "dev", batch_size=16, max_frames=30, seed=3)
    table = SymbolTable.from_dict(model.checkpoint_extra["symbols"])
    data = TtsDataset(tts_corpus, "dev", table)
    model.eval()
    torch.manual_seed(3)  # same pre-net dropout masks as the evaluation's teacher-forced pass
    with torch.no_grad():
        terms = model.loss_terms(**collate_tts([data[i] for i in range(len(data))]))
    assert res["mel_loss"] == pytest.approx(float(terms["mel_post"]), rel=1e-9)
    assert res["mel_loss_before_postnet"] == pytest.approx(float(terms["mel"]), rel=1e-9)
    assert model.training is False


def test_cli_writes_json_and_rejects_bad_inputs(trained_tts, tts_corpus, tmp_path: Path) -> None:
    ckpt, _ = trained_tts
    out = tmp_path / "eval" / "tts_acoustic_metrics.json"
    args = ["eval", "tts", "-c", str(ckpt), "--data", str(tts_corpus), "--split", "dev", "--max-frames", "60"]
    res = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    written = json.loads(out.read_text())
    direct = evaluate_acoustic(wavekit.load(ckpt), tts_corpus, "dev", max_frames=60)
    assert written["mel_loss"] == pytest.approx(direct["mel_loss"]) and written["sentences"] == 2
    assert [it["id"] for it in written["items"]] == [it["id"] for it in direct["items"]]

    missing = CliRunner().invoke(cli, ["eval", "tts", "-c", str(ckpt), "--data", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not a preprocessed corpus" in missing.output
    no_split = CliRunner().invoke(cli, [*args[:-4], "--split", "test"])
    assert no_split.exit_code == 1 and "has no items" in no_split.output
    with pytest.raises(CheckpointError, match="tacotron2"):
        evaluate_acoustic(torch.nn.Linear(2, 2), tts_corpus, "dev")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="preprocess"):
        evaluate_acoustic(wavekit.load(ckpt), tmp_path / "nope", "dev")
