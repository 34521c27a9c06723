"""The ground-floor checkpoint module: typed results, lazy model families, the legacy ``wavekit.load``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import wavekit
from wavekit.audio import FeatureStats, MelConfig
from wavekit.checkpoint import LoadedModel, load, save_checkpoint
from wavekit.config import to_dict
from wavekit.errors import CheckpointError
from wavekit.wavenet import WaveNet, WaveNetConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WaveNet]:
    torch.manual_seed(0)
    cfg = WaveNetConfig(layers=2, stacks=1, kernel_size=2, residual_channels=4, gate_channels=8, skip_channels=4,
                        cin_channels=8, gin_channels=2, n_speakers=2, upsample_scales=[4])
    model = WaveNet(cfg)
    stats = FeatureStats(mean=np.full(8, -5.0), std=np.full(8, 2.0), count=10)
    mel = MelConfig(n_mels=8, hop_length=4, n_fft=16, win_length=16, sample_rate=8000, fmax=4000.0)
    path = tmp_path_factory.mktemp("ckpt") / "vocoder.pt"
    save_checkpoint(path, {"kind": "wavenet", "config": to_dict(cfg), "model": model.state_dict(), "step": 11,
                           "audio": {"mel": to_dict(mel), "stats": stats.to_dict()},
                           "speakers": {"m": 0, "v": 1}})
    return path, model


def test_load_returns_the_model_and_its_settings_typed(vocoder):
    path, original = vocoder
    loaded = load(path)
    assert isinstance(loaded, LoadedModel)
    assert loaded.kind == "wavenet" and loaded.step == 11 and loaded.path == path
    assert loaded.speakers == {"m": 0, "v": 1}
    assert loaded.mel is not None and loaded.mel["n_mels"] == 8 and loaded.sample_rate == 8000
    assert loaded.symbols is None and loaded.image is None
    assert set(loaded.extra) == {"audio", "speakers"}
    assert not hasattr(loaded.model, "checkpoint_extra")  # the settings travel beside the module, not on it
    assert not loaded.model.training
    for name, tensor in original.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name


def test_wavekit_load_keeps_its_public_contract(vocoder):
    path, _ = vocoder
    model = wavekit.load(path)
    assert isinstance(model, WaveNet)
    assert model.checkpoint_step == 11
    assert model.checkpoint_extra["speakers"] == {"m": 0, "v": 1}
    assert model.checkpoint_extra["audio"]["mel"]["n_mels"] == 8


def test_loading_a_vocoder_imports_neither_tacotron_nor_the_image_models(vocoder):
    path, _ = vocoder
    code = textwrap.dedent(f"""
        import sys
        from wavekit.checkpoint import load
        loaded = load({str(path)!r})
        assert loaded.kind == "wavenet", loaded.kind
        import wavekit
        wavekit.load({str(path)!r})
        bad = sorted(m for m in sys.modules if m.startswith(("wavekit.tts", "wavekit.image", "wavekit.eval")))
        print(",".join(bad))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "", f"loading a vocoder imported {res.stdout.strip()}"


def test_an_unknown_kind_names_the_known_ones(tmp_path: Path):
    path = tmp_path / "odd.pt"
    save_checkpoint(path, {"kind": "no_such_model", "config": {}, "model": {}})
    with pytest.raises(CheckpointError) as e:
        load(path)
    for kind in ("wavenet", "tacotron2", "pixelcnn"):  # every family was looked at before giving up
        assert kind in str(e.value)
