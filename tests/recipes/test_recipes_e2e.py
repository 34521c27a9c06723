"""Every recipe's debug config end to end, as a user runs it (``bash recipes/<name>/run.sh``).

Offline recipes run on their real data (fillets-ng speech, espeak-ng, digits,
Fashion-MNIST); download recipes run on local stand-ins laid out like the real
corpora, with the download stage pointed at the stand-in folder. Assertions
are on what the recipe leaves behind: the report, the vocoded / synthesized
audio, the checkpoints (rebuilt with ``wavekit.load``) and the metrics.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import wavekit

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes"

pytestmark = pytest.mark.slow


def run_recipe(name: str, exp: Path, *args: str, conf: str = "conf/debug.yaml", cwd: Path | None = None,
               check: bool = True) -> subprocess.CompletedProcess:
    """``bash recipes/<name>/run.sh --conf CONF --exp EXP ARGS`` from ``cwd`` (default: the exp's parent)."""
    cmd = ["bash", str(RECIPES / name / "run.sh"), "--conf", conf, "--exp", str(exp), *args]
    env = dict(os.environ, PY=sys.executable, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, cwd=cwd or exp.parent, env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res


def make_standin(name: str, out: Path) -> Path:
    subprocess.run([sys.executable, str(RECIPES / name / "local" / "make_standin.py"), "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    return out


def check_report(exp: Path, *needles: str) -> str:
    text = (exp / "report.md").read_text()
    for needle in ("## Wall times", "## Training", *needles):
        assert needle in text, f"{exp / 'report.md'} lacks {needle!r}"
    for link in ("report_assets/curves_", ):
        assert link in text
    return text


def check_speech(exp: Path, speakers: set[str], gen: str = "gen", metrics: str = "eval/speech_metrics.json") -> dict:
    """Vocoded wavs: 16 kHz, finite, in range, as long as their references; metrics finite; both speakers."""
    heldout = [line.split("\t") for line in (exp / "heldout" / "heldout.tsv").read_text().splitlines()[1:]]
    assert {row[1] for row in heldout} == speakers
    for row in heldout:
        wav, rate = sf.read(exp / gen / f"{row[0]}.wav")
        ref, ref_rate = sf.read(exp / "heldout" / "ref" / f"{row[0]}.wav")
        assert rate == ref_rate == 16000
        assert len(wav) == len(ref) > 0
        assert np.all(np.isfinite(wav)) and np.abs(wav).max() <= 1.0
    result = json.loads((exp / metrics).read_text())
    assert result["mean"]["utterances"] == len(heldout)
    for utt in result["utterances"]:
        assert math.isfinite(utt["mcd_db"]) and utt["mcd_db"] > 0
        assert math.isfinite(utt["lsd_db"])
    return result


def check_vocoder(ckpt: Path, n_speakers: int) -> None:
    model = wavekit.load(ckpt)
    assert type(model).__name__ == "WaveNet"
    assert model.config.n_speakers == n_speakers
    assert model.checkpoint_extra["audio"]["mel"]["n_mels"] == model.config.cin_channels
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())


def check_training_log(log: Path) -> None:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    losses = [r["loss"] for r in rows if "loss" in r] + [r["valid_loss"] for r in rows if "valid_loss" in r]
    assert losses and all(math.isfinite(v) for v in losses)


# ------------------------------------------------------------------- speech, offline


def test_fillets_cs_debug_from_repo_root_and_resumes(tmp_path: Path, fillets_files) -> None:
    exp = tmp_path / "exp" / "fillets"
    # the way `make demo` calls it: from the repository root, --conf relative to the root
    run_recipe("fillets_cs", exp, conf="recipes/fillets_cs/conf/debug.yaml", cwd=ROOT)
    check_report(exp, "## Metrics", "MCD (dB)", "reference vs generated")
    check_speech(exp, {"m", "v"})
    check_vocoder(exp / "train" / "checkpoints" / "best.pt", n_speakers=2)
    check_training_log(exp / "train" / "metrics.jsonl")
    assert len(list((exp / "eval" / "plots").glob("*.png"))) == 2
    # rerunning the vocoding stage regenerates nothing
    before = {p: p.stat().st_mtime_ns for p in (exp / "gen").glob("*.wav")}
    res = run_recipe("fillets_cs", exp, "--stage", "4", "--stop-stage", "4",
                     conf="recipes/fillets_cs/conf/debug.yaml", cwd=ROOT)
    assert "already vocoded" in res.stdout
    assert {p: p.stat().st_mtime_ns for p in (exp / "gen").glob("*.wav")} == before


def test_espeak_debug_trains_tts_and_synthesizes(tmp_path: Path, espeak_bin: str) -> None:
    exp = tmp_path / "espeak"
    run_recipe("espeak", exp)
    check_report(exp, "tts_metrics.json", "vocoder_metrics.json", "tts_acoustic_metrics.json", "diagonality")
    check_speech(exp, {"en-us"}, metrics="eval/vocoder_metrics.json")
    check_vocoder(exp / "train_vocoder" / "checkpoints" / "best.pt", n_speakers=0)
    tts = wavekit.load(exp / "train_tts" / "checkpoints" / "best.pt")
    assert type(tts).__name__ == "Tacotron2"
    ids = (exp / "heldout_tts" / "ids.txt").read_text().split()
    assert ids
    for utt in ids:
        wav, rate = sf.read(exp / "tts" / f"{utt}.wav")
        assert rate == 16000 and len(wav) > 0 and np.all(np.isfinite(wav))
        assert (exp / "tts" / f"{utt}_alignment.png").stat().st_size > 0
    tts_metrics = json.loads((exp / "eval" / "tts_metrics.json").read_text())
    assert tts_metrics["mean"]["utterances"] == len(ids)
    check_training_log(exp / "train_tts" / "metrics.jsonl")


# ------------------------------------------------------------------- speech, download recipes on stand-ins


@pytest.mark.parametrize("name,speakers", [("ljspeech", {"LJ"}), ("cmu_arctic", {"bdl", "slt"}),
                                           ("vctk", {"p225", "p226"})])
def test_download_recipe_on_local_standin(tmp_path: Path, espeak_bin: str, name: str, speakers: set[str]) -> None:
    standin = make_standin(name, tmp_path / "standin")
    exp = tmp_path / name
    run_recipe(name, exp, "--download-source", str(standin), "--checksums", str(standin / "SHA256SUMS"))
    check_report(exp, "## Metrics", "MCD (dB)")
    check_speech(exp, speakers)
    check_vocoder(exp / "train" / "checkpoints" / "best.pt", n_speakers=0 if len(speakers) == 1 else len(speakers))


def test_download_stage_refuses_a_wrong_checksum(tmp_path: Path, espeak_bin: str) -> None:
    standin = make_standin("ljspeech", tmp_path / "standin")
    # no --checksums: the stand-in does not match the published LJSpeech checksum
    res = run_recipe("ljspeech", tmp_path / "exp", "--download-source", str(standin), "--stop-stage", "0", check=False)
    assert res.returncode != 0
    assert "checksum mismatch" in res.stderr
    assert not (tmp_path / "exp" / "downloads" / "LJSpeech-1.1").exists()


# ------------------------------------------------------------------- images


def check_image_recipe(exp: Path, levels: int) -> None:
    check_report(exp, "bits_per_dim")
    metrics = json.loads((exp / "eval" / "image_metrics.json").read_text())
    assert 0 < metrics["bits_per_dim"] < math.log2(levels) + 1.0
    assert metrics["n_images"] > 0
    for png in ("samples.png", "completions.png"):
        assert (exp / "samples" / png).stat().st_size > 0
    model = wavekit.load(exp / "train" / "checkpoints" / "best.pt")
    assert model.levels == levels
    check_training_log(exp / "train" / "metrics.jsonl")


def test_digits_debug(tmp_path: Path) -> None:
    exp = tmp_path / "digits"
    run_recipe("digits", exp)
    check_image_recipe(exp, levels=17)
    assert (exp / "samples" / "receptive_field.png").is_file()


def test_fashion_mnist_debug(tmp_path: Path, fashion_mnist_dir: Path) -> None:
    exp = tmp_path / "fashion"
    run_recipe("fashion_mnist", exp, "--root", str(fashion_mnist_dir))
    check_image_recipe(exp, levels=4)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_image_download_recipe_on_local_standin(tmp_path: Path, name: str) -> None:
    standin = tmp_path / "standin"
    subprocess.run([sys.executable, str(RECIPES / "common" / "image_corpus.py"), "standin", "--dataset", name,
                    "--out", str(standin)], cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    exp = tmp_path / name
    run_recipe(name, exp, "--download-source", str(standin), "--checksums", str(standin / "SHA256SUMS"))
    check_image_recipe(exp, levels=4)
    with np.load(exp / "data" / "test.npz") as z:
        assert z["x"].shape[1:] == ((1, 28, 28) if name == "mnist" else (3, 32, 32))
