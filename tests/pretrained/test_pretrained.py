"""The embedded-model plumbing: registry, safe loading, CLI defaults, info, model-card figures.

The real embedded files are not needed: every test points the registry at a
tmp folder (``WAVEKIT_PRETRAINED_DIR``) holding tiny, freshly built
checkpoints (or none, or a malicious one).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

import wavekit
from wavekit import pretrained
from wavekit.audio import FeatureStats, MelConfig
from wavekit.cli import cli
from wavekit.config import to_dict
from wavekit.errors import CheckpointError
from wavekit.train.checkpoint import save_checkpoint
from wavekit.tts.frontend import SymbolTable
from wavekit.tts.tacotron2 import Tacotron2, Tacotron2Config
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet

STATS_A = FeatureStats(np.linspace(-8.0, -3.0, 80), np.linspace(1.0, 3.0, 80), 100)  # "the TTS corpus"
STATS_B = FeatureStats(np.full(80, -5.0), np.full(80, 2.0), 100)                     # "the vocoder corpus"


def write_vocoder(path: Path, stats: FeatureStats = STATS_B, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    cfg = WaveNetConfig(layers=2, stacks=1, residual_channels=4, gate_channels=8, skip_channels=4,
                        cin_channels=80, gin_channels=0, n_speakers=0, dropout=0.0)
    return save_checkpoint(path, {"kind": "wavenet", "config": to_dict(cfg), "model": WaveNet(cfg).state_dict(),
                                  "step": 5, "optimizer": {"state": {}},
                                  "audio": {"mel": to_dict(MelConfig()), "stats": stats.to_dict()}})


def write_acoustic(path: Path, stats: FeatureStats = STATS_A) -> Path:
    torch.manual_seed(0)
    table = SymbolTable.default("characters")
    cfg = Tacotron2Config(n_symbols=len(table), n_mels=80, reduction_factor=3, embed_dim=16, encoder_conv_layers=1,
                          encoder_dim=16, attention_rnn_dim=32, decoder_rnn_dim=32, prenet_dim=16, attention_dim=16,
                          location_filters=4, location_kernel=15, postnet_layers=1, postnet_channels=16, max_frames=30)
    return save_checkpoint(path, {"kind": "tacotron2", "config": to_dict(cfg), "model": Tacotron2(cfg).state_dict(),
                                  "step": 3, "symbols": table.to_dict(),
                                  "audio": {"mel": to_dict(MelConfig()), "stats": stats.to_dict()}})


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry folder with tiny stand-ins of both embedded models."""
    folder = tmp_path / "embedded"
    folder.mkdir()
    write_vocoder(folder / "vocoder.pt")
    write_acoustic(folder / "en.pt")
    monkeypatch.setenv(pretrained.ENV_DIR, str(folder))
    return folder


@pytest.fixture
def empty_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "none"
    folder.mkdir()
    monkeypatch.setenv(pretrained.ENV_DIR, str(folder))
    return folder


def speech_file(path: Path, seconds: float = 0.1) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 150 * t) * np.sin(2 * np.pi * 3 * t)).astype(np.float32), 16000)
    return path


def test_registry_names_resolve_to_package_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pretrained.ENV_DIR, raising=False)
    assert set(pretrained.REGISTRY) == {"vocoder", "en"}
    for name, kind in (("vocoder", "wavenet"), ("en", "tacotron2")):
        e = pretrained.entry(f"pretrained:{name}")
        assert e is pretrained.entry(name) and e.kind == kind and e.spec == f"pretrained:{name}"
        assert pretrained.path_of(name) == Path(wavekit.__file__).parent / "pretrained" / e.file
        assert pretrained.card_path(name).name == e.card
    with pytest.raises(CheckpointError, match="pretrained:vocoder, pretrained:en"):
        pretrained.entry("pretrained:fr")


def test_load_by_name_returns_the_registered_file(embedded: Path) -> None:
    voc = wavekit.load("pretrained:vocoder")
    assert isinstance(voc, WaveNet) and voc.checkpoint_step == 5 and not voc.training
    direct = wavekit.load(embedded / "vocoder.pt")
    for a, b in zip(voc.state_dict().values(), direct.state_dict().values()):
        torch.testing.assert_close(a, b)
    from wavekit.checkpoint import load

    en = load("pretrained:en")
    assert isinstance(en.model, Tacotron2) and en.path == embedded / "en.pt" and en.symbols is not None


def test_a_file_of_the_wrong_kind_is_refused(embedded: Path) -> None:
    write_acoustic(embedded / "vocoder.pt")
    with pytest.raises(CheckpointError, match="tacotron2 checkpoint, but pretrained:vocoder is a wavenet"):
        wavekit.load("pretrained:vocoder")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_loading_goes_through_weights_only(embedded: Path) -> None:
    """A registry file holding a code-executing pickle is refused, and its code never runs."""
    marker = embedded.parent / "ran.txt"
    with open(embedded / "vocoder.pt", "wb") as f:
        torch.save({"kind": "wavenet", "config": {}, "model": _Payload(marker)}, f)
    with pytest.raises(CheckpointError, match="holds code or Python objects"):
        wavekit.load("pretrained:vocoder")
    res = CliRunner().invoke(cli, ["vocode", str(speech_file(embedded.parent / "a.wav")), "-o",
                                   str(embedded.parent / "out")])
    assert res.exit_code == 1 and "holds code" in res.output
    with open(embedded / "en.pt", "wb") as f:
        pickle.dump(_Payload(marker), f)
    with pytest.raises(CheckpointError):
        wavekit.load("pretrained:en")
    assert not marker.exists()


