"""The causal shifts shared by Gated PixelCNN, PixelCNN++ and PixelRNN."""

from __future__ import annotations

import torch

from wavekit.image.shift import down_shift, right_shift


def test_down_shift_moves_rows_down_and_zero_fills_the_top():
    x = torch.randn(2, 3, 5, 4)
    y = down_shift(x)
    assert y.shape == x.shape
    assert torch.equal(y[:, :, 1:], x[:, :, :-1])
    assert torch.count_nonzero(y[:, :, 0]) == 0


def test_right_shift_moves_columns_right_and_zero_fills_the_left():
    x = torch.randn(2, 3, 5, 4)
    y = right_shift(x)
    assert y.shape == x.shape
    assert torch.equal(y[..., 1:], x[..., :-1])
    assert torch.count_nonzero(y[..., 0]) == 0


def test_a_down_shifted_row_depends_only_on_rows_above():
    x = torch.randn(1, 2, 6, 6, requires_grad=True)
    down_shift(x)[0, :, 3].sum().backward()
    seen = x.grad[0].abs().sum(dim=(0, 2))  # per row
    assert seen[2] > 0 and torch.count_nonzero(seen) == 1  # output row 3 is input row 2, nothing else
