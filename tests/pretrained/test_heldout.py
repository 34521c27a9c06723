"""Copy synthesis of a fixed held-out list, per group; the embedded vocoder's held-out list and recipe split."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner
from test_pretrained import STATS_B, write_vocoder

from wavekit import pretrained
from wavekit.audio import MelConfig, load_wav, log_mel_spectrogram
from wavekit.cli import cli
from wavekit.errors import DataError
from wavekit.eval.copy_synthesis import copy_synthesis, pick, read_heldout_list

ROOT = Path(__file__).resolve().parents[2]
FILLETS = ROOT / "recipes" / "fillets_cs"
HELDOUT = FILLETS / "conf" / "pretrained_heldout.tsv"


def voiced(path: Path, f0: float, seconds: float, seed: int) -> Path:
    """A buzz with formant-like colouring and a pause: enough for every metric to be defined."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)) + 0.05 * rng.standard_normal(len(t))
    x *= (np.sin(2 * np.pi * 2 * t) > -0.5)
    sf.write(path, (0.2 * x / np.abs(x).max()).astype(np.float32), 22050 if seed == 2 else 16000)
    return path


@pytest.fixture
def heldout_list(tmp_path: Path) -> Path:
    audio = tmp_path / "corpus"
    audio.mkdir()
    rows = [("a1", "a", "seen voices", voiced(audio / "a1.wav", 120, 0.9, 0)),
            ("hs1", "hs", "unseen voice", voiced(audio / "hs1.wav", 200, 0.7, 1)),
            ("a2", "a", "seen voices", voiced(audio / "a2.wav", 150, 0.8, 2))]  # a2 at 22.05 kHz: resampled
    lst = tmp_path / "list.tsv"
    lst.write_text("# comment\nid\tspeaker\tgroup\tpath\n"
                   + "".join(f"{i}\t{s}\t{g}\t{p.name}\n" for i, s, g, p in rows))
    return lst


def test_pick_takes_the_first_of_each_group(heldout_list: Path) -> None:
    items = read_heldout_list(heldout_list, heldout_list.parent / "corpus")
    assert [it.id for it in items] == ["a1", "hs1", "a2"] and items[0].path.is_file()
    assert [it.id for it in pick(items, 1)] == ["a1", "hs1"]
    assert pick(items) == items
    bad = heldout_list.with_name("bad.tsv")
    bad.write_text("id\tpath\nx\ty.wav\n")
    with pytest.raises(DataError, match="columns id, speaker, group, path"):
        read_heldout_list(bad)


@pytest.mark.slow
def test_copy_synthesis_scores_each_group_beside_the_baselines(heldout_list: Path, tmp_path: Path) -> None:
    from wavekit.eval.report import build_report

    vocoder = write_vocoder(tmp_path / "voc.pt")
    items = read_heldout_list(heldout_list, heldout_list.parent / "corpus")
    out = tmp_path / "out"
    results = copy_synthesis(vocoder, items, out, max_seconds=0.5)
    assert list(results) == ["seen voices", "unseen voice"]
    for group, ids in (("seen voices", {"a1", "a2"}), ("unseen voice", {"hs1"})):
        assert set(results[group]) == {"model", "model_raw", "griffin_lim", "lpc_noise", "lpc_noise_postfilter"}
        for res in results[group].values():
            assert res["group"] == group and {u["id"] for u in res["utterances"]} == ids
            assert 0.0 < res["mean"]["ref_seconds"] <= 0.5 * len(ids)
    assert results["seen voices"]["griffin_lim"]["baseline"] and not results["seen voices"]["model"].get("baseline")
    # the reference is the cut, 16-bit, 16 kHz audio; the mel is its log-mel in the vocoder's normalisation
    ref = out / "ref" / "1_seen_voices" / "a2.wav"
    wav = load_wav(ref)
    assert sf.info(ref).samplerate == 16000 and len(wav) == 0.5 * 16000 // 256 * 256
    mel = np.load(out / "mel" / "1_seen_voices" / "a2.npy")
    np.testing.assert_allclose(STATS_B.denormalize(mel), log_mel_spectrogram(wav, MelConfig()), atol=2e-3)
    gen = out / "gen" / "2_unseen_voice" / "hs1.wav"
    assert len(load_wav(gen)) == len(load_wav(out / "ref" / "2_unseen_voice" / "hs1.wav"))
    # the network's own output is kept beside the postfiltered one, and scored under its own name
    raw = load_wav(out / "gen_raw" / "2_unseen_voice" / "hs1.wav")
    assert len(raw) == len(load_wav(gen)) and not np.array_equal(raw, load_wav(gen))
    assert results["unseen voice"]["model_raw"]["system"].endswith(", no postfilter")
    for name in ("speech_metrics.json", "speech_metrics_raw.json", "baseline_griffin_lim.json",
                 "baseline_lpc_noise.json", "baseline_lpc_noise_postfilter.json"):
        assert (out / "eval" / "2_unseen_voice" / name).is_file()
    stamp = gen.stat().st_mtime_ns
    copy_synthesis(vocoder, items, out, max_seconds=0.5)  # a rerun keeps finished files
    assert gen.stat().st_mtime_ns == stamp
    text = (build_report(out)).read_text()
    headings = [line for line in text.splitlines() if line.startswith("## Model against")]
    assert headings == ["## Model against the classical baselines: seen voices",
                        "## Model against the classical baselines: unseen voice"]


