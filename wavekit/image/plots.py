"""PNG figures for the image models: sample grids and receptive-field heat maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def image_grid(images: torch.Tensor, levels: int, nrow: int = 8, pad: int = 1) -> np.ndarray:
    """(N, C, H, W) integer levels -> (rows*(H+pad), cols*(W+pad), 3) floats in [0, 1]."""
    x = images.detach().cpu().double() / (levels - 1)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    N, _, H, W = x.shape
    cols = min(nrow, N)
    rows = (N + cols - 1) // cols
    grid = np.ones((rows * (H + pad) + pad, cols * (W + pad) + pad, 3))
    for n in range(N):
        r, c = divmod(n, cols)
        grid[pad + r * (H + pad) : pad + r * (H + pad) + H, pad + c * (W + pad) : pad + c * (W + pad) + W] = (
            x[n].permute(1, 2, 0).numpy()
        )
    return grid


def save_grid(images: torch.Tensor, levels: int, path: str | Path, nrow: int = 8, title: str = "") -> Path:
    """Write a PNG grid of integer images (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wavekit.plotting import save_figure  # the one atomic PNG writer (temp file + rename, closes the figure)

    grid = image_grid(images, levels, nrow)
    inch = max(6.0 / max(grid.shape[:2]), 0.04)  # at least 6 inches on the long side
    fig = plt.figure(figsize=(grid.shape[1] * inch, grid.shape[0] * inch + (0.4 if title else 0.0)))
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.92 if title else 1.0))
    ax.imshow(grid, interpolation="nearest")
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path, dpi=100)


def save_heatmap(influence: np.ndarray, target: tuple[int, int], path: str | Path, title: str) -> Path:
    """Heat map of |influence| (H, W) with the target pixel marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wavekit.plotting import save_figure  # the one atomic PNG writer (temp file + rename, closes the figure)

    fig, ax = plt.subplots(figsize=(5, 5 * influence.shape[0] / influence.shape[1] + 0.5))
    ax.imshow(influence, cmap="magma", interpolation="nearest")
    ax.add_patch(plt.Rectangle((target[1] - 0.5, target[0] - 0.5), 1, 1, fill=False, edgecolor="cyan", lw=2))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return save_figure(fig, path, dpi=100)
