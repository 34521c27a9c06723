"""Fixtures for the audio tests: a small real corpus (fillets-ng speakers 'm' and 'v') with bad files mixed in."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavekit.audio import MelConfig, preprocess_corpus


def speaker_of(path: Path) -> str:
    """fillets-ng speech files are named <level>-<speaker>-<name>.ogg ("" for other names, e.g. help1.ogg)."""
    parts = path.stem.split("-")
    return parts[1] if len(parts) >= 3 else ""


@pytest.fixture(scope="session")
def speech_by_speaker(fillets_files) -> dict[str, list[Path]]:
    """fillets-ng speech files grouped by speaker name."""
    out: dict[str, list[Path]] = {}
    for p in fillets_files:
        out.setdefault(speaker_of(p), []).append(p)
    return out


@pytest.fixture(scope="session")
def speech_subset(fillets_files) -> list[Path]:
    """12 real Czech speech files, 6 of speaker 'm' and 6 of speaker 'v' (shortest-first within a level set)."""
    chosen = []
    for spk in ("m", "v"):
        files = [p for p in fillets_files if speaker_of(p) == spk]
        files = sorted(files, key=lambda p: sf.info(str(p)).frames / sf.info(str(p)).samplerate)
        chosen += files[len(files) // 2 : len(files) // 2 + 6]  # median-length utterances (about 2-3 s)
    return chosen


@pytest.fixture(scope="session")
def corpus_src(tmp_path_factory, speech_subset) -> Path:
    """A CSV manifest of the 12 real files plus five bad ones (corrupt, empty, silent, too short, missing)."""
    d = tmp_path_factory.mktemp("corpus_src")
    (d / "bad").mkdir()
    (d / "bad" / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00not really a wave file" * 10)
    (d / "bad" / "empty.wav").write_bytes(b"")
    sf.write(d / "bad" / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    sf.write(d / "bad" / "short.wav", 0.5 * np.sin(np.arange(800) * 0.1).astype(np.float32), 16000)
    rows = [{"path": str(p), "speaker": speaker_of(p), "text": p.stem} for p in speech_subset]
    rows += [{"path": f"bad/{n}", "speaker": "x", "text": ""} for n in ("corrupt.wav", "empty.wav", "silent.wav", "short.wav", "missing.wav")]
    with open(d / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "speaker", "text"])
        w.writeheader()
        w.writerows(rows)
    return d / "manifest.csv"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, corpus_src) -> Path:
    """The preprocessed corpus (default MelConfig, one dev and one test item). Treat as read-only."""
    out = tmp_path_factory.mktemp("corpus") / "out"
    preprocess_corpus(corpus_src, out, MelConfig(), jobs=1, valid_count=1, test_count=1, progress=False)
    return out


@pytest.fixture
def corpus_copy(tmp_path, corpus) -> Path:
    """A private copy of the preprocessed corpus that a test may modify."""
    dst = tmp_path / "out"
    shutil.copytree(corpus, dst)
    return dst