@pytest.mark.slow
def test_cli_uses_the_embedded_vocoder_and_writes_the_report(heldout_list: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pretrained.ENV_DIR, str(tmp_path / "embedded"))
    args = ["eval", "copy-synthesis", "--list", str(heldout_list), "--root", str(heldout_list.parent / "corpus"),
            "--per-group", "1", "--max-seconds", "0.4", "-o", str(tmp_path / "out")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "the embedded vocoder is not installed" in res.output
    write_vocoder(tmp_path / "embedded" / "vocoder.pt")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "out" / "gen").rglob("*.wav")) == ["a1.wav", "hs1.wav"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "WaveNet (pretrained:vocoder)" in report and "unseen voice" in report


def test_the_embedded_vocoders_heldout_speech_is_never_trained_on(fillets_files, tmp_path: Path) -> None:
    """The committed list is what pick_heldout.py writes; prepare with pretrained.yaml's options drops it and hs."""
    conf = yaml.safe_load((FILLETS / "conf" / "pretrained.yaml").read_text())["recipe"]
    root = Path(os.environ.get("WAVEKIT_FILLETS", "/usr/share/games/fillets-ng"))  # as conftest's fillets_files
    again = tmp_path / "again.tsv"
    run = lambda script, *a: subprocess.run([sys.executable, str(FILLETS / "local" / script), *map(str, a)],
                                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    res = run("pick_heldout.py", "--root", root, "-o", again, "--heldout-speaker", conf["exclude_speakers"][0])
    assert res.returncode == 0, res.stderr
    assert again.read_text() == HELDOUT.read_text()
    items = read_heldout_list(HELDOUT, root)
    groups = {it.group: {i.speaker for i in items if i.group == it.group} for it in items}
    assert groups == {"trained speakers (m, v)": {"m", "v"}, "held-out speaker hs": {"hs"}}
    assert conf["exclude_speakers"] == ["hs"] and conf["heldout_list"] == "conf/pretrained_heldout.tsv"
    exp = tmp_path / "exp"  # the recipe itself, stages 0-1, with the pretrained config
    res = subprocess.run(["bash", str(FILLETS / "run.sh"), "--conf", "conf/pretrained.yaml", "--exp", str(exp),
                          "--root", str(root), "--stop-stage", "1"], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PY=sys.executable), timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    manifest = exp / "data" / "manifest.csv"
    import csv

    rows = list(csv.DictReader(manifest.read_text().splitlines()))
    paths = {Path(r["path"]).resolve() for r in rows}
    assert not paths & {it.path.resolve() for it in items}
    speakers = {r["speaker"] for r in rows}
    assert "hs" not in speakers and {"m", "v"} <= speakers and len(speakers) > 10  # every other voice is kept
    cfg = yaml.safe_load((FILLETS / "conf" / "pretrained.yaml").read_text())
    assert cfg["model"]["gin_channels"] == 0 and cfg["data"]["use_speaker"] is False
    assert cfg["model"]["excitation"] == "lpc"
