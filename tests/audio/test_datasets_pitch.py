"""AudioDataset(with_pitch=True): "phase" and "voicing" line up with the item's wav, crop edges included."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from wavekit.audio import AudioDataset, MelConfig, collate_audio, preprocess_corpus

MEL = MelConfig()
SR, HOP = MEL.sample_rate, MEL.hop_length
TONES = {"a": (110.0, 0.4), "b": (170.0, 2.0), "c": (230.0, 5.0), "d": (140.0, 1.0), "e": (190.0, 3.0)}  # Hz, rad


def tone(f0: float, theta: float, n: int) -> np.ndarray:
    """0.5 cos(2 pi f0 t / sr + theta): the phase of its fundamental is f0 t / sr + theta / 2 pi cycles."""
    return 0.5 * np.cos(2 * np.pi * f0 * np.arange(n) / SR + theta)


def true_phase(name: str, samples: np.ndarray) -> np.ndarray:
    f0, theta = TONES[name]
    return np.mod(f0 * samples / SR + theta / (2 * np.pi), 1.0)


def circular_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mod(np.asarray(a) - np.asarray(b) + 0.5, 1.0) - 0.5


@pytest.fixture(scope="module")
def tone_corpus(tmp_path_factory) -> Path:
    """Five 1.5 s pure tones of known frequency and phase, one speaker; three of them in the train split."""
    d = tmp_path_factory.mktemp("tones")
    rows = []
    for name, (f0, theta) in TONES.items():
        sf.write(d / f"{name}.wav", tone(f0, theta, 3 * SR // 2).astype(np.float32), SR, subtype="FLOAT")
        rows.append({"path": str(d / f"{name}.wav"), "speaker": "s", "text": name})
    with open(d / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "speaker", "text"])
        w.writeheader()
        w.writerows(rows)
    out = d / "out"
    preprocess_corpus(d / "manifest.csv", out, MEL, jobs=1, valid_count=1, test_count=1, progress=False)
    return out


def test_phase_and_voicing_line_up_with_the_cropped_wav(tone_corpus):
    crop = 8 * HOP
    ds = AudioDataset(tone_corpus, "train", crop_samples=crop, with_pitch=True, seed=1)
    plain = AudioDataset(tone_corpus, "train", crop_samples=crop, seed=1)
    checked = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        plain.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            name = ds.rows[i]["text"]
            assert torch.equal(item["wav"], plain[i]["wav"]) and set(plain[i]) == {"wav", "c", "g"}
            phase, voicing = item["phase"].numpy(), item["voicing"].numpy()
            assert phase.shape == voicing.shape == (crop,) and phase.dtype == voicing.dtype == np.float32
            assert phase.min() >= 0 and phase.max() < 1 and voicing.min() >= 0 and voicing.max() <= 1
            start = ds.crop_start(i, ds.rows[i]["frames"]) * HOP
            at = start + np.arange(crop)
            # the item's phase is its tone's phase at those samples, crop edges included; away from the item's
            # own edges (an n_fft at each end, where the tone starts and stops abruptly)
            inside = (at >= MEL.n_fft) & (at < ds.rows[i]["samples"] - MEL.n_fft)
            err = np.abs(circular_diff(phase, true_phase(name, at)))[inside]
            assert err.size == 0 or err.max() < 0.01
            assert np.all(voicing[inside] > 0.99)
            checked += int(inside.sum() > 0)
            again = ds[i]
            assert torch.equal(again["phase"], item["phase"]) and torch.equal(again["voicing"], item["voicing"])
    assert checked >= 6


def test_whole_items_short_items_and_collate(tone_corpus):
    whole = AudioDataset(tone_corpus, "train", with_pitch=True)
    item = whole[0]
    n = item["wav"].shape[0]
    at = np.arange(n)
    inside = slice(MEL.n_fft, n - MEL.n_fft)
    err = circular_diff(item["phase"].numpy(), true_phase(whole.rows[0]["text"], at))[inside]
    assert np.abs(err).max() < 0.01
    # a crop longer than the item: the padding has phase 0 and voicing 0, like the wav's zeros
    frames = whole.rows[0]["frames"]
    long = AudioDataset(tone_corpus, "train", crop_samples=(frames + 3) * HOP, with_pitch=True)[0]
    assert long["phase"].shape == long["wav"].shape == ((frames + 3) * HOP,)
    assert torch.all(long["phase"][frames * HOP :] == 0) and torch.all(long["voicing"][frames * HOP :] == 0)
    assert torch.equal(long["phase"][: frames * HOP], item["phase"])
    # collate: (B, T) like the wav, shorter items padded with zeros
    short = {k: v[: 5 * HOP] if k in ("wav", "phase", "voicing") else v for k, v in whole[1].items()}
    short["c"] = whole[1]["c"][:, :5]
    batch = collate_audio([item, short])
    for key in ("wav", "phase", "voicing"):
        assert batch[key].shape == (2, n) and batch[key].dtype == torch.float32
        assert torch.equal(batch[key][0], item[key]) and torch.all(batch[key][1, 5 * HOP :] == 0)
        assert torch.equal(batch[key][1, : 5 * HOP], short[key])
