"""Ground-floor figure helpers shared by every wing (matplotlib, Agg backend, no display needed).

Figures that more than one wing draws live here, so a wing that plots (``tts``
draws attention alignments while synthesising) need not import ``eval``.
Every function writes its PNG atomically and returns the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from wavekit.atomic import atomic_path


def save_figure(fig: Any, path: str | Path, dpi: int) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (temp file + rename) and close it."""
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def plot_alignment(
    alignment: Any,
    path: str | Path,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 4.0),
    dpi: int = 100,
) -> Path:
    """Attention alignment (decoder_steps, encoder_steps) as a heat map: decoder step on x, input symbol on y."""
    a = alignment.detach().float().cpu().numpy() if hasattr(alignment, "detach") else np.asarray(alignment, float)
    if a.ndim != 2:
        raise ValueError(f"alignment must be (decoder_steps, encoder_steps), got shape {a.shape}")
    fig, ax = plt.subplots(figsize=figsize)
    im = ax.imshow(a.T, origin="lower", aspect="auto", interpolation="none", cmap="viridis")
    ax.set_xlabel("decoder step")
    ax.set_ylabel("encoder step (input symbol)")
    fig.colorbar(im, ax=ax)
    ax.set_title(title or "alignment")
    fig.tight_layout()
    return save_figure(fig, path, dpi)
