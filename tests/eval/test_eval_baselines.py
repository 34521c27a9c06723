"""Classical baselines from the mel (Griffin-Lim, LPC + white noise) and the report's model-vs-baselines table."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from wavekit.audio import FeatureStats, MelConfig, log_mel_spectrogram, save_wav
from wavekit.cli import cli
from wavekit.eval.baselines import griffin_lim, lpc_noise
from wavekit.eval.perceptual import stoi
from wavekit.eval.pitch import f0_track
from wavekit.eval.report import build_report

CFG = MelConfig()


def _cut(wav: np.ndarray) -> np.ndarray:
    return wav[: (len(wav) // CFG.hop_length) * CFG.hop_length].astype(np.float64)


def test_griffin_lim_is_aligned_and_intelligible(speech_pair):
    ref = _cut(speech_pair[0])
    mel = log_mel_spectrogram(ref, CFG)
    y = griffin_lim(mel, CFG, n_iter=60)
    assert y.shape == ref.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    remel = log_mel_spectrogram(y.astype(np.float64), CFG)
    loud = mel > mel.max() - np.log(1000.0)
    assert np.median(np.abs(remel - mel)[loud]) < 0.35  # its mel is the mel it was made from
    # frame alignment: half a hop early or late would cost STOI; a good GL reconstruction scores > 0.8
    assert stoi(ref, y, CFG.sample_rate) > 0.8
    shifted = np.r_[np.zeros(CFG.hop_length), y[: -CFG.hop_length]]
    assert stoi(ref, y, CFG.sample_rate) > stoi(ref, shifted, CFG.sample_rate)


def test_lpc_noise_keeps_the_envelope_and_level_but_no_pitch(speech_pair):
    ref = _cut(speech_pair[1])
    mel = log_mel_spectrogram(ref, CFG)
    y = lpc_noise(mel, CFG, seed=1)
    assert y.shape == ref.shape and np.all(np.isfinite(y))
    remel = log_mel_spectrogram(y.astype(np.float64), CFG)
    loud = mel.max(axis=0) > mel.max() - np.log(100.0)
    level = np.log(np.exp(remel).sum(0)) - np.log(np.exp(mel).sum(0))
    assert np.median(np.abs(level[loud])) < 0.1  # level matched per frame (within about 1 dB)
    # the envelope: per-frame mel shape agrees far better than with a flat spectrum
    d = remel[:, loud] - mel[:, loud]
    d -= d.mean(axis=0)
    flat = mel[:, loud] - mel[:, loud].mean(axis=0)
    assert np.sqrt((d**2).mean()) < 0.5 * np.sqrt((flat**2).mean())
    _, voiced_ref = f0_track(ref, CFG.sample_rate, f0_min=60, f0_max=500, frame_length=1024, hop_length=256)
    _, voiced = f0_track(y.astype(np.float64), CFG.sample_rate, f0_min=60, f0_max=500, frame_length=1024, hop_length=256)
    assert voiced.mean() < 0.5 * voiced_ref.mean()  # white-noise excitation: (mostly) no voicing
    assert not np.array_equal(y, lpc_noise(mel, CFG, seed=2)) and np.array_equal(y, lpc_noise(mel, CFG, seed=1))


def _fake_dump(root: Path, stats: FeatureStats) -> Path:
    """The index files of a preprocessed corpus that `wavekit eval baselines` reads (mel settings, statistics)."""
    root.mkdir(parents=True)
    (root / "meta.json").write_text(json.dumps({"format": 1, "mel": asdict(CFG)}))
    (root / "stats.json").write_text(json.dumps(stats.to_dict()))
    (root / "speakers.json").write_text(json.dumps({"m": 0}))
    (root / "manifest.jsonl").write_text("")
    return root


def test_baselines_cli_then_report_compares_model_with_baselines(tmp_path, speech_pair):
    m, v, (fm, fv) = speech_pair
    refs = {fm.stem: _cut(m), fv.stem: _cut(v)}
    mels = {k: log_mel_spectrogram(w, CFG) for k, w in refs.items()}
    stats = FeatureStats.compute(mels.values())
    dump = _fake_dump(tmp_path / "dump", stats)
    exp = tmp_path / "exp"
    for k, w in refs.items():
        save_wav(exp / "ref" / f"{k}.wav", w, CFG.sample_rate)
        (exp / "mel").mkdir(parents=True, exist_ok=True)
        np.save(exp / "mel" / f"{k}.npy", stats.normalize(mels[k]).astype(np.float32))
        save_wav(exp / "gen" / f"{k}.wav", 0.9 * w, CFG.sample_rate)  # the "model": a quieter copy, it must win everywhere
    runner = CliRunner()
    res = runner.invoke(cli, ["eval", "baselines", str(exp / "mel"), "--data", str(dump), "-o", str(exp / "bl"),
                              "--ref", str(exp / "ref"), "--metrics-dir", str(exp / "eval")])
    assert res.exit_code == 0, res.output
    for name in ("griffin_lim", "lpc_noise"):
        assert sorted(p.stem for p in (exp / "bl" / name).glob("*.wav")) == sorted(refs)
    res = runner.invoke(cli, ["eval", "speech", "--ref", str(exp / "ref"), "--gen", str(exp / "gen"),
                              "-o", str(exp / "eval" / "model.json"), "--system", "Model"])
    assert res.exit_code == 0, res.output
    results = {k: json.loads((exp / "eval" / f"{k}.json").read_text())
               for k in ("model", "baseline_griffin_lim", "baseline_lpc_noise")}
    assert results["baseline_lpc_noise"]["system"] == "LPC + white noise" and results["baseline_lpc_noise"]["baseline"]
    assert results["model"]["baseline"] is False
    gl, lp = results["baseline_griffin_lim"]["mean"], results["baseline_lpc_noise"]["mean"]
    assert gl["stoi"] > lp["stoi"] and gl["pesq"] > lp["pesq"]  # the better classical vocoder is the better one
    report = build_report(exp).read_text()
    head = report.split("## Metrics")[0]
    assert "## Model against the classical baselines" in head
    assert "Model **beats** Griffin-Lim: better on 6/6" in head and "Model **beats** LPC + white noise: better on 6/6" in head
    assert head.count("\n| Model | ") == 1 and "\n| Griffin-Lim (baseline) | " in head
    assert f"**{results['model']['mean']['stoi']:.3g}**" in head
    assert len(list((exp / "report_assets").glob("compare_*.png"))) == 2
    assert "### Speech metrics: `eval/model.json`" in report and "eval/baseline_griffin_lim.json`" not in report


def test_baselines_cli_rejects_a_bad_mel(tmp_path):
    stats = FeatureStats(np.zeros(CFG.n_mels, np.float32), np.ones(CFG.n_mels, np.float32), 1)
    dump = _fake_dump(tmp_path / "dump", stats)
    np.save(tmp_path / "bad.npy", np.zeros((7, 10), np.float32))
    res = CliRunner().invoke(cli, ["eval", "baselines", str(tmp_path / "bad.npy"), "--data", str(dump), "-o", str(tmp_path / "o")])
    assert res.exit_code != 0 and "bad.npy" in res.output and "Traceback" not in res.output
