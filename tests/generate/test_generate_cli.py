"""`wavekit vocode`, `generate` and `bench` end to end with tiny untrained checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from wavekit.audio import FeatureStats, MelConfig, load_wav, log_mel_spectrogram
from wavekit.cli import cli
from wavekit.config import to_dict
from wavekit.train.checkpoint import save_checkpoint
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet


def write_checkpoint(path, cin=80, gin=0, speakers=None):
    torch.manual_seed(0)
    cfg = WaveNetConfig(layers=2, stacks=1, residual_channels=4, gate_channels=8, skip_channels=4,
                        cin_channels=cin, gin_channels=gin, n_speakers=2 if gin else 0, dropout=0.0)
    model = WaveNet(cfg)
    mel = MelConfig()
    stats = FeatureStats(np.full(80, -5.0, np.float32), np.full(80, 2.0, np.float32), 1)
    extra = {"speakers": speakers} if speakers is not None else {}
    save_checkpoint(path, {"kind": "wavenet", "config": to_dict(cfg), "model": model.state_dict(),
                           "audio": {"mel": to_dict(mel), "stats": stats.to_dict()}, **extra})
    return path, stats


def vocode_cli(*args):
    return CliRunner().invoke(cli, ["vocode", *map(str, args)])


def write_mels(folder, count=1, frames=3):
    """Normalised-looking mels folder/u0.npy ... (80, frames)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        np.save(folder / f"u{i}.npy", rng.standard_normal((80, frames)).astype(np.float32))
    return folder


def test_vocode_speaker_by_id_and_by_name(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt", gin=4, speakers={"m": 0, "v": 1})
    mels = write_mels(tmp_path / "mel")
    out = {}
    for spk in ("0", "m", "1", "v"):
        result = vocode_cli("-c", ck, mels, "-o", tmp_path / spk, "--speaker", spk, "--seed", 5)
        assert result.exit_code == 0, result.output
        out[spk] = sf.read(tmp_path / spk / "u0.wav", dtype="int16")[0]
        assert len(out[spk]) == 3 * 256
    np.testing.assert_array_equal(out["0"], out["m"])  # a name is its id
    np.testing.assert_array_equal(out["1"], out["v"])
    assert not np.array_equal(out["0"], out["1"])  # same seed, other speaker: other waveform


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([], "pass --speaker with an id 0..1 or a name (m, v)"),
        (["--speaker", "x"], "unknown speaker 'x'"),
        (["--speaker", "2"], "speaker id 2 is out of range"),
        (["--speaker", "-1"], "speaker id -1 is out of range"),
        (["--speaker", "m", "--slots", "0"], "--slots must be at least 1"),
        (["--speaker", "m", "--temperature", "-1"], "--temperature must be >= 0"),
    ],
)
def test_vocode_multi_speaker_errors_are_clean(tmp_path, extra, expected):
    ck, _ = write_checkpoint(tmp_path / "ck.pt", gin=4, speakers={"m": 0, "v": 1})
    result = vocode_cli("-c", ck, write_mels(tmp_path / "mel"), "-o", tmp_path / "out", *extra)
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing generated, no empty folder


