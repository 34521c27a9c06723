"""Causal dilated conv, gated block, weight norm folding, the receptive-field formula."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wavekit.core.conv import CausalConv1d, apply_weight_norm, folded_copy, has_weight_norm, remove_weight_norm
from wavekit.core.gated import ResidualBlock, gated_activation
from wavekit.core.receptive_field import receptive_field, stacked_dilations


def _changed_positions(fn, x: torch.Tensor, s: int) -> torch.Tensor:
    """Output positions (along the last dim) that change when input position s changes."""
    y0 = fn(x)
    x1 = x.clone()
    x1[..., s] += 1.0
    diff = (fn(x1) - y0).abs()
    return (diff.reshape(-1, diff.shape[-1]).amax(0) > 0).nonzero().flatten()


@pytest.mark.parametrize("kernel_size,dilation", [(1, 1), (2, 1), (2, 4), (3, 2), (5, 3)])
def test_causal_conv_sees_exactly_its_window(kernel_size, dilation):
    torch.manual_seed(0)
    conv = CausalConv1d(3, 4, kernel_size, dilation=dilation).double()
    x = torch.randn(2, 3, 40, dtype=torch.float64)
    assert conv(x).shape == (2, 4, 40)
    s = 20
    changed = _changed_positions(conv, x, s)
    expected = [s + j * dilation for j in range(kernel_size)]
    assert changed.tolist() == expected


def test_receptive_field_formula_matches_measured_span_of_a_stack():
    torch.manual_seed(0)
    kernels, dilations = [2, 3, 2, 4, 3], [1, 2, 4, 1, 8]
    stack = nn.Sequential(
        *[m for k, d in zip(kernels, dilations) for m in (CausalConv1d(2, 2, k, dilation=d), nn.Tanh())]
    ).double()
    rf = receptive_field(kernels, dilations)
    assert rf == 1 + 1 * 1 + 2 * 2 + 1 * 4 + 3 * 1 + 2 * 8
    x = torch.randn(1, 2, 120, dtype=torch.float64)
    s = 30
    changed = _changed_positions(stack, x, s)
    assert changed.min().item() == s  # nothing before s changes: causal
    assert changed.max().item() == s + rf - 1  # output t sees inputs t-rf+1 .. t
    assert len(changed) == rf


def test_stacked_dilations():
    assert stacked_dilations(6, 2) == [1, 2, 4, 1, 2, 4]
    assert receptive_field([2] * 30, stacked_dilations(30, 3)) == 3 * 1023 + 1
    with pytest.raises(ValueError):
        stacked_dilations(10, 3)
    with pytest.raises(ValueError):
        receptive_field([2, 2], [1])


@pytest.mark.parametrize("kernel_size,dilation,bias", [(1, 1, True), (2, 4, True), (3, 2, False), (3, 16, True)])
def test_causal_conv_equals_torch_conv1d_on_the_left_padded_input(kernel_size, dilation, bias):
    torch.manual_seed(0)
    conv = CausalConv1d(3, 5, kernel_size, dilation=dilation, bias=bias).double()
    x = torch.randn(2, 3, 50, dtype=torch.float64, requires_grad=True)
    ref_x = x.detach().clone().requires_grad_(True)
    y = conv(x)
    ref = F.conv1d(F.pad(ref_x, ((kernel_size - 1) * dilation, 0)), conv.weight, conv.bias, dilation=dilation)
    torch.testing.assert_close(y, ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    (gx, gw) = torch.autograd.grad(y, (x, conv.weight), g)
    (rx, rw) = torch.autograd.grad(ref, (ref_x, conv.weight), g)
    torch.testing.assert_close(gx, rx, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw, rw, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="B, C, T"):
        conv(x[0].detach())


def test_causal_conv_under_bf16_autocast_computes_in_bf16_close_to_float32():
    torch.manual_seed(0)
    conv = CausalConv1d(8, 16, 3, dilation=4)
    x = torch.randn(2, 8, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = conv(x)
    assert y.dtype == torch.bfloat16
    ref = conv(x)
    assert ref.dtype == torch.float32
    assert (y.float() - ref).abs().max() <= 0.03 * ref.abs().max()


def test_residual_block_is_the_textbook_formula():
    torch.manual_seed(0)
    block = ResidualBlock(residual_channels=4, gate_channels=6, skip_channels=5, kernel_size=3, dilation=2,
                          cond_channels=2).double()
    x = torch.randn(2, 4, 30, dtype=torch.float64)
    cond = torch.randn(2, 2, 30, dtype=torch.float64)
    h = F.conv1d(F.pad(x, (4, 0)), block.conv.weight, block.conv.bias, dilation=2) + F.conv1d(cond, block.cond.weight)
    z = torch.tanh(h[:, :3]) * torch.sigmoid(h[:, 3:])
    out, skip = block(x, cond)
    torch.testing.assert_close(out, (x + F.conv1d(z, block.res.weight, block.res.bias)) * 0.5**0.5, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(skip, F.conv1d(z, block.skip.weight, block.skip.bias), rtol=1e-12, atol=1e-12)


def test_gated_activation_is_tanh_times_sigmoid():
    h = torch.randn(3, 8, 5)
    assert torch.allclose(gated_activation(h), torch.tanh(h[:, :4]) * torch.sigmoid(h[:, 4:]))


def test_residual_block_shapes_causality_and_broadcast_conditioning():
    torch.manual_seed(0)
    block = ResidualBlock(
        residual_channels=4, gate_channels=6, skip_channels=5, kernel_size=3, dilation=2, cond_channels=2
    ).double()
    x = torch.randn(2, 4, 30, dtype=torch.float64)
    g = torch.randn(2, 2, 1, dtype=torch.float64)
    out, skip = block(x, g)
    assert out.shape == (2, 4, 30) and skip.shape == (2, 5, 30)
    out2, skip2 = block(x, g.expand(-1, -1, 30))
    assert torch.allclose(out, out2, atol=1e-12) and torch.allclose(skip, skip2, atol=1e-12)
    changed = _changed_positions(lambda v: torch.cat(block(v, g), 1), x, 10)
    assert changed.tolist() == [10, 12, 14]
    with pytest.raises(ValueError):
        block(x)
    with pytest.raises(ValueError):
        ResidualBlock(residual_channels=4, gate_channels=5, skip_channels=4, kernel_size=2, dilation=1)


def test_weight_norm_fold_keeps_function_and_leaves_original_untouched():
    torch.manual_seed(0)
    net = nn.Sequential(CausalConv1d(3, 4, 2, dilation=2), nn.Tanh(), nn.Conv1d(4, 2, 1), nn.ConvTranspose1d(2, 2, 4, 2))
    x = torch.randn(2, 3, 16)
    y = net(x)
    apply_weight_norm(net)
    apply_weight_norm(net)  # idempotent
    assert has_weight_norm(net)
    assert torch.allclose(net(x), y, atol=1e-6)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(1.1)  # a trained model: g and v both moved
    y_wn = net(x)
    folded = folded_copy(net)
    assert not has_weight_norm(folded)
    assert has_weight_norm(net)
    assert torch.allclose(folded(x), y_wn, atol=1e-6)
    assert torch.equal(net(x), y_wn)  # the original still works (torch shares the parametrized class)
    in_place = remove_weight_norm(copy.deepcopy(net))
    assert torch.allclose(in_place(x), y_wn, atol=1e-6)
    assert torch.equal(net(x), y_wn)