@pytest.mark.parametrize("args", [
    ["vocode", "IN", "-o", "OUT"],
    ["synthesize", "Hello.", "-o", "OUT/x.wav"],
    ["synthesize", "Hello.", "--acoustic", "ACOUSTIC", "-o", "OUT/x.wav"],
    ["info", "pretrained:vocoder"],
])
def test_missing_embedded_file_is_one_line_exit_1(empty_registry: Path, tmp_path: Path, args: list[str]) -> None:
    fill = {"IN": str(speech_file(tmp_path / "a.wav")), "OUT": str(tmp_path / "out"),
            "ACOUSTIC": str(write_acoustic(tmp_path / "ac.pt"))}
    argv = [a.replace("OUT", fill["OUT"]) if a.startswith("OUT") else fill.get(a, a) for a in args]
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in res.output
    missing = "vocoder.pt" if "ACOUSTIC" in args or args[0] != "synthesize" else "en.pt"
    assert f"not installed in this copy of wavekit ({empty_registry / missing} missing)" in lines[0]
    assert not (tmp_path / "out").exists()


def test_vocode_without_checkpoint_uses_the_embedded_vocoder(embedded: Path, tmp_path: Path) -> None:
    wav = speech_file(tmp_path / "utt.wav")
    run = lambda *a: CliRunner().invoke(cli, ["vocode", str(wav), "--seed", "3", *a])
    res = run("-o", str(tmp_path / "default"))
    assert res.exit_code == 0, res.output
    res = run("-c", str(embedded / "vocoder.pt"), "-o", str(tmp_path / "explicit"))
    assert res.exit_code == 0, res.output
    a, sr = sf.read(tmp_path / "default" / "utt.wav")
    b, _ = sf.read(tmp_path / "explicit" / "utt.wav")
    assert sr == 16000 and len(a) == 1600 // 256 * 256 and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)
    write_vocoder(embedded / "vocoder.pt", seed=1)  # other weights in the registry: other output
    assert run("-o", str(tmp_path / "other")).exit_code == 0
    assert not np.array_equal(sf.read(tmp_path / "other" / "utt.wav")[0], a)


def test_synthesize_without_checkpoints_uses_both_embedded_models(embedded: Path, tmp_path: Path) -> None:
    run = lambda out, *a: CliRunner().invoke(cli, ["synthesize", "A cat.", "--max-frames", "6", "-q", *a, "-o", out])
    res = run(str(tmp_path / "default.wav"))
    assert res.exit_code == 0, res.output
    res = run(str(tmp_path / "explicit.wav"), "--acoustic", str(embedded / "en.pt"),
              "--vocoder", str(embedded / "vocoder.pt"))
    assert res.exit_code == 0, res.output
    a, sr = sf.read(tmp_path / "default.wav")
    b, _ = sf.read(tmp_path / "explicit.wav")
    assert sr == 16000 and 0 < len(a) <= 6 * 256 and len(a) % 256 == 0
    np.testing.assert_array_equal(a, b)


def test_help_says_the_embedded_models_are_the_default() -> None:
    for cmd, words in (("vocode", ["default: pretrained:vocoder", "embedded"]),
                       ("synthesize", ["default: pretrained:en", "default: pretrained:vocoder"]),
                       ("info", ["embedded"])):
        res = CliRunner().invoke(cli, [cmd, "--help"], terminal_width=200)
        text = " ".join(res.output.split())
        assert res.exit_code == 0 and all(w in text for w in words), (cmd, text)


def test_handover_goes_through_the_raw_log_mel(embedded: Path) -> None:
    """The voice and the vocoder record different corpus statistics: the mel handed over is the same raw log-mel."""
    from wavekit.tts.synthesize import load_synthesizer

    synth = load_synthesizer("pretrained:en", "pretrained:vocoder")
    np.testing.assert_allclose(synth.acoustic_stats.mean, STATS_A.mean)
    np.testing.assert_allclose(synth.vocoder_stats.mean, STATS_B.mean)
    torch.manual_seed(0)
    (mel, _, _), = synth.text_to_mel(["A dog."], max_frames=9)
    torch.manual_seed(0)
    acoustic_mel, _ = synth.acoustic.infer(synth.table.encode("A dog."), max_frames=9)
    assert mel.shape == acoustic_mel.shape and mel.shape[0] == 80 and mel.shape[1] > 0
    torch.testing.assert_close(STATS_B.denormalize(mel), STATS_A.denormalize(acoustic_mel), rtol=1e-5, atol=1e-4)
    assert (mel - acoustic_mel).abs().max() > 0.1  # the normalisations differ, so a pass-through would be wrong


