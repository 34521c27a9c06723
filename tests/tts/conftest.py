"""TTS test fixtures: a small espeak corpus and a tiny trained Tacotron 2 (suite is single-threaded)."""

from __future__ import annotations

import pytest

TTS_DEBUG_CONFIG = """
kind: tacotron2
model:
  n_mels: 40
  reduction_factor: 3
  embed_dim: 64
  encoder_conv_layers: 2
  encoder_dim: 64
  attention_rnn_dim: 128
  decoder_rnn_dim: 128
  prenet_dim: 64
  attention_dim: 64
  location_filters: 8
  location_kernel: 15
  postnet_layers: 2
  postnet_channels: 64
  max_frames: 400
data:
  root: {root}
  max_frames: 150
train:
  steps: {steps}
  batch_size: 12
  lr: 0.003
  ema_decay: 0.0
  eval_every: 0
  save_every: 0
  log_every: 20
  device: cpu
  seed: 0
"""


@pytest.fixture(scope="session")
def tts_corpus(tmp_path_factory: pytest.TempPathFactory, espeak_bin: str):
    """40 espeak-ng sentences preprocessed to 40-band log-mel (2 dev items)."""
    from wavekit.audio import MelConfig, preprocess_corpus
    from wavekit.tts.espeak_corpus import make_espeak_corpus

    base = tmp_path_factory.mktemp("espeak")
    manifest = make_espeak_corpus(base / "src", 40, seed=0, speed=200)
    out = base / "prep"
    preprocess_corpus(manifest, out, mel=MelConfig(n_mels=40), valid_count=2, test_count=0, progress=False)
    return out


@pytest.fixture(scope="session")
def trained_tts(tmp_path_factory: pytest.TempPathFactory, tts_corpus):
    """A tiny Tacotron 2 trained with `wavekit train` on the espeak corpus: (checkpoint path, config path)."""
    from click.testing import CliRunner

    from wavekit.cli import cli

    base = tmp_path_factory.mktemp("tts_train")
    conf = base / "tts.yaml"
    conf.write_text(TTS_DEBUG_CONFIG.format(root=tts_corpus, steps=120))
    res = CliRunner().invoke(cli, ["train", "--config", str(conf), "-o", str(base / "exp"), "--quiet"])
    assert res.exit_code == 0, res.output
    return base / "exp" / "checkpoints" / "last.pt", conf
