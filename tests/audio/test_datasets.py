"""AudioDataset crops are frame-aligned and deterministic; collate shapes; the WaveNet data builder."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from wavekit.audio import AudioDataset, MelConfig, collate_audio, log_mel_spectrogram
from wavekit.errors import ConfigError, DataError
from wavekit.wavenet.data import WaveNetDataConfig, build_wavenet_data

HOP = MelConfig().hop_length
EDGE = 2  # frames whose window reaches into the reflect padding: ceil(((n_fft - hop) / 2) / hop)


def test_crop_is_frame_aligned_and_its_mel_is_the_mel_of_its_audio(corpus):
    ds = AudioDataset(corpus, "train", crop_samples=24 * HOP, seed=3)
    full = AudioDataset(corpus, "train", crop_samples=None)
    for index in range(len(ds)):
        item = ds[index]
        wav, c = item["wav"].numpy(), item["c"].numpy()
        assert wav.shape == (24 * HOP,) and c.shape == (80, 24) and item["g"].dtype == torch.int64
        whole_wav, whole_c = full.load(index)
        start = ds.crop_start(index, whole_c.shape[1])
        # the crop is the audio at a multiple of the hop, with exactly the frames describing it
        np.testing.assert_array_equal(wav, whole_wav[start * HOP : (start + 24) * HOP])
        np.testing.assert_array_equal(c, whole_c[:, start : start + 24])
        # ... and (un-normalised) those frames are the log-mel of the cropped audio, away from the crop edges
        own = log_mel_spectrogram(wav, ds.mel_config)
        raw = ds.stats.denormalize(c)
        np.testing.assert_allclose(raw[:, EDGE:-EDGE], own[:, EDGE:-EDGE], atol=1e-4)


def test_crops_depend_only_on_seed_epoch_and_index(corpus):
    a = AudioDataset(corpus, "train", crop_samples=16 * HOP, seed=0)
    torch.manual_seed(123)
    np.random.seed(123)
    first = [a[i]["wav"] for i in range(len(a))]
    b = AudioDataset(corpus, "train", crop_samples=16 * HOP, seed=0)
    torch.manual_seed(999)
    np.random.seed(999)
    assert all(torch.equal(x, b[i]["wav"]) for i, x in enumerate(first))
    b.set_epoch(1)
    assert any(not torch.equal(x, b[i]["wav"]) for i, x in enumerate(first))
    b.set_epoch(0)
    assert all(torch.equal(x, b[i]["wav"]) for i, x in enumerate(first))


def test_short_items_are_padded_with_silence(corpus):
    rows = [json.loads(r) for r in (corpus / "manifest.jsonl").read_text().splitlines()]
    frames = max(r["frames"] for r in rows if r["split"] == "dev")
    ds = AudioDataset(corpus, "dev", crop_samples=(frames + 5) * HOP)
    item = ds[0]
    assert torch.all(item["wav"][frames * HOP :] == 0)
    silence = ds.stats.normalize(np.full((80, 1), np.log(ds.mel_config.log_floor)))[:, 0]
    np.testing.assert_allclose(item["c"][:, frames:].numpy(), np.repeat(silence[:, None], 5, axis=1), rtol=1e-6)
    np.testing.assert_allclose(ds.silence_frame, silence, rtol=1e-6)


def test_collate_shapes_fixed_and_variable_length(corpus):
    ds = AudioDataset(corpus, "train", crop_samples=8 * HOP)
    batch = collate_audio([ds[i] for i in range(4)])
    assert batch["wav"].shape == (4, 8 * HOP) and batch["c"].shape == (4, 80, 8) and batch["g"].shape == (4,)
    assert batch["wav"].dtype == torch.float32 and batch["c"].dtype == torch.float32 and batch["g"].dtype == torch.int64
    whole = AudioDataset(corpus, "train")
    items = [whole[i] for i in range(3)]
    longest = max(it["c"].shape[1] for it in items)
    batch = collate_audio(items, c_pad=whole.silence_frame)
    assert batch["wav"].shape == (3, longest * HOP) and batch["c"].shape == (3, 80, longest)
    for it, w, c in zip(items, batch["wav"], batch["c"]):
        n = it["c"].shape[1]
        assert torch.equal(w[: n * HOP], it["wav"]) and torch.all(w[n * HOP :] == 0)
        assert torch.equal(c[:, :n], it["c"])
        assert torch.allclose(c[:, n:], torch.from_numpy(whole.silence_frame)[:, None].expand(80, longest - n))


def test_dataset_errors(corpus, tmp_path):
    with pytest.raises(ValueError, match="multiple of the hop"):
        AudioDataset(corpus, "train", crop_samples=1000)
    with pytest.raises(DataError, match="not a preprocessed corpus.*wavekit preprocess"):
        AudioDataset(tmp_path)
    with pytest.raises(DataError, match="no items"):
        AudioDataset(corpus, "validation")


def model_cfg(**kw):
    base = dict(cin_channels=80, gin_channels=16, n_speakers=2, upsample_scales=[4, 4, 4, 4])
    return SimpleNamespace(**{**base, **kw})


def test_wavenet_data_bundle(corpus):
    bundle = build_wavenet_data(WaveNetDataConfig(root=str(corpus), crop_samples=16 * HOP), model_cfg())
    assert len(bundle.train) == 10 and len(bundle.valid) == 1
    batch = bundle.collate([bundle.train[i] for i in range(2)])
    assert set(batch) == {"wav", "c", "g"} and batch["c"].shape == (2, 80, 16)
    assert bundle.checkpoint_extra["audio"]["mel"] == json.loads((corpus / "meta.json").read_text())["mel"]
    assert bundle.checkpoint_extra["audio"]["stats"] == json.loads((corpus / "stats.json").read_text())
    assert bundle.checkpoint_extra["speakers"] == {"m": 0, "v": 1}
    plain = build_wavenet_data(WaveNetDataConfig(root=str(corpus), crop_samples=16 * HOP), model_cfg(cin_channels=0, gin_channels=0))
    assert set(plain.collate([plain.train[0]])) == {"wav"}


@pytest.mark.parametrize(
    "data_kw,model_kw,match",
    [
        ({"root": ""}, {}, "data.root"),
        ({}, {"cin_channels": 64}, "cin_channels is 64 .* 80 mel bands"),
        ({}, {"n_speakers": 1}, "n_speakers=2"),
        ({}, {"upsample_scales": [4, 4, 4]}, "multiply to 64"),
        ({"crop_samples": 1000}, {}, "multiple of the corpus hop"),
    ],
)
def test_wavenet_data_config_errors(corpus, data_kw, model_kw, match):
    cfg = WaveNetDataConfig(**{"root": str(corpus), **data_kw})
    with pytest.raises(ConfigError, match=match):
        build_wavenet_data(cfg, model_cfg(**model_kw))


def test_wavenet_data_missing_corpus(tmp_path):
    with pytest.raises(DataError, match="wavekit preprocess"):
        build_wavenet_data(WaveNetDataConfig(root=str(tmp_path)), model_cfg())


def test_registered_for_wavenet():
    from wavekit.registry import get_data

    entry = get_data("wavenet")
    assert entry.config_cls is WaveNetDataConfig and entry.build is build_wavenet_data
