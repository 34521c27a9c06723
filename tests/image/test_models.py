"""Image models: exact causality, blind spot, normalisation, cached sampling, completion."""

from __future__ import annotations

import itertools

import pytest
import torch

from wavekit.image import GatedPixelCNN, PixelCNN, PixelCNNPlusPlus, PixelRNN

L = 4  # levels in the small tests


def build(name: str, C: int, levels: int = L):
    torch.manual_seed(0)
    if name == "pixelcnn":
        m = PixelCNN(image_channels=C, levels=levels, layers=2, hidden_channels=4 * C)
    elif name == "gated":
        m = GatedPixelCNN(image_channels=C, levels=levels, layers=3, hidden_channels=2 * C, num_classes=3)
    elif name == "pixelcnnpp":
        m = PixelCNNPlusPlus(image_channels=C, levels=levels, layers=1, hidden_channels=6, mixtures=2, dropout=0.0)
    elif name == "row":
        m = PixelRNN(image_channels=C, levels=levels, layers=2, hidden_channels=2 * C, variant="row")
    else:
        m = PixelRNN(image_channels=C, levels=levels, layers=2, hidden_channels=2 * C, variant="diagonal")
    return m.double().eval()


MODELS = ["pixelcnn", "gated", "pixelcnnpp", "row", "diagonal"]


def _y(m, B: int):
    return torch.arange(B) % 3 if m.num_classes else None


def _raster(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H*W*C) in raster order, then R, G, B."""
    return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)


@pytest.mark.parametrize("C", [1, 3])
@pytest.mark.parametrize("name", MODELS)
def test_changing_a_sub_pixel_changes_no_earlier_log_prob(name: str, C: int) -> None:
    m = build(name, C)
    H = W = 4
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, L, (2, C, H, W), generator=g)
    y = _y(m, 2)
    positions = list(itertools.product(range(H), range(W), range(C)))
    # rows 0-1: the images; then one perturbed copy of both per sub-pixel (one batch: same kernels)
    batch = x.repeat(len(positions) + 1, 1, 1, 1)
    for n, (i, j, c) in enumerate(positions, start=1):
        rows = slice(2 * n, 2 * n + 2)
        batch[rows, c, i, j] = (batch[rows, c, i, j] + 1 + torch.randint(0, L - 1, (2,), generator=g)) % L
    out = _raster(m.log_prob(batch, None if y is None else y.repeat(len(positions) + 1)))
    base = out[:2]
    for n, (i, j, c) in enumerate(positions, start=1):
        k = (i * W + j) * C + c
        got = out[2 * n : 2 * n + 2]
        # exact up to float64 rounding (1 ulp differs between batch rows); a real path is >> 1e-12
        torch.testing.assert_close(got[:, :k], base[:, :k], atol=1e-12, rtol=0)
        assert (got[:, k] != base[:, k]).all()  # a sub-pixel's own term sees its value


@pytest.mark.parametrize("C", [1, 3])
@pytest.mark.parametrize("name", MODELS)
def test_every_conditional_normalises(name: str, C: int) -> None:
    m = build(name, C)
    x = torch.randint(0, L, (2, C, 4, 4), generator=torch.Generator().manual_seed(2))
    y = _y(m, 2)
    for i, j, c in [(0, 0, 0), (1, 2, C - 1), (3, 3, 0), (2, 1, C // 2)]:
        total = torch.zeros(2, dtype=torch.float64)
        for v in range(L):
            x2 = x.clone()
            x2[:, c, i, j] = v
            total += m.log_prob(x2, y)[:, c, i, j].exp()
        torch.testing.assert_close(total, torch.ones_like(total), atol=1e-10, rtol=0)


@pytest.mark.parametrize("name", ["pixelcnn", "gated", "row", "diagonal"])
def test_joint_normalises_by_enumeration(name: str) -> None:
    m = build(name, 1, levels=2)
    images = torch.tensor(list(itertools.product(range(2), repeat=6))).view(-1, 1, 2, 3)
    y = torch.zeros(images.shape[0], dtype=torch.long) if m.num_classes else None
    total = m.log_prob(images, y).sum(dim=(1, 2, 3)).exp().sum()
    torch.testing.assert_close(total, torch.tensor(1.0, dtype=torch.float64), atol=1e-10, rtol=0)


def dependency_map(m, H: int, W: int, i: int, j: int) -> torch.Tensor:
    """(H, W) bool: does changing the whole pixel at (r, c) change log p at (i, j)? (perturbation)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, L, (2, m.image_channels, H, W), generator=g)
    batch = x.repeat(H * W + 1, 1, 1, 1)  # rows 0-1 unchanged, then one copy per perturbed pixel
    for n in range(H * W):
        r, c = divmod(n, W)
        batch[2 * n + 2 : 2 * n + 4, :, r, c] = (batch[2 * n + 2 : 2 * n + 4, :, r, c] + 1) % L
    lp = m.log_prob(batch)[:, :, i, j].view(H * W + 1, -1)
    return ((lp[1:] - lp[:1]).abs().amax(dim=1) > 1e-12).view(H, W)


