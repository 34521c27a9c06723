"""Every ``egs/`` script runs as the README shows it and writes what it says.

The vocoder scripts get a tiny, untrained two-speaker WaveNet saved as a real
self-describing checkpoint (kind, config, weights, and the ``audio`` entry
with mel settings and feature statistics that training would store).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from wavekit.audio import FeatureStats, MelConfig, log_mel_spectrogram, save_wav
from wavekit.config import to_dict
from wavekit.train.checkpoint import save_checkpoint
from wavekit.wavenet import WaveNet, WaveNetConfig

ROOT = Path(__file__).resolve().parents[1]
EGS = ROOT / "egs"

pytestmark = pytest.mark.slow


def run_eg(script: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, str(EGS / script), *map(str, args)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"egs/{script} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.4 s of a voiced-like harmonic chirp at 22.05 kHz (resampled by the scripts)."""
    t = np.arange(int(0.4 * 22050)) / 22050
    f0 = 120 + 80 * t
    wav = sum(0.2 / k * np.sin(2 * np.pi * k * np.cumsum(f0) / 22050) for k in range(1, 6))
    path = tmp_path_factory.mktemp("audio") / "chirp.wav"
    save_wav(path, wav.astype(np.float32), 22050)
    return path


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory: pytest.TempPathFactory, speech: Path) -> tuple[Path, FeatureStats]:
    torch.manual_seed(0)
    cfg = WaveNetConfig(layers=4, stacks=1, kernel_size=2, residual_channels=8, gate_channels=16, skip_channels=8,
                        cin_channels=80, gin_channels=4, n_speakers=2)
    model = WaveNet(cfg)
    stats = FeatureStats(mean=np.full(80, -5.0), std=np.full(80, 2.0), count=100)
    path = tmp_path_factory.mktemp("ckpt") / "vocoder.pt"
    save_checkpoint(path, {"kind": "wavenet", "config": to_dict(cfg), "model": model.state_dict(), "step": 7,
                           "audio": {"mel": to_dict(MelConfig()), "stats": stats.to_dict()}})
    return path, stats


def test_vocode_mel(tmp_path: Path, vocoder, speech: Path) -> None:
    ckpt, stats = vocoder
    from wavekit.audio import load_wav

    mel = stats.normalize(log_mel_spectrogram(load_wav(speech), MelConfig()))
    np.save(tmp_path / "mel.npy", mel.astype(np.float32))
    run_eg("vocode_mel.py", ckpt, tmp_path / "mel.npy", tmp_path / "out.wav", "--speaker", "1")
    wav, rate = sf.read(tmp_path / "out.wav")
    assert rate == 16000 and len(wav) == mel.shape[1] * 256
    assert np.all(np.isfinite(wav)) and np.abs(wav).max() <= 1.0


def test_copy_synthesis(tmp_path: Path, vocoder, speech: Path) -> None:
    out = run_eg("copy_synthesis.py", speech, tmp_path / "copy.wav", "--checkpoint", vocoder[0], "--speaker", "0")
    wav, rate = sf.read(tmp_path / "copy.wav")
    frames = int(0.4 * 16000) // 256
    assert rate == 16000 and len(wav) == frames * 256
    assert f"into {frames} frames" in out


def test_sample_speaker(tmp_path: Path) -> None:
    out = run_eg("sample_speaker.py", tmp_path / "babble.wav", "--speaker", "1", "--seconds", "0.1")
    wav, rate = sf.read(tmp_path / "babble.wav")
    assert rate == 16000 and len(wav) == 1600 and np.all(np.isfinite(wav))
    assert "2 speakers" in out


def test_complete_image(tmp_path: Path) -> None:
    out = run_eg("complete_image.py", tmp_path / "done.png", "--steps", "30")
    assert (tmp_path / "done.png").stat().st_size > 0
    bits = float(out.split("held-out bits/dim: ")[1].split()[0])
    assert 0 < bits < np.log2(17)  # 30 steps already beat the uniform distribution


def test_load_checkpoint(vocoder) -> None:
    out = run_eg("load_checkpoint.py", vocoder[0])
    assert "WaveNet" in out and "step 7" in out and "80 mel bands at 16000 Hz" in out
