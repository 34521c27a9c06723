"""mu-law companding against an independent formula and torchaudio."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio

from wavekit.audio import mulaw_decode, mulaw_encode


def formula_encode(x: np.ndarray, channels: int) -> np.ndarray:
    """Textbook mu-law: compand, then round to the nearest of `channels` evenly spaced levels in [-1, 1]."""
    mu = channels - 1
    x = np.minimum(np.maximum(x, -1.0), 1.0)
    y = np.sign(x) * np.log(1.0 + mu * np.abs(x)) / np.log(1.0 + mu)
    return np.rint((y + 1.0) * mu / 2.0).astype(np.int64)


def formula_decode(q: np.ndarray, channels: int) -> np.ndarray:
    mu = channels - 1
    y = 2.0 * q / mu - 1.0
    return np.sign(y) * ((1.0 + mu) ** np.abs(y) - 1.0) / mu


def compand(x, mu):
    return np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)


@pytest.mark.parametrize("channels", [2, 3, 16, 256, 1024, 65536])
def test_matches_independent_formula(channels):
    rng = np.random.default_rng(channels)
    # exact ties between two levels (e.g. x = 0 for even channel counts) are excluded here; see the tie test
    x = np.concatenate([rng.uniform(-1, 1, 20000), rng.normal(0, 0.05, 20000), [-1.0, 1.0]])
    q = mulaw_encode(x, channels)
    assert q.dtype == np.int64 and q.min() >= 0 and q.max() <= channels - 1
    np.testing.assert_array_equal(q, formula_encode(x, channels))
    np.testing.assert_allclose(mulaw_decode(q, channels, dtype=np.float64), formula_decode(q, channels), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels", [2, 256, 4096])
def test_matches_torchaudio(channels):
    x = torch.rand(10000, generator=torch.Generator().manual_seed(0)) * 2 - 1
    q = mulaw_encode(x, channels)
    assert q.dtype == torch.int64
    torch.testing.assert_close(q, torchaudio.functional.mu_law_encoding(x, channels))
    torch.testing.assert_close(mulaw_decode(q, channels), torchaudio.functional.mu_law_decoding(q, channels))


@pytest.mark.parametrize("channels", [2, 256])
def test_silence_tie_rounds_up_like_torchaudio(channels):
    assert mulaw_encode(np.zeros(1), channels)[0] == channels // 2
    assert torchaudio.functional.mu_law_encoding(torch.zeros(1), channels).item() == channels // 2


@pytest.mark.parametrize("channels", [2, 256, 65536])
def test_decode_within_half_step_in_companded_domain(channels):
    mu = channels - 1
    x = np.random.default_rng(1).uniform(-1, 1, 50000)
    back = mulaw_decode(mulaw_encode(x, channels), channels, dtype=np.float64)
    assert np.abs(compand(back, mu) - compand(x, mu)).max() <= 1.0 / mu + 1e-12


def test_clips_out_of_range_and_is_monotonic():
    x = np.linspace(-3, 3, 10001)
    q = mulaw_encode(x)
    assert q[0] == 0 and q[-1] == 255
    assert np.all(np.diff(q) >= 0)
    np.testing.assert_array_equal(mulaw_encode(x), mulaw_encode(np.clip(x, -1, 1)))


def test_types_and_devices_follow_the_input():
    x = np.random.default_rng(2).uniform(-1, 1, (3, 100)).astype(np.float32)
    q_np = mulaw_encode(x)
    q_t = mulaw_encode(torch.from_numpy(x))
    assert isinstance(q_np, np.ndarray) and isinstance(q_t, torch.Tensor) and q_t.shape == (3, 100)
    np.testing.assert_array_equal(q_np, q_t.numpy())
    d_np, d_t = mulaw_decode(q_np), mulaw_decode(q_t)
    assert d_np.dtype == np.float32 and d_t.dtype == torch.float32
    np.testing.assert_allclose(d_np, d_t.numpy(), atol=1e-6)
    assert mulaw_decode(q_t, dtype=torch.float64).dtype == torch.float64


def test_cuda_tensors_stay_on_device(cuda_device):
    x = torch.rand(1000, device=cuda_device) * 2 - 1
    q = mulaw_encode(x)
    assert q.device == x.device
    torch.testing.assert_close(q.cpu(), mulaw_encode(x.cpu()))
    assert mulaw_decode(q).device == x.device


@pytest.mark.parametrize("bad", [1, 0, 2.5, True])
def test_bad_channel_count(bad):
    with pytest.raises(ValueError, match="channels"):
        mulaw_encode(np.zeros(3), bad)
