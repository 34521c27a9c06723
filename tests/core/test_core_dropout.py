"""The CPU dropout: its rate, its scale, its gradient, its reproducibility, and where it steps aside."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from wavekit.core.dropout import BITS, Dropout, dropout_mask, quantised_rate


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5])
def test_mask_drops_at_the_quantised_rate_in_every_word_of_a_draw(p: float) -> None:
    torch.manual_seed(0)
    n = 4 * 250_000
    m = dropout_mask((n,), p)
    q = quantised_rate(p)
    assert abs(q - p) <= 2.0 ** -(BITS + 1)
    sigma = (q * (1 - q) / (n / 4)) ** 0.5
    # each of the four 16-bit words of a 64-bit draw must drop at the rate (a word with
    # fewer random bits than claimed would drop at another rate)
    for word in range(4):
        dropped = (m.view(-1, 4)[:, word] == 0).double().mean().item()
        assert abs(dropped - q) < 5 * sigma, (word, dropped, q)
    kept = m[m != 0]
    assert torch.all(kept == kept[0]) and kept[0].item() == pytest.approx(1 / (1 - q), rel=1e-7)
    assert m.double().mean().item() == pytest.approx(1.0, abs=5 * sigma / (1 - q))  # E[y] = x


def test_dropout_module_gradient_is_the_mask_and_runs_reproduce() -> None:
    drop = Dropout(0.25).train()
    x = torch.randn(3, 5, 7, requires_grad=True)  # 105 elements: not a multiple of four
    torch.manual_seed(1)
    y = drop(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    mask = y.detach() / x.detach()
    torch.testing.assert_close(g, mask)
    scale = torch.tensor(1 / (1 - quantised_rate(0.25)), dtype=torch.float32).item()
    assert set(torch.unique(g).tolist()) <= {0.0, scale}
    torch.manual_seed(1)
    assert torch.equal(drop(x), y)  # same generator state, same mask
    assert not torch.equal(drop(x), y)  # the next draw differs


def test_dropout_steps_aside_in_eval_and_at_zero_and_refuses_bad_rates() -> None:
    x = torch.randn(4, 6)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match="dropout rate"):
            Dropout(p)
        with pytest.raises(ValueError, match="dropout rate"):
            dropout_mask((3,), p)


def test_dropout_keeps_the_dtype_and_matches_nn_dropout_in_distribution() -> None:
    torch.manual_seed(0)
    x = torch.ones(200_000, dtype=torch.float64)
    ours, theirs = Dropout(0.2).train()(x), nn.Dropout(0.2).train()(x)
    assert ours.dtype == torch.float64
    assert ours.mean().item() == pytest.approx(theirs.mean().item(), abs=0.01)
    assert (ours == 0).double().mean().item() == pytest.approx((theirs == 0).double().mean().item(), abs=0.005)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA: needs a GPU")
def test_dropout_on_cuda_is_torchs() -> None:
    x = torch.ones(1000, device="cuda")
    y = Dropout(0.5).train()(x)
    assert y.device.type == "cuda" and set(torch.unique(y).tolist()) <= {0.0, 2.0}