def test_vocode_speaker_for_single_speaker_model_is_clean_error(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    result = vocode_cli("-c", ck, write_mels(tmp_path / "mel"), "-o", tmp_path / "out", "--speaker", "0")
    assert result.exit_code == 1
    assert "no speaker conditioning" in result.output and "drop --speaker" in result.output
    assert "Traceback" not in result.output


def test_vocode_two_inputs_with_one_name_is_clean_error(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    mels = write_mels(tmp_path / "mel")
    wav = tmp_path / "u0.wav"
    sf.write(wav, np.zeros(1024, np.float32), 16000)
    result = vocode_cli("-c", ck, mels / "u0.npy", wav, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "would both be written to" in result.output
    assert "Traceback" not in result.output


def test_vocode_skip_existing_resumes_as_if_uninterrupted(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    mels = write_mels(tmp_path / "mel", count=3)
    out = tmp_path / "out"
    assert vocode_cli("-c", ck, mels, "-o", out, "--seed", 7).exit_code == 0
    full = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(full) == ["u0.wav", "u1.wav", "u2.wav"]
    (out / "u1.wav").unlink()  # an interrupted run: u1 missing, u0/u2 marked so a rewrite would show
    for name in ("u0.wav", "u2.wav"):
        (out / name).write_bytes(b"kept")
    result = vocode_cli("-c", ck, mels, "-o", out, "--seed", 7, "--skip-existing")
    assert result.exit_code == 0, result.output
    assert "wrote 1 file(s)" in result.output and "2 already vocoded (kept)" in result.output
    assert (out / "u1.wav").read_bytes() == full["u1.wav"]  # input 1 still used seed 7 + 1
    assert (out / "u0.wav").read_bytes() == (out / "u2.wav").read_bytes() == b"kept"


def _nan_mel() -> np.ndarray:
    mel = np.zeros((80, 10), np.float32)
    mel[3, 4] = np.nan
    return mel


@pytest.mark.parametrize("name,mel,message", [
    ("bad", lambda: np.zeros((40, 10), np.float32), "40 bands"),  # wrong band count
    ("nan", _nan_mel, "NaN"),
    ("raw", lambda: np.full((80, 10), -9.0, np.float32), "unnormalised"),  # a raw log-mel near silence
])
def test_vocode_bad_mel_fails_cleanly(tmp_path, name, mel, message):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    bad = tmp_path / f"{name}.npy"
    np.save(bad, mel())
    result = CliRunner().invoke(cli, ["vocode", "--checkpoint", str(ck), str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{name}.npy" in result.output and message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_vocode_copy_synthesis_of_real_speech(tmp_path, fillets_files):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    src = fillets_files[0]
    wav = load_wav(src)[: 16000 // 4]  # a quarter second
    clip = tmp_path / "clip.wav"
    sf.write(clip, wav, 16000)
    mel = MelConfig()
    frames = log_mel_spectrogram(wav, mel).shape[1]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["vocode", "-c", str(ck), str(clip), "-o", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    written = sf.read(out / "clip.wav")[0]
    assert len(written) == frames * mel.hop_length
    assert [p.name for p in out.iterdir()] == ["clip.wav"]  # no temporary files left behind


def test_generate_refuses_unconditional_for_vocoder(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    result = CliRunner().invoke(cli, ["generate", "-c", str(ck), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "unconditionally" in result.output and "Traceback" not in result.output


def test_generate_per_speaker(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt", cin=0, gin=3)
    out = tmp_path / "o"
    result = CliRunner().invoke(cli, ["generate", "-c", str(ck), "--speaker", "1", "--seconds", "0.01", "-n", "2",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["sample_000.wav", "sample_001.wav"]
    assert len(sf.read(out / "sample_001.wav")[0]) == 160


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([], "pass --speaker with an id 0..1"),
        (["--speaker", "3"], "out of range"),
        (["--speaker", "0", "--slots", "0"], "--slots must be at least 1"),
        (["--speaker", "0", "--sample-rate", "0"], "--sample-rate must be a positive"),
        (["--speaker", "0", "--seconds", "0"], "--seconds and -n must be positive"),
    ],
)
def test_generate_errors_are_clean(tmp_path, extra, expected):
    ck, _ = write_checkpoint(tmp_path / "ck.pt", cin=0, gin=3)
    result = CliRunner().invoke(cli, ["generate", "-c", str(ck), "-o", str(tmp_path / "o"), *extra])
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_bench_quick_json():
    result = CliRunner().invoke(cli, ["bench", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [g["layers"] for g in data["generation"]] == [10, 20, 30]
    assert [e["streams"] for e in data["engine"]] == [1, 8, 32]
    for g in data["generation"]:
        assert g["naive_samples_per_s"] > 0 and g["incremental_samples_per_s"] > 0 and g["speedup"] > 0
    assert all(e["samples_per_s"] > 0 for e in data["engine"])
    assert data["rtf"] > 0 and data["rtf_source_filter"] > 0 and data["rtf_source_filter_pitch"] > 0
    assert data["rtf_source_filter_long_term"] > 0
    assert [t["config"] for t in data["train"]] == ["default_vocoder", "small_mulaw", "pixelcnnpp_32"]
    for t in data["train"]:
        assert t["eager_samples_per_s"] > 0 and t["samples_per_s"] > 0
        assert t["speedup"] == pytest.approx(t["samples_per_s"] / t["eager_samples_per_s"])
