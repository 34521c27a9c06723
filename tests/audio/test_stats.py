"""FeatureStats: streaming statistics equal the batch formula; normalisation round trips; bad shapes fail."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from wavekit.audio import FeatureStats
from wavekit.errors import FeatureError


@pytest.fixture
def mels() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    # different lengths, band-dependent offsets and scales, large offset to stress cancellation
    return [(rng.normal(size=(5, n)) * np.arange(1, 6)[:, None] + 100.0 + np.arange(5)[:, None]).astype(np.float32)
            for n in (1, 7, 300, 0, 42)]


def test_streaming_equals_batch(mels):
    stats = FeatureStats.compute(iter(mels))
    allx = np.concatenate(mels, axis=1).astype(np.float64)
    np.testing.assert_allclose(stats.mean, allx.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(stats.std, allx.std(axis=1), rtol=1e-5)
    assert stats.count == allx.shape[1] and stats.n_mels == 5


def test_normalised_training_data_has_zero_mean_unit_std(mels):
    stats = FeatureStats.compute(mels)
    z = stats.normalize(np.concatenate(mels, axis=1))
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=1), 1.0, atol=1e-4)


def test_roundtrip_numpy_torch_and_batched(mels):
    stats = FeatureStats.compute(mels)
    x = mels[2]
    np.testing.assert_allclose(stats.denormalize(stats.normalize(x)), x, rtol=1e-6)
    t = torch.from_numpy(np.stack([x, x]))  # (B, n_mels, F)
    zt = stats.normalize(t)
    assert isinstance(zt, torch.Tensor) and zt.shape == t.shape and zt.dtype == torch.float32
    np.testing.assert_allclose(zt[1].numpy(), stats.normalize(x), rtol=1e-6)
    assert stats.normalize(t.double()).dtype == torch.float64
    torch.testing.assert_close(stats.denormalize(zt), t)


def test_dict_roundtrip_through_json(mels):
    stats = FeatureStats.compute(mels)
    back = FeatureStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    np.testing.assert_array_equal(back.mean, stats.mean)
    np.testing.assert_array_equal(back.std, stats.std)
    assert back.count == stats.count


def test_constant_band_gets_a_floor_not_a_zero_division():
    stats = FeatureStats.compute([np.full((2, 10), -11.5)])
    assert np.all(stats.std > 0) and np.all(np.isfinite(stats.normalize(np.zeros((2, 3)))))


def test_errors():
    stats = FeatureStats(np.zeros(80), np.ones(80))
    with pytest.raises(FeatureError, match="80 bands"):
        stats.normalize(np.zeros((64, 10)))
    with pytest.raises(FeatureError, match="80 bands"):
        stats.denormalize(torch.zeros(2, 81, 10))
    with pytest.raises(FeatureError, match="mean"):
        FeatureStats.from_dict({"std": [1.0]})
    with pytest.raises(FeatureError):
        FeatureStats.from_dict({"mean": [0.0, 1.0], "std": [1.0]})
    with pytest.raises(FeatureError, match="bands"):
        FeatureStats.compute([np.zeros((3, 4)), np.zeros((4, 4))])
    with pytest.raises(FeatureError, match="no frames"):
        FeatureStats.compute([])