def test_info_lists_the_embedded_models(embedded: Path) -> None:
    (embedded / "en.pt").unlink()
    (embedded / "vocoder.md").write_text("# card\n")
    res = CliRunner().invoke(cli, ["info"], terminal_width=200)
    assert res.exit_code == 0, res.output
    params = sum(p.numel() for p in wavekit.load(embedded / "vocoder.pt").parameters())
    size = (embedded / "vocoder.pt").stat().st_size
    assert "pretrained:vocoder  (wavenet)" in res.output and f"parameters: {params:,}" in res.output
    assert f"file {size / 1e6:.2f} MB" in res.output and str(embedded / "vocoder.md") in res.output
    assert "fillets-ng" in res.output and "espeak-ng" in res.output
    assert f"not installed in this copy of wavekit ({embedded / 'en.pt'} missing)" in res.output
    res = CliRunner().invoke(cli, ["info", "pretrained:vocoder"])
    assert res.exit_code == 0 and "embedded:    pretrained:vocoder" in res.output
    assert f"parameters:  {params:,}" in res.output and "kind:        wavenet" in res.output


CARD = """# The embedded vocoder

Text.

## Check figures

Held-out means, tolerance below.

```json
{"stoi": 0.91, "pesq": 2.4, "tolerance": {"stoi": 0.02}}
```

## Licence

```json
{"not": "this one"}
```
"""


def test_card_figures_parses_the_check_block(embedded: Path) -> None:
    (embedded / "vocoder.md").write_text(CARD)
    assert pretrained.card_figures("vocoder") == {"stoi": 0.91, "pesq": 2.4, "tolerance": {"stoi": 0.02}}
    (embedded / "vocoder.md").write_text(CARD.replace("## Check figures", "## Figures"))
    with pytest.raises(CheckpointError, match="no '## Check figures' section"):
        pretrained.card_figures("vocoder")
    (embedded / "vocoder.md").write_text(CARD.replace('"pesq": 2.4,', '"pesq": 2.4,,'))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        pretrained.card_figures("vocoder")
    with pytest.raises(CheckpointError, match="not installed"):
        pretrained.card_figures("en")


def test_strip_keeps_what_loading_needs(embedded: Path, tmp_path: Path) -> None:
    from wavekit.checkpoint import load_checkpoint, strip_checkpoint

    out = strip_checkpoint(embedded / "vocoder.pt", tmp_path / "stripped.pt")
    ckpt = load_checkpoint(out)
    assert "optimizer" not in ckpt and ckpt["step"] == 5 and "audio" in ckpt
    a, b = wavekit.load(out), wavekit.load(embedded / "vocoder.pt")
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        torch.testing.assert_close(x, y)


def test_the_wheel_ships_the_embedded_files() -> None:
    tomllib = pytest.importorskip("tomllib")

    conf = tomllib.loads((Path(wavekit.__file__).parents[1] / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["wavekit.pretrained"]
    for e in pretrained.REGISTRY.values():
        assert any(Path(e.file).match(p) for p in patterns) and any(Path(e.card).match(p) for p in patterns)


def test_demo_skips_with_one_line_when_the_models_are_not_installed(empty_registry: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = Path(wavekit.__file__).parents[1] / "recipes" / "fillets_cs" / "pretrained_demo.sh"
    res = subprocess.run(["bash", str(script), "--exp", str(tmp_path / "demo")], capture_output=True, text=True,
                         env=dict(os.environ, PY=sys.executable), timeout=300)
    assert res.returncode == 0, res.stderr
    lines = [line for line in (res.stdout + res.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "skipped" in lines[0] and str(empty_registry / "vocoder.pt") in lines[0]
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
def test_demo_speaks_copies_and_reports_with_stand_in_models(embedded: Path, tmp_path: Path, fillets_files) -> None:
    import os
    import subprocess
    import sys

    script = Path(wavekit.__file__).parents[1] / "recipes" / "fillets_cs" / "pretrained_demo.sh"
    exp = tmp_path / "demo"
    res = subprocess.run(["bash", str(script), "--exp", str(exp), "--per-group", "1", "--seconds", "0.5"],
                         capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, PY=sys.executable, WAVEKIT=f"{sys.executable} -m wavekit",
                                  OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert sorted(p.name for p in (exp / "speech").glob("*.wav")) == ["0001.wav", "0002.wav", "0003.wav"]
    assert (exp / "speech" / "spectrograms.png").stat().st_size > 0
    gen = sorted(p.relative_to(exp / "copy" / "gen").as_posix() for p in (exp / "copy" / "gen").rglob("*.wav"))
    assert gen == ["1_trained_speakers_m_v/pt2-m-piknik0.wav", "2_held-out_speaker_hs/dir-hs-konec1.wav"]
    report = (exp / "report.md").read_text()
    for heading in ("## Model against the classical baselines: trained speakers (m, v)",
                    "## Model against the classical baselines: held-out speaker hs", "## Wall times"):
        assert heading in report
    assert [line.split("\t")[0] for line in (exp / "times.tsv").read_text().splitlines()] == [
        "stage1_speak", "stage2_copy_synthesis", "stage3_report"]
