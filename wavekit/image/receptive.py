"""Which earlier pixels influence a pixel: measured by perturbation (exact, float64)."""

from __future__ import annotations

import torch

from wavekit.image.base import ImageModel


@torch.no_grad()
def influence_map(model: ImageModel, height: int, width: int, row: int, col: int, *, trials: int = 4,
                  seed: int = 0, y: torch.Tensor | None = None) -> torch.Tensor:
    """(height, width): mean |change| of log p at (row, col) (summed over channels) when the
    whole pixel at each position is changed, over ``trials`` random images.

    Zero everywhere after (row, col) for a causal model; zeros *before* it are
    blind spots (or outside the receptive field).
    """
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"pixel ({row}, {col}) is outside a {height}x{width} image")
    g = torch.Generator().manual_seed(seed)
    L, C = model.levels, model.image_channels
    x = torch.randint(0, L, (trials, C, height, width), generator=g).to(model.device)
    base = model.log_prob(x, y)[:, :, row, col].sum(1)
    out = torch.zeros(height, width, dtype=torch.float64)
    for r in range(height):
        for c in range(width):
            x2 = x.clone()
            x2[:, :, r, c] = (x2[:, :, r, c] + torch.randint(1, L, (trials, C), generator=g).to(x.device)) % L
            out[r, c] = (model.log_prob(x2, y)[:, :, row, col].sum(1) - base).abs().mean().double()
    return out
