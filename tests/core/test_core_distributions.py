"""Output distributions: normalisation over every value, stability at the edges, sampling consistency."""

from __future__ import annotations

import math

import pytest
import torch

from wavekit.core.distributions import Categorical, DiscretizedGaussian, DiscretizedMixtureOfLogistics
from wavekit.core.mixture import bin_centres

AUDIO_BINS = 65536


def _all_values(dist, dtype=torch.float64) -> torch.Tensor:
    if isinstance(dist, Categorical):
        return torch.arange(dist.num_classes)
    return bin_centres(dist.num_classes, dtype=dtype)


def _param_sets(dist, dtype=torch.float64) -> torch.Tensor:
    """(N, P): random parameters plus extremes (means far outside [-1, 1], tiny and huge scales)."""
    torch.manual_seed(0)
    p = torch.randn(6, dist.num_params, dtype=dtype)
    if isinstance(dist, DiscretizedGaussian):
        p[:, 0] = torch.tensor([0.0, 0.3, 0.999, -1.0, 4.0, -0.2])
        p[:, 1] = torch.tensor([-3.0, -9.0, -12.0, 1.0, -16.0, 3.0])
    elif isinstance(dist, DiscretizedMixtureOfLogistics):
        K = dist.mixtures
        p[:, K : 2 * K] *= 0.7
        p[4, K : 2 * K] = 3.0
        p[5, 2 * K : 3 * K] = -16.0  # scale floor: nearly all mass in one bin
        p[3, 2 * K : 3 * K] = 4.0  # very wide: most mass in the edge bins
    return p


@pytest.mark.parametrize(
    "dist",
    [
        Categorical(256),
        DiscretizedMixtureOfLogistics(4, AUDIO_BINS, log_scale_min=-16.0),
        DiscretizedGaussian(AUDIO_BINS, log_scale_min=-16.0),
        DiscretizedGaussian(16),
    ],
    ids=["categorical", "mol", "gaussian", "gaussian16"],
)
def test_probabilities_over_all_values_sum_to_one(dist):
    values = _all_values(dist)
    V = values.shape[0]
    for p in _param_sets(dist):
        params = p.view(1, -1, 1).expand(1, dist.num_params, V)
        lp = dist.log_prob(params, values.unsqueeze(0))
        assert lp.shape == (1, V)
        assert torch.isfinite(lp).all()
        assert abs(lp.exp().sum().item() - 1.0) < 1e-4


@pytest.mark.parametrize(
    "dist",
    [DiscretizedMixtureOfLogistics(3, AUDIO_BINS, log_scale_min=-16.0), DiscretizedGaussian(AUDIO_BINS, -16.0)],
    ids=["mol", "gaussian"],
)
def test_float32_normalises_for_moderate_scales(dist):
    values = bin_centres(AUDIO_BINS, dtype=torch.float64).float()
    p = torch.zeros(1, dist.num_params, 1)
    p[:, -1] = -4.0 if isinstance(dist, DiscretizedGaussian) else 0.0
    if isinstance(dist, DiscretizedMixtureOfLogistics):
        p[:, 2 * dist.mixtures :] = -4.0
        p[:, dist.mixtures : 2 * dist.mixtures, 0] = torch.tensor([-0.5, 0.0, 0.4])
    lp = dist.log_prob(p.expand(1, dist.num_params, AUDIO_BINS), values.unsqueeze(0))
    assert abs(lp.exp().sum().item() - 1.0) < 1e-4


@pytest.mark.parametrize(
    "dist",
    [Categorical(8), DiscretizedMixtureOfLogistics(2, AUDIO_BINS, -16.0), DiscretizedGaussian(AUDIO_BINS, -16.0)],
    ids=["categorical", "mol", "gaussian"],
)
def test_stable_at_the_edges_of_the_range(dist):
    """x = -1, +1 and the bins next to them, with extreme parameters: finite values and gradients (float32)."""
    if isinstance(dist, Categorical):
        x = torch.tensor([[0, 7, 1, 6]])
    else:
        h = 2.0 / (AUDIO_BINS - 1)
        x = torch.tensor([[-1.0, 1.0, -1.0 + h, 1.0 - h]])
    gen = torch.Generator().manual_seed(0)
    for scale in [-30.0, 0.0] + [30.0] * 200:  # 200 draws at scale 30 once found a NaN gradient in 1 of 60
        params = (torch.randn(1, dist.num_params, 4, generator=gen) * scale).requires_grad_()
        lp = dist.log_prob(params, x)
        assert torch.isfinite(lp).all() and (lp <= 1e-6).all()
        lp.sum().backward()
        assert torch.isfinite(params.grad).all()


