"""PixelCNN++'s per-resolution row cache returns what the full network returns."""

from __future__ import annotations

import pytest
import torch

from wavekit.image import PixelCNNPlusPlus
from wavekit.image.pixelcnnpp import PixelCNNPlusPlusRowCache

L = 4  # levels


def build(C: int, layers: int = 1, dropout: float = 0.0, dtype: torch.dtype = torch.float64) -> PixelCNNPlusPlus:
    torch.manual_seed(0)
    m = PixelCNNPlusPlus(image_channels=C, levels=L, layers=layers, hidden_channels=6, mixtures=2, dropout=dropout)
    return m.to(dtype).eval()


@pytest.mark.parametrize("C,layers,H,W", [(1, 1, 8, 8), (3, 2, 8, 12), (1, 1, 12, 4)])
def test_cached_params_equal_full_forward_at_every_pixel(C: int, layers: int, H: int, W: int) -> None:
    """The cache sees only the pixels before (i, j) (later ones are fresh noise at every
    call) and is asked for a random subset of pixels, as when completing around known
    pixels; every answer must be the full forward's parameters of the true image."""
    m = build(C, layers)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, L, (2, C, H, W), generator=g)
    full = m.dist_params(x)
    order = torch.arange(H * W).view(H, W)
    asked = torch.rand(H, W, generator=g) < 0.6
    asked[:, -1] = False  # never ask at the end of a row: start_row must finish it
    asked[3] = False  # nor anywhere on one row
    asked[1, 0] = asked[2, 1] = True  # odd/even rows at odd/even columns after a skip
    cache = PixelCNNPlusPlusRowCache(m)

    def seen(t: int) -> torch.Tensor:  # the true image before raster position t, noise after
        return torch.where(order < t, x, torch.randint(0, L, x.shape, generator=g))

    checked = 0
    for i in range(H):
        cache.start_row(seen(i * W), i)
        for j in range(W):
            if asked[i, j]:
                got = cache.params_at(seen(i * W + j), i, j)
                torch.testing.assert_close(got, full[:, :, i, j], atol=1e-12, rtol=0)
                checked += 1
    assert checked == int(asked.sum()) > H


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("C", [1, 3])
def test_cached_sampling_equals_naive(C: int, dtype: torch.dtype) -> None:
    m = build(C, layers=2 if C == 1 else 1, dtype=dtype)
    a = m.sample(3, 8, 12, seed=5, cached=True)
    b = m.sample(3, 8, 12, seed=5, cached=False)
    assert a.shape == (3, C, 8, 12) and a.dtype == torch.long
    assert torch.equal(a, b)
    assert len(torch.unique(a)) == L  # a real draw, not a constant image


def test_completion_around_known_rows_and_row_ends_equals_naive() -> None:
    m = build(3)
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, L, (2, 3, 8, 8), generator=g)
    known = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    known[:, :, 2] = True  # a whole row (the cache is never asked on it)
    known[:, :, 4, 5:] = True  # the end of a row
    known[:, :, 5, ::3] = True  # scattered pixels on an odd row
    known[0, :, 6, :3] = True  # one image only: a pixel is asked when any image needs it
    out = m.complete(x, known, seed=3, cached=True)
    assert torch.equal(out, m.complete(x, known, seed=3, cached=False))
    k = known.expand_as(x)
    assert torch.equal(out[k], x[k])


def test_sampling_runs_without_dropout_and_restores_training_mode() -> None:
    m = build(1, dropout=0.5).train()
    x = torch.randint(0, L, (2, 1, 8, 8), generator=torch.Generator().manual_seed(4))
    assert not torch.equal(m.dist_params(x), m.dist_params(x))  # dropout is active in training
    cached = m.sample(2, 8, 8, seed=7, cached=True)
    naive = m.sample(2, 8, 8, seed=7, cached=False)
    assert m.training
    assert torch.equal(cached, naive)
    assert torch.equal(cached, m.eval().sample(2, 8, 8, seed=7))
    with pytest.raises(ValueError, match="eval mode"):  # the cache on its own refuses active dropout
        PixelCNNPlusPlusRowCache(m.train()).start_row(x, 0)


def test_sizes_not_divisible_by_four_raise() -> None:
    with pytest.raises(ValueError, match="divisible by 4"):
        build(1).sample(1, 6, 8)
