"""Stored F0 tracks (wavekit.audio.pitch_tracks) and the pitch items of AudioDataset that read them."""

from __future__ import annotations

import numpy as np
import torch

from wavekit.audio import MelConfig
from wavekit.audio.datasets import AudioDataset
from wavekit.audio.pitch import PitchConfig, f0_from_waveform
from wavekit.audio.pitch_tracks import ensure_tracks, load_track, track_folder, track_path
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.data import WaveNetDataConfig, build_wavenet_data

PITCH = PitchConfig()


def test_tracks_are_computed_once_kept_beside_the_corpus_and_resumed(corpus_copy):
    data = AudioDataset(corpus_copy, with_pitch=False)
    files = [r["file"] for r in data.rows]
    assert ensure_tracks(corpus_copy, files, data.mel_config, PITCH, jobs=1, progress=False) == len(files)
    assert sorted(p.name for p in track_folder(corpus_copy, PITCH).rglob("*.npz")) == sorted(
        track_path(corpus_copy, f, PITCH).name for f in files)
    for i, f in enumerate(files):  # each is the whole item's track
        wav, _ = data.load(i)
        f0, voiced = load_track(track_path(corpus_copy, f, PITCH))
        ref_f0, ref_voiced = f0_from_waveform(wav, data.mel_config, PITCH)
        assert np.allclose(f0, ref_f0, rtol=1e-6) and np.array_equal(voiced, ref_voiced)
    assert ensure_tracks(corpus_copy, files, data.mel_config, PITCH, jobs=1, progress=False) == 0  # all kept
    track_path(corpus_copy, files[3], PITCH).unlink()  # an interrupted run: only the missing one is computed
    before = track_path(corpus_copy, files[0], PITCH).stat().st_mtime_ns
    assert ensure_tracks(corpus_copy, files, data.mel_config, PITCH, jobs=2, progress=False) == 1
    assert track_path(corpus_copy, files[0], PITCH).stat().st_mtime_ns == before
    assert not list(track_folder(corpus_copy, PITCH).rglob("*.tmp*"))  # written atomically, nothing left over


def test_a_crop_has_the_phase_and_voicing_of_the_same_samples_of_its_whole_item(corpus_copy):
    """Crops are computed with real context on both sides: they agree with the whole item where it is voiced."""
    hop = MelConfig().hop_length
    whole = AudioDataset(corpus_copy, with_pitch=True)
    crops = AudioDataset(corpus_copy, crop_samples=16 * hop, with_pitch=True, seed=3)
    checked = 0
    for i in range(len(whole)):
        full = whole[i]
        item = crops[i]
        T = len(full["wav"])
        start = crops.crop_start(i, T // hop) * hop
        n = min(16 * hop, T - start)
        assert item["phase"].shape == item["wav"].shape == item["voicing"].shape
        assert torch.equal(item["wav"][:n], full["wav"][start : start + n])
        assert torch.allclose(item["voicing"][:n], full["voicing"][start : start + n])
        voiced = full["voicing"][start : start + n] > 0.99
        if voiced.sum() < hop:
            continue
        d = (item["phase"][:n] - full["phase"][start : start + n])[voiced]
        d = torch.remainder(d + 0.5, 1.0) - 0.5  # circular difference in cycles
        assert float(d.abs().quantile(0.95)) < 0.05
        checked += 1
    assert checked >= 3


def test_wavenet_batches_of_a_pitch_model_carry_phase_and_voicing(corpus_copy):
    model = WaveNetConfig(cin_channels=80, gin_channels=4, n_speakers=2, excitation="lpc", pitch_harmonics=4)
    bundle = build_wavenet_data(WaveNetDataConfig(root=str(corpus_copy), crop_samples=8 * 256), model)
    batch = bundle.collate([bundle.train[i] for i in range(3)])
    assert set(batch) == {"wav", "c", "g", "mel_stats", "phase", "voicing"}
    assert batch["phase"].shape == batch["voicing"].shape == batch["wav"].shape == (3, 8 * 256)
    assert float(batch["phase"].min()) >= 0.0 and float(batch["phase"].max()) < 1.0
