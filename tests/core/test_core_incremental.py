"""ConvQueue: one-step-at-a-time causal conv equals the full conv; slots restart cleanly."""

from __future__ import annotations

import pytest
import torch

from wavekit.core.conv import CausalConv1d
from wavekit.core.incremental import ConvQueue, flatten_conv_weight


def _run_steps(conv: CausalConv1d, queue: ConvQueue, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    w = flatten_conv_weight(conv.weight).t()
    outs = []
    for i in range(x.shape[2]):
        xi = x[:, :, i]
        outs.append(torch.addmm(conv.bias, queue.taps(xi, t), w))
        queue.push(xi, t)
        t += 1
    return torch.stack(outs, dim=2)


@pytest.mark.parametrize("kernel_size,dilation", [(1, 1), (2, 1), (2, 8), (3, 1), (3, 4), (4, 3)])
def test_queue_steps_equal_the_full_causal_conv(kernel_size, dilation):
    torch.manual_seed(0)
    conv = CausalConv1d(3, 5, kernel_size, dilation=dilation)
    x = torch.randn(2, 3, 50)
    with torch.no_grad():
        full = conv(x)
        q = ConvQueue(2, 3, kernel_size, dilation)
        steps = _run_steps(conv, q, x, torch.zeros((), dtype=torch.long))
    assert torch.allclose(steps, full, atol=1e-6)


def test_reset_restarts_one_stream_while_the_other_continues():
    torch.manual_seed(0)
    conv = CausalConv1d(2, 2, 3, dilation=2)
    x = torch.randn(2, 2, 30)
    with torch.no_grad():
        q = ConvQueue(2, 2, 3, 2)
        t = torch.zeros((), dtype=torch.long)
        _run_steps(conv, q, x[:, :, :13], t)  # t = 13 now: an odd offset into the ring
        q.reset(torch.tensor([False, True]))
        cont = _run_steps(conv, q, x[:, :, 13:], t)
        full = conv(x)
        fresh = conv(x[1:, :, 13:])
    assert torch.allclose(cont[0], full[0, :, 13:], atol=1e-6)  # stream 0 carried on
    assert torch.allclose(cont[1], fresh[0], atol=1e-6)  # stream 1 started again from silence
