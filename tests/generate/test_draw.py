"""One uniform-driven sampling convention: each Distribution's ``sample_from_uniforms`` is what
generation's ``draw`` produces and what the numba kernel's ``sample_column`` mirrors, and at
temperature 1 its draws follow the distribution itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavekit.core.distributions import (
    Categorical,
    DiscretizedGaussian,
    DiscretizedMixtureOfLogistics,
    Distribution,
)
from wavekit.generate.draw import KINDS, distribution_for, draw
from wavekit.generate.draw_kernel import sample_column

BINS = 1024
CASES: dict[str, tuple[Distribution, dict[str, float | int]]] = {
    "mulaw": (Categorical(16), dict(n_classes=16)),
    "mol": (DiscretizedMixtureOfLogistics(3, BINS, -7.0), dict(n_classes=BINS, mixtures=3, log_scale_min=-7.0)),
    "gaussian": (DiscretizedGaussian(BINS, -7.0), dict(n_classes=BINS, log_scale_min=-7.0)),
}


def _inputs(output: str, dist: Distribution, B: int = 48) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    params = rng.standard_normal((B, dist.num_params)) * (3.0 if output == "mulaw" else 0.4)
    if output == "mol":
        params[:, 6:9] -= 3.0  # small scales
    if output == "gaussian":
        params[:, 1] -= 3.0
    return params, rng.choice([0.0, 0.5, 1.0, 1.7], size=B), rng.random((B, 3))


@pytest.mark.parametrize("output", sorted(CASES))
def test_distribution_draw_is_generations_draw_and_the_kernels(output: str) -> None:
    dist, kw = CASES[output]
    params, temperature, u = _inputs(output, dist)
    got = dist.sample_from_uniforms(torch.from_numpy(params), torch.from_numpy(temperature), torch.from_numpy(u))
    via_draw = draw(torch.from_numpy(params), torch.from_numpy(temperature), torch.from_numpy(u),
                    kind=KINDS[output], **kw)
    assert torch.equal(got, via_draw)
    assert got.dtype == (torch.int64 if output == "mulaw" else torch.float64)
    n_classes, mixtures, log_scale_min = int(kw["n_classes"]), int(kw.get("mixtures", 0)), float(kw.get("log_scale_min", -7.0))
    ref = np.array([
        sample_column(params[b], KINDS[output], n_classes, mixtures, log_scale_min, temperature[b], *u[b],
                      np.empty(dist.num_params), False)
        for b in range(len(params))
    ])
    if output == "mulaw":
        np.testing.assert_array_equal(got.numpy(), ref)
    else:
        np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-12)
    # temperature 0 rows are the mode
    cold = temperature == 0
    mode = dist.mode(torch.from_numpy(params).unsqueeze(2))[:, 0]
    assert torch.equal(got[torch.from_numpy(cold)], mode[torch.from_numpy(cold)].to(got.dtype))


def test_distribution_for_builds_the_kinds_distributions() -> None:
    assert isinstance(distribution_for(KINDS["mulaw"], 256), Categorical)
    assert isinstance(distribution_for(KINDS["mol"], BINS, 2, -7.0), DiscretizedMixtureOfLogistics)
    assert isinstance(distribution_for(KINDS["gaussian"], BINS, 0, -7.0), DiscretizedGaussian)
    with pytest.raises(ValueError, match="unknown output kind"):
        distribution_for(7, 256)


def test_categorical_uniform_draws_follow_the_softmax() -> None:
    """Many uniform-driven draws from one row of logits land in each class with its softmax probability."""
    logits = torch.tensor([[1.0, -0.5, 0.3, 2.0, -2.0]], dtype=torch.float64)
    n = 20000
    u = torch.from_numpy(np.random.default_rng(0).random((n, 3)))
    got = Categorical(5).sample_from_uniforms(logits.expand(n, -1), torch.ones(n, dtype=torch.float64), u)
    freq = torch.bincount(got, minlength=5).double() / n
    np.testing.assert_allclose(freq.numpy(), torch.softmax(logits[0], 0).numpy(), atol=0.015)