@pytest.mark.parametrize("log_scale", [20.0, 60.0, 90.0])
@pytest.mark.parametrize("kind", ["mol", "gaussian"])
def test_central_bin_of_a_very_wide_distribution_is_width_times_peak_density(kind, log_scale):
    """A logistic (Gaussian) far wider than [-1, 1] gives a central bin P = 2h / (4 s)
    (2h / (s sqrt(2 pi))): exact value and a finite gradient in float32, where the bin width over
    the scale underflows to 0 (it once gave log 0 = -inf and a NaN gradient through the edge
    selection)."""
    if kind == "mol":
        dist, peak = DiscretizedMixtureOfLogistics(1, AUDIO_BINS, -16.0), math.log(4.0)
        params = torch.tensor([[[0.0, 0.0], [0.0, 0.0], [log_scale, log_scale]]], requires_grad=True)
    else:
        dist, peak = DiscretizedGaussian(AUDIO_BINS, -16.0), 0.5 * math.log(2 * math.pi)
        params = torch.tensor([[[0.0, 0.0], [log_scale, log_scale]]], requires_grad=True)
    lp = dist.log_prob(params, torch.tensor([[0.0, -1.0]]))
    expected = math.log(2.0 / (AUDIO_BINS - 1)) - peak - log_scale
    assert abs(lp[0, 0].item() - expected) < 1e-4 * abs(expected)
    assert abs(lp[0, 1].item() - math.log(0.5)) < 1e-6  # the left tail holds half the mass
    lp.sum().backward()
    assert torch.isfinite(params.grad).all()
    assert abs(params.grad[0, -1, 0].item() + 1.0) < 1e-4  # d log P / d log s = -1


@pytest.mark.parametrize(
    "dist", [Categorical(6), DiscretizedMixtureOfLogistics(2, 12), DiscretizedGaussian(12)],
    ids=["categorical", "mol", "gaussian"],
)
@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_samples_follow_the_distribution(dist, temperature):
    """Histogram of many samples matches exp(log_prob) (at temperature 1), and is sharper below 1."""
    torch.manual_seed(1)
    values = _all_values(dist, torch.float32)
    p = torch.randn(1, dist.num_params, 1)
    if isinstance(dist, DiscretizedGaussian):
        p[0, 1] = -1.0
    if isinstance(dist, DiscretizedMixtureOfLogistics):
        p[0, 4:] = -1.5
    N = 40000
    gen = torch.Generator().manual_seed(0)
    s = dist.sample(p.expand(1, dist.num_params, N), temperature, gen)[0]
    if isinstance(dist, Categorical):
        idx = s
    else:
        idx = torch.round((s + 1) * (dist.num_classes - 1) / 2).long()
        assert torch.allclose(values[idx], s, atol=1e-6)  # samples lie on bin centres
    freq = torch.bincount(idx, minlength=len(values)).float() / N
    probs = dist.log_prob(p.expand(1, dist.num_params, len(values)), values.unsqueeze(0))[0].exp()
    if temperature == 1.0:
        assert (freq - probs).abs().sum() < 0.03
    else:
        entropy = lambda q: -(q[q > 0] * q[q > 0].log()).sum()  # noqa: E731
        assert entropy(freq) < entropy(probs)


@pytest.mark.parametrize(
    "dist", [Categorical(10), DiscretizedMixtureOfLogistics(3, AUDIO_BINS), DiscretizedGaussian(AUDIO_BINS)],
    ids=["categorical", "mol", "gaussian"],
)
def test_temperature_zero_is_the_mode_and_per_row_generators_are_independent(dist):
    torch.manual_seed(0)
    params = torch.randn(3, dist.num_params, 7)
    mode = dist.mode(params)
    assert mode.shape == (3, 7)
    assert torch.equal(dist.sample(params, 0.0), mode)
    if isinstance(dist, Categorical):
        assert torch.equal(mode, params.argmax(1))
    gens = [torch.Generator().manual_seed(s) for s in (5, 6, 7)]
    batch = dist.sample(params, 1.0, gens)
    for b, seed in enumerate((5, 6, 7)):
        solo = dist.sample(params[b : b + 1], 1.0, torch.Generator().manual_seed(seed))
        assert torch.equal(batch[b : b + 1], solo)
    with pytest.raises(ValueError):
        dist.sample(params, -1.0)
    with pytest.raises(ValueError):
        dist.log_prob(params[:, :-1], mode)