def _earlier(H: int, W: int, i: int, j: int) -> torch.Tensor:
    idx = torch.arange(H * W).view(H, W)
    return idx < i * W + j


def test_pixelcnn_has_blind_spot_gated_does_not() -> None:
    H, W, i, j = 7, 9, 5, 3
    earlier = _earlier(H, W, i, j)
    torch.manual_seed(0)
    cnn = PixelCNN(image_channels=1, levels=L, layers=6, hidden_channels=8).double()
    torch.manual_seed(0)
    gated = GatedPixelCNN(image_channels=1, levels=L, layers=6, hidden_channels=8).double()
    dep_cnn, dep_gated = dependency_map(cnn, H, W, i, j), dependency_map(gated, H, W, i, j)
    later = ~earlier
    later[i, j] = False  # the pixel itself: its own channels
    for dep in (dep_cnn, dep_gated):
        assert not (dep & later).any()  # never a later pixel
    # Gated: every earlier pixel within its 6-layer reach (6 rows up, 6 columns each side) counts.
    rows, cols = torch.arange(H).view(-1, 1), torch.arange(W).view(1, -1)
    reach = earlier & (i - rows <= 6) & ((cols - j).abs() <= 6)
    reach[i, j] = True  # and its own value (the term is log p of that value)
    assert torch.equal(dep_gated, reach)
    # PixelCNN: a hole — an earlier pixel that does not count while one farther up the same column does.
    holes = [(r, c) for r in range(H) for c in range(W)
             if earlier[r, c] and not dep_cnn[r, c] and dep_cnn[:r, c].any()]
    assert holes, dep_cnn.int()
    assert (i - 1, j + 4) in holes  # above right: the classic blind spot (7x7 mask A reaches j+3 only)


@pytest.mark.parametrize("C", [1, 3])
@pytest.mark.parametrize("name", ["pixelcnn", "gated"])  # the models with a row cache
def test_cached_sampling_equals_naive(name: str, C: int) -> None:
    m = build(name, C)
    y = _y(m, 3)
    a = m.sample(3, 5, 4, seed=5, y=y, cached=True)
    b = m.sample(3, 5, 4, seed=5, y=y, cached=False)
    assert a.shape == (3, C, 5, 4) and a.dtype == torch.long
    assert torch.equal(a, b)
    assert int(a.min()) >= 0 and int(a.max()) < L


@pytest.mark.parametrize("name", MODELS)
def test_complete_keeps_known_pixels(name: str) -> None:
    m = build(name, 3)
    g = torch.Generator().manual_seed(6)
    x = torch.randint(0, L, (2, 3, 4, 4), generator=g)
    known = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    known[:, :, :2] = True  # top half known
    known[1, :, 3, 3] = True  # and one pixel after the unknown region
    y = _y(m, 2)
    out = m.complete(x, known, seed=0, y=y)
    k = known.expand_as(x)
    assert torch.equal(out[k], x[k])
    assert torch.equal(out, m.complete(x, known, seed=0, y=y, cached=False))


def test_temperature_zero_is_greedy_fixed_point() -> None:
    m = build("gated", 1)
    y = _y(m, 2)
    s = m.sample(2, 4, 4, temperature=0.0, y=y)
    logits = m.dist_params(s, y).view(2, L, 1, 4, 4)
    assert torch.equal(logits.argmax(dim=1), s)


def test_class_conditioning_is_used_and_checked() -> None:
    m = build("gated", 1)
    x = torch.randint(0, L, (2, 1, 4, 4))
    assert not torch.equal(m.log_prob(x, torch.tensor([0, 0])), m.log_prob(x, torch.tensor([1, 1])))
    with pytest.raises(ValueError):
        m.log_prob(x)
    with pytest.raises(ValueError):
        build("pixelcnn", 1).log_prob(x, torch.tensor([0, 1]))


def test_bad_inputs_and_configs_raise() -> None:
    m = build("pixelcnn", 3)
    with pytest.raises(ValueError):
        m.log_prob(torch.zeros(1, 1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError):
        m.log_prob(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError):
        PixelRNN(image_channels=3, hidden_channels=4)
    with pytest.raises(ValueError):
        PixelRNN(variant="column")
    with pytest.raises(ValueError):
        build("pixelcnnpp", 1).log_prob(torch.zeros(1, 1, 6, 6, dtype=torch.long))


@pytest.mark.parametrize("name", MODELS)
def test_from_config_rebuilds_and_float32_matches(name: str) -> None:
    m = build(name, 1)
    m2 = type(m).from_config(m.config).double()
    m2.load_state_dict(m.state_dict())
    x = torch.randint(0, L, (2, 1, 4, 4))
    y = _y(m, 2)
    torch.testing.assert_close(m2.eval().log_prob(x, y), m.log_prob(x, y))
    m32 = type(m).from_config(m.config).eval()
    m32.load_state_dict(m.state_dict())
    torch.testing.assert_close(m32.log_prob(x, y).double(), m.log_prob(x, y), atol=1e-4, rtol=1e-4)
