"""The source-filter input embedding trains the same on every run, however many threads run it."""

from __future__ import annotations

import torch

from wavekit.wavenet.source_filter import interpolated_embedding


def test_embedding_gradient_is_bit_identical_between_runs_on_two_threads():
    """Many values on few rows (as a batch of crops on a 256-row table): the backward of plain indexing
    adds into the same rows from two threads at once, so its sums' last bits change from run to run;
    the embedding lookup must give the same gradient every time (exact resume and repeatable runs
    rest on it)."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 8192, generator=gen) * 2 - 1) ** 3
    table0 = torch.randn(256, 32, generator=gen)
    upstream = torch.randn(4, 8192, 32, generator=gen)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(4):
            table = table0.clone().requires_grad_(True)
            (interpolated_embedding(table, x) * upstream).sum().backward()
            grads.append(table.grad)
    finally:
        torch.set_num_threads(before)
    for g in grads[1:]:
        assert torch.equal(g, grads[0])
    # and it is the gradient: each row gets (1 - f) or f of the upstream of every value that reads it
    u = (torch.sign(x) * torch.log1p(255 * x.abs()) / torch.log1p(torch.tensor(255.0)) + 1) * 127.5
    k = u.floor().clamp(max=254).long().reshape(-1)
    f = (u - u.floor().clamp(max=254)).reshape(-1, 1)
    expected = torch.zeros(256, 32, dtype=torch.float64)
    up = upstream.reshape(-1, 32).double()
    expected.index_add_(0, k, up * (1 - f.double()))
    expected.index_add_(0, k + 1, up * f.double())
    torch.testing.assert_close(grads[0].double(), expected, rtol=1e-4, atol=1e-3)
