"""Discretized logistic mixture: normalisation, edges, sampling, channel causality."""

from __future__ import annotations

import itertools

import pytest
import torch

from wavekit.core.mixture import (
    bin_centres,
    mixture_channel_log_probs,
    mixture_log_prob,
    mixture_mode,
    mixture_num_params,
    mixture_sample,
)


def _params(B: int, K: int, C: int, *, dtype=torch.float64, seed: int = 0, spread: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, mixture_num_params(K, C), generator=g, dtype=dtype) * spread


def test_num_params() -> None:
    assert mixture_num_params(10, 1) == 30
    assert mixture_num_params(10, 3) == 100
    with pytest.raises(ValueError):
        mixture_num_params(0, 3)


@pytest.mark.parametrize("num_classes", [256, 65536])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_single_channel_normalises_over_all_bins(num_classes: int, dtype: torch.dtype) -> None:
    K, B = 5, 4
    p = _params(B, K, 1, dtype=dtype, seed=1)
    p[:, 2 * K :] = torch.tensor([-6.5, -3.0, -1.0, 0.5, 2.0], dtype=dtype)  # narrow to wide scales
    p[0, K : 2 * K] = torch.tensor([-1.2, -1.0, 0.0, 1.0, 1.3], dtype=dtype)  # means at/over the edges
    grid = bin_centres(num_classes, dtype=dtype).view(1, 1, -1).expand(B, 1, -1)
    lp = mixture_log_prob(
        p.unsqueeze(-1).expand(-1, -1, num_classes), grid, mixtures=K, channels=1, num_classes=num_classes
    )
    assert torch.isfinite(lp).all()
    total = torch.exp(lp.double()).sum(dim=-1)
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-4, rtol=0)


def _joint_reference(p: torch.Tensor, x: torch.Tensor, K: int, C: int, n: int) -> torch.Tensor:
    """log p(pixel) from the textbook formula with plain sigmoid differences (float64)."""
    logits = p[:, :K]
    means = p[:, K : K + C * K].view(-1, C, K)
    scales = torch.exp(p[:, K + C * K : K + 2 * C * K].clamp(min=-7.0)).view(-1, C, K)
    coeffs = torch.tanh(p[:, K + 2 * C * K :]).view(-1, C * (C - 1) // 2, K)
    h = 1.0 / (n - 1)
    total = torch.log_softmax(logits, dim=1)
    pairs = [(c, j) for c in range(C) for j in range(c)]
    for c in range(C):
        m = means[:, c].clone()
        for idx, (cc, j) in enumerate(pairs):
            if cc == c:
                m = m + coeffs[:, idx] * x[:, j : j + 1]
        xc = x[:, c : c + 1]
        hi = torch.where(xc > 1 - h, torch.ones_like(m), torch.sigmoid((xc + h - m) / scales[:, c]))
        lo = torch.where(xc < -1 + h, torch.zeros_like(m), torch.sigmoid((xc - h - m) / scales[:, c]))
        total = total + torch.log(hi - lo)
    return torch.logsumexp(total, dim=1)


def _all_pixels(n: int, C: int) -> torch.Tensor:
    levels = list(itertools.product(range(n), repeat=C))
    return torch.tensor(levels, dtype=torch.float64) * (2.0 / (n - 1)) - 1.0  # (n^C, C)


def test_three_channels_joint_normalises_and_matches_formula() -> None:
    K, C, n = 4, 3, 17
    p = _params(2, K, C, seed=3)
    x = _all_pixels(n, C)  # (4913, 3)
    for b in range(2):
        pb = p[b : b + 1].expand(x.shape[0], -1)
        lp = mixture_log_prob(pb, x, mixtures=K, channels=C, num_classes=n)  # (N, 3)
        assert torch.isfinite(lp).all()
        torch.testing.assert_close(lp.exp().prod(dim=1).sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-4, rtol=0)
        torch.testing.assert_close(lp.sum(dim=1), _joint_reference(pb, x, K, C, n), atol=1e-9, rtol=1e-9)


def test_three_channels_each_conditional_normalises_256_levels() -> None:
    K, C, n = 5, 3, 256
    p = _params(6, K, C, seed=4, spread=2.0)
    g = torch.Generator().manual_seed(5)
    x = torch.randint(0, n, (6, C), generator=g).double() * (2.0 / (n - 1)) - 1.0
    for c in range(C):
        table = mixture_channel_log_probs(p, x, c, mixtures=K, channels=C, num_classes=n)  # (6, n)
        torch.testing.assert_close(table.exp().sum(1), torch.ones(6, dtype=torch.float64), atol=1e-6, rtol=0)
        # the table agrees with mixture_log_prob evaluated at every level of channel c
        xs = x.unsqueeze(1).repeat(1, n, 1)
        xs[:, :, c] = bin_centres(n, dtype=torch.float64)
        lp = mixture_log_prob(
            p.unsqueeze(1).expand(-1, n, -1).reshape(6 * n, -1), xs.reshape(6 * n, C),
            mixtures=K, channels=C, num_classes=n,
        ).view(6, n, C)[:, :, c]
        torch.testing.assert_close(lp, table, atol=1e-10, rtol=1e-10)


def test_channel_causality() -> None:
    K, C, n = 3, 3, 256
    p = _params(4, K, C, seed=6)
    x = torch.rand(4, C, dtype=torch.float64) * 2 - 1
    x = torch.round((x + 1) * 127.5) / 127.5 - 1
    base = mixture_log_prob(p, x, mixtures=K, channels=C, num_classes=n)
    for c in range(C):
        x2 = x.clone()
        x2[:, c] = -x2[:, c]
        changed = mixture_log_prob(p, x2, mixtures=K, channels=C, num_classes=n)
        torch.testing.assert_close(changed[:, :c], base[:, :c], atol=0, rtol=0)
        assert (changed[:, c] != base[:, c]).all()


def test_extreme_parameters_are_finite_with_gradients() -> None:
    K, C, n = 3, 3, 256
    p = torch.tensor([[50.0, -50.0, 0.0] + [30.0, -30.0, 0.0] * 3 + [-20.0, 20.0, -7.0] * 3 + [100.0] * 9])
    p = p.repeat(3, 1).requires_grad_(True)
    x = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [0.0, 1.0, -1.0]])
    lp = mixture_log_prob(p, x, mixtures=K, channels=C, num_classes=n)
    assert torch.isfinite(lp).all() and (lp <= 0).all()
    lp.sum().backward()
    assert torch.isfinite(p.grad).all()


