"""Sampling from logits: temperature, argmax at 0, per-stream generators."""

from __future__ import annotations

import pytest
import torch

from wavekit.core.sampling import rand, randn, sample_logits


def test_temperature_zero_is_argmax_and_draws_nothing():
    logits = torch.randn(4, 9)
    state = torch.get_rng_state()
    assert torch.equal(sample_logits(logits, 0.0), logits.argmax(-1))
    assert torch.equal(torch.get_rng_state(), state)


def test_frequencies_follow_softmax_of_logits_over_temperature():
    logits = torch.tensor([1.0, 0.0, -1.0, 0.5])
    gen = torch.Generator().manual_seed(0)
    for temperature in (1.0, 0.5, 2.0):
        draws = sample_logits(logits.expand(50000, 4), temperature, gen)
        freq = torch.bincount(draws, minlength=4).float() / draws.numel()
        assert torch.allclose(freq, torch.softmax(logits / temperature, 0), atol=0.01)


def test_dim_argument():
    logits = torch.full((2, 5, 3), -1e9)
    logits[:, 2, :] = 0.0
    assert torch.equal(sample_logits(logits, 1.0, dim=1), torch.full((2, 3), 2))


@pytest.mark.parametrize("draw", [rand, randn])
def test_per_row_generators_give_each_row_its_own_stream(draw):
    batch = draw((3, 4, 2), [torch.Generator().manual_seed(s) for s in (1, 2, 3)])
    for b, s in enumerate((1, 2, 3)):
        assert torch.equal(batch[b], draw((4, 2), torch.Generator().manual_seed(s)))
    with pytest.raises(ValueError):
        draw((3, 4), [torch.Generator()])


def test_negative_temperature_is_an_error():
    with pytest.raises(ValueError):
        sample_logits(torch.zeros(2, 3), -0.5)
