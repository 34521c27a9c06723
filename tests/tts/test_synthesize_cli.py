"""`wavekit synthesize` end to end on tiny checkpoints trained by `wavekit train` on the espeak corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

import wavekit
from wavekit.audio import FeatureStats, MelConfig
from wavekit.cli import cli
from wavekit.config import to_dict
from wavekit.errors import FeatureError
from wavekit.tts.synthesize import Synthesizer, load_synthesizer

pytestmark = pytest.mark.slow

VOCODER_CONFIG = """
kind: wavenet
model:
  layers: 4
  stacks: 2
  residual_channels: 8
  gate_channels: 16
  skip_channels: 8
  quantization_channels: 64
  cin_channels: 40
data:
  root: {root}
  crop_samples: 2048
train:
  steps: 3
  batch_size: 2
  ema_decay: 0.0
  eval_every: 0
  save_every: 0
  device: cpu
"""


@pytest.fixture(scope="module")
def vocoder_ckpt(tmp_path_factory: pytest.TempPathFactory, tts_corpus) -> Path:
    base = tmp_path_factory.mktemp("voc")
    conf = base / "voc.yaml"
    conf.write_text(VOCODER_CONFIG.format(root=tts_corpus))
    res = CliRunner().invoke(cli, ["train", "--config", str(conf), "-o", str(base / "exp"), "--quiet"])
    assert res.exit_code == 0, res.output
    return base / "exp" / "checkpoints" / "last.pt"


def _synth(args: list[str]):
    return CliRunner().invoke(cli, ["synthesize", *args])


def test_cli_writes_playable_wavs(trained_tts, vocoder_ckpt, tmp_path: Path) -> None:
    ckpt, _ = trained_tts
    common = ["--acoustic", str(ckpt), "--vocoder", str(vocoder_ckpt), "--max-frames", "24", "-q"]
    out = tmp_path / "one.wav"
    res = _synth(["Dr. Anna found 3 boats.", *common, "-o", str(out), "--plot"])
    assert res.exit_code == 0, res.output
    wav, sr = sf.read(out)
    assert sr == 16000 and wav.ndim == 1 and 0 < len(wav) <= 24 * 256 and len(wav) % 256 == 0
    assert np.abs(wav).max() > 1e-3 and out.with_suffix(".png").stat().st_size > 0

    lines = tmp_path / "lines.txt"
    lines.write_text("The cat sat.\n\nIt costs $5.\nGood night!\n")
    outdir = tmp_path / "many"
    res = _synth(["--text-file", str(lines), *common, "-o", str(outdir), "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in outdir.glob("*.wav")) == ["0001.wav", "0003.wav", "0004.wav"]
    for p in outdir.glob("*.wav"):
        w, sr = sf.read(p)
        assert sr == 16000 and len(w) > 0 and np.abs(w).max() > 1e-3
    res = _synth(["--text-file", str(lines), *common, "-o", str(outdir)])
    assert res.exit_code == 0 and "nothing to do" in res.output  # resumes: finished lines are kept


@pytest.mark.parametrize("bad", ["", "   ", "!!! ...", "日本語"])
def test_cli_bad_text_is_a_clear_error(trained_tts, vocoder_ckpt, tmp_path: Path, bad: str) -> None:
    ckpt, _ = trained_tts
    res = _synth([bad, "--acoustic", str(ckpt), "--vocoder", str(vocoder_ckpt), "-o", str(tmp_path / "x.wav")])
    assert res.exit_code == 1 and res.output.startswith("Error: ")
    assert "Traceback" not in res.output and res.exception is not None and isinstance(res.exception, SystemExit)
    assert not (tmp_path / "x.wav").exists()


def test_cli_wrong_checkpoint_kind(trained_tts, vocoder_ckpt, tmp_path: Path) -> None:
    ckpt, _ = trained_tts
    res = _synth(["hello", "--acoustic", str(vocoder_ckpt), "--vocoder", str(ckpt), "-o", str(tmp_path / "x.wav")])
    assert res.exit_code == 1 and "not a tacotron2 checkpoint" in res.output


def test_synthesized_mel_is_in_the_vocoders_bands_and_normalisation(trained_tts, vocoder_ckpt) -> None:
    ckpt, _ = trained_tts
    synth = load_synthesizer(ckpt, vocoder_ckpt)
    mel_cfg = synth.mel_config
    # A vocoder whose statistics differ: the mel handed to it must be in *its* normalisation.
    rng = np.random.default_rng(0)
    shifted = FeatureStats(synth.vocoder_stats.mean + rng.normal(size=40), synth.vocoder_stats.std * 2.0)
    other = Synthesizer(synth.acoustic, synth.table, (mel_cfg, synth.acoustic_stats), synth.vocoder, (mel_cfg, shifted))
    torch.manual_seed(0)
    (mel, _, _), = other.text_to_mel(["The small dog."], max_frames=60)
    torch.manual_seed(0)
    acoustic_mel, _ = synth.acoustic.infer(synth.table.encode("The small dog."), max_frames=60)
    assert mel.shape == (synth.vocoder.config.cin_channels, acoustic_mel.shape[1])
    torch.testing.assert_close(shifted.denormalize(mel), synth.acoustic_stats.denormalize(acoustic_mel),
                               rtol=1e-4, atol=1e-4)
    # Different band count or mel settings: a clear FeatureError, before any synthesis.
    with pytest.raises(FeatureError, match="40 mel bands but the vocoder expects 80"):
        Synthesizer(synth.acoustic, synth.table, (mel_cfg, synth.acoustic_stats), synth.vocoder,
                    (MelConfig(n_mels=80), FeatureStats(np.zeros(80), np.ones(80))))
    with pytest.raises(FeatureError, match="hop_length"):
        Synthesizer(synth.acoustic, synth.table, (mel_cfg, synth.acoustic_stats), synth.vocoder,
                    (MelConfig(n_mels=40, hop_length=200), shifted))
    assert to_dict(mel_cfg) == wavekit.load(vocoder_ckpt).checkpoint_extra["audio"]["mel"]


def test_synthesized_speech_goes_through_the_vocoders_postfilter(trained_tts, vocoder_ckpt) -> None:
    """synthesize() = the vocoder's raw samples of the decoded mel, then the postfilter with the vocoder's
    mel settings and statistics (the same one `wavekit vocode` applies: the pitch comb, then mel consistency);
    postfilter=False leaves them raw."""
    from wavekit.audio.pitch_comb import pitch_comb
    from wavekit.audio.postfilter import mel_postfilter

    ckpt, _ = trained_tts
    synth = load_synthesizer(ckpt, vocoder_ckpt)
    res, = synth.synthesize(["The small dog."], max_frames=40, seed=3)
    raw, = synth.synthesize(["The small dog."], max_frames=40, seed=3, postfilter=False)
    torch.testing.assert_close(raw.mel, res.mel)  # same seed: the same decoded mel and the same samples
    mel = synth.vocoder_stats.denormalize(res.mel.numpy())
    expected = np.clip(mel_postfilter(pitch_comb(raw.wav, synth.mel_config.sample_rate), mel, synth.mel_config), -1, 1)
    np.testing.assert_allclose(res.wav, expected, atol=1e-6)
    assert not np.allclose(res.wav, raw.wav)