def _chi2_ok(counts: torch.Tensor, probs: torch.Tensor, N: int) -> None:
    expected = probs * N
    keep = expected > 5
    chi2 = (((counts[keep] - expected[keep]) ** 2) / expected[keep]).sum().item()
    dof = int(keep.sum()) - 1
    # mean dof, sd sqrt(2 dof): 6 sd is a generous but bug-catching bound
    assert chi2 < dof + 6 * (2 * dof) ** 0.5, (chi2, dof)
    assert counts[~keep].sum() <= 3 * expected[~keep].sum() + 10


def test_sampling_histogram_single_channel() -> None:
    K, n, N = 3, 17, 40000
    p = _params(1, K, 1, seed=7)
    p[0, 2 * K :] = -1.5
    grid = bin_centres(n, dtype=torch.float64)
    probs = mixture_log_prob(p.unsqueeze(-1).expand(1, -1, n), grid.view(1, 1, n), mixtures=K, channels=1, num_classes=n).exp().view(n)
    g = torch.Generator().manual_seed(0)
    s = mixture_sample(p.expand(N, -1), mixtures=K, channels=1, num_classes=n, generator=g)  # (N, 1)
    idx = torch.round((s[:, 0] + 1) * (n - 1) / 2).long()
    torch.testing.assert_close(grid[idx], s[:, 0])  # on bin centres
    _chi2_ok(torch.bincount(idx, minlength=n).double(), probs, N)


def test_sampling_histogram_three_channels() -> None:
    K, C, n, N = 3, 3, 5, 40000
    p = _params(1, K, C, seed=8)
    x = _all_pixels(n, C)
    probs = mixture_log_prob(p.expand(x.shape[0], -1), x, mixtures=K, channels=C, num_classes=n).sum(1).exp()
    g = torch.Generator().manual_seed(1)
    s = mixture_sample(p.expand(N, -1), mixtures=K, channels=C, num_classes=n, generator=g)
    idx = torch.round((s + 1) * (n - 1) / 2).long()
    flat = idx[:, 0] * n * n + idx[:, 1] * n + idx[:, 2]
    _chi2_ok(torch.bincount(flat, minlength=n**C).double(), probs, N)


def test_sampling_is_seeded_and_temperature_zero_is_mode() -> None:
    K, C, n = 4, 3, 256
    p = _params(8, K, C, seed=9).view(2, 4, -1).permute(0, 2, 1)  # (2, P, 4) spatial layout
    a = mixture_sample(p, mixtures=K, channels=C, num_classes=n, generator=torch.Generator().manual_seed(3))
    b = mixture_sample(p, mixtures=K, channels=C, num_classes=n, generator=torch.Generator().manual_seed(3))
    assert a.shape == (2, C, 4)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    m = mixture_mode(p, mixtures=K, channels=C, num_classes=n)
    torch.testing.assert_close(mixture_sample(p, mixtures=K, channels=C, num_classes=n, temperature=0.0), m)


def test_mode_is_most_probable_bin_for_one_component() -> None:
    n = 256
    p = torch.tensor([[0.0, -0.6, -4.0], [0.0, 0.33, -5.0], [0.0, 0.01, -3.0]], dtype=torch.float64)
    grid = bin_centres(n, dtype=torch.float64)
    lp = mixture_log_prob(p.unsqueeze(-1).expand(-1, -1, n), grid.view(1, 1, n).expand(3, 1, n), mixtures=1, channels=1, num_classes=n)
    mode = mixture_mode(p, mixtures=1, channels=1, num_classes=n)
    torch.testing.assert_close(mode[:, 0], grid[lp[:, 0].argmax(dim=-1)])


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError):
        mixture_log_prob(torch.zeros(2, 7), torch.zeros(2, 1), mixtures=3, channels=1, num_classes=256)
    with pytest.raises(ValueError):
        mixture_log_prob(torch.zeros(2, 9), torch.zeros(2, 3), mixtures=3, channels=1, num_classes=256)
