"""Figures as PNG files (matplotlib, Agg backend, no display needed).

Every function writes its PNG atomically (:mod:`wavekit.atomic`, through
:func:`wavekit.plotting.save_figure` for figures) and
returns the path. Figure sizes are exact: ``figsize * dpi`` pixels (no
tight bounding box), so reports lay out predictably; the image grid is
written pixel for pixel (``scale`` screen pixels per image pixel).
:func:`plot_alignment` lives in :mod:`wavekit.plotting` (``tts`` draws it
too) and is re-exported here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from wavekit.atomic import atomic_path  # noqa: E402
from wavekit.errors import DataError  # noqa: E402
from wavekit.plotting import plot_alignment, save_figure  # noqa: F401
from wavekit.train import metrics_log  # noqa: E402

# Keys of a metrics.jsonl record that are not curves.
_NOT_CURVES = {"step", "epoch", "time", "wall_time", "elapsed", "lr", "learning_rate", "items_per_s", "samples_per_s", "grad_norm"}


def _log_spectrogram_db(wav: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    import librosa

    mag = np.abs(librosa.stft(np.asarray(wav, np.float32), n_fft=n_fft, hop_length=hop_length))
    return librosa.amplitude_to_db(mag, ref=1.0, amin=1e-5, top_db=None)


def plot_speech_comparison(
    ref: Any,
    gen: Any,
    path: str | Path,
    sample_rate: int = 16000,
    title: str | None = None,
    n_fft: int = 1024,
    hop_length: int = 256,
    figsize: tuple[float, float] = (12.0, 6.0),
    dpi: int = 100,
) -> Path:
    """Waveforms (top) and log spectrograms (bottom) of reference (left) vs generated (right).

    ``ref`` and ``gen`` are 1-D waveforms (T,); both spectrograms share one
    colour scale (dB) so loudness differences show.
    """
    ref = np.asarray(ref, np.float32).reshape(-1)
    gen = np.asarray(gen, np.float32).reshape(-1)
    specs = [_log_spectrogram_db(w, n_fft, hop_length) for w in (ref, gen)]
    vmax = max(float(s.max()) for s in specs)
    vmin = vmax - 80.0
    fig, axes = plt.subplots(2, 2, figsize=figsize, sharex="col", gridspec_kw={"height_ratios": [1, 2]})
    for col, (name, wav, spec) in enumerate(zip(("reference", "generated"), (ref, gen), specs)):
        t = np.arange(len(wav)) / sample_rate
        axes[0, col].plot(t, wav, linewidth=0.4)
        axes[0, col].set_ylim(-1.0, 1.0)
        axes[0, col].set_title(name)
        im = axes[1, col].imshow(
            spec,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=vmin,
            vmax=vmax,
            extent=(0.0, len(wav) / sample_rate, 0.0, sample_rate / 2000.0),
        )
        axes[1, col].set_xlabel("time (s)")
    axes[0, 0].set_ylabel("amplitude")
    axes[1, 0].set_ylabel("frequency (kHz)")
    fig.colorbar(im, ax=axes.ravel().tolist(), label="dB", shrink=0.6, anchor=(0.0, 0.0))
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi)


DETAIL_SECONDS = 0.5  # the zoomed column of plot_spectrogram_stack: this long ...
DETAIL_KHZ = 4.0  # ... up to this frequency, where the harmonics of voiced speech are drawn apart


def _detail_window(wav: np.ndarray, sample_rate: int, seconds: float) -> tuple[float, float]:
    """(start, end) in seconds of the ``seconds``-long stretch of ``wav`` with the most energy."""
    n = min(len(wav), max(1, int(round(seconds * sample_rate))))
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(wav, np.float64) ** 2)])
    start = int(np.argmax(energy[n:] - energy[:-n]))  # n <= len(wav): at least one window
    return start / sample_rate, (start + n) / sample_rate


def plot_spectrogram_stack(
    waves: Sequence[tuple[str, Any]],
    path: str | Path,
    sample_rate: int = 16000,
    title: str | None = None,
    n_fft: int = 1024,
    hop_length: int = 256,
    width: float = 15.0,
    row_height: float = 2.2,
    dpi: int = 100,
) -> Path:
    """Log spectrograms of several systems on one utterance, one row each (e.g. reference, model, baselines).

    ``waves`` is ``[(label, 1-D waveform), ...]``; all rows share one time
    axis and one colour scale (80 dB below the loudest), so formants and
    pauses compare at a glance. A second column magnifies the loudest
    ``DETAIL_SECONDS`` of the first waveform (the reference), 0 to
    ``DETAIL_KHZ`` kHz, with the same analysis: harmonics show there as
    separate lines that follow the pitch (in the full view they are a few
    pixels apart). A finer hop would smooth the picture but draw white noise
    as horizontal streaks that look like harmonics, so it is not used.
    """
    if not waves:
        raise ValueError("plot_spectrogram_stack needs at least one waveform")
    flat = [np.asarray(w, np.float32).reshape(-1) for _, w in waves]
    specs = [_log_spectrogram_db(w, n_fft, hop_length) for w in flat]
    vmax = max(float(s.max()) for s in specs)
    seconds = max(len(w) for w in flat) / sample_rate
    t0, t1 = _detail_window(flat[0], sample_rate, DETAIL_SECONDS)
    fig, axes = plt.subplots(len(waves), 2, figsize=(width, row_height * len(waves)), squeeze=False,
                             gridspec_kw={"width_ratios": [2, 1]})
    for row, ((label, _), wav, spec) in enumerate(zip(waves, flat, specs)):
        ax, zoom = axes[row]
        ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=vmax - 80.0, vmax=vmax,
                  extent=(0.0, len(wav) / sample_rate, 0.0, sample_rate / 2000.0))
        ax.set_xlim(0.0, seconds)
        ax.axvspan(t0, t1, color="white", alpha=0.12, lw=0)
        ax.set_ylabel("kHz")
        ax.set_title(label, fontsize=10, loc="left")
        a, b = int(t0 * sample_rate), int(t1 * sample_rate)
        piece = wav[a:b]
        if len(piece) >= 2:
            zoom.imshow(_log_spectrogram_db(piece, n_fft, hop_length), origin="lower", aspect="auto", cmap="magma", vmin=vmax - 80.0, vmax=vmax,
                        extent=(t0, t0 + len(piece) / sample_rate, 0.0, sample_rate / 2000.0))
        zoom.set_xlim(t0, t1)
        zoom.set_ylim(0.0, min(DETAIL_KHZ, sample_rate / 2000.0))
        zoom.set_title(f"{label}: {t0:.2f}-{t1:.2f} s, 0-{DETAIL_KHZ:g} kHz", fontsize=9, loc="left")
        if row < len(waves) - 1:
            ax.tick_params(labelbottom=False)
            zoom.tick_params(labelbottom=False)
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def read_metrics_jsonl(path: str | Path) -> list[dict]:
    """Records of a Trainer metrics log (one JSON object per line; blank or torn last lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: metrics log not found; train first (it is written next to the checkpoints)")
    return metrics_log.read(path)


def curves_from_records(records: Sequence[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{key: (steps, values)}`` for every numeric key that is not bookkeeping.

    A record needs a ``step``; keys such as ``loss``, ``train_loss``,
    ``valid_loss``, ``valid/nll`` or ``bits_per_dim`` each become one curve.
    """
    points: dict[str, list[tuple[float, float]]] = {}
    for rec in records:
        step = rec.get("step")
        if not isinstance(step, (int, float)):
            continue
        for key, val in rec.items():
            if key in _NOT_CURVES or isinstance(val, bool) or not isinstance(val, (int, float)):
                continue
            if math.isfinite(val):
                points.setdefault(key, []).append((float(step), float(val)))
    return {k: (np.array([p[0] for p in v]), np.array([p[1] for p in v])) for k, v in sorted(points.items())}


def plot_training_curves(
    metrics: str | Path | Sequence[dict],
    path: str | Path,
    title: str | None = None,
    figsize: tuple[float, float] = (8.0, 4.5),
    dpi: int = 100,
) -> Path:
    """Loss curves against step from a ``metrics.jsonl`` path (or its records).

    Keys containing ``valid``/``val``/``dev`` are drawn with markers (held-out
    evaluations are sparse), training keys as lines.
    """
    records = read_metrics_jsonl(metrics) if isinstance(metrics, (str, Path)) else list(metrics)
    curves = curves_from_records(records)
    if not curves:
        raise DataError(f"{metrics}: no numeric curves with a 'step' in the metrics log")
    fig, ax = plt.subplots(figsize=figsize)
    for key, (steps, vals) in curves.items():
        held_out = any(tag in key.lower() for tag in ("valid", "val_", "val/", "dev", "test"))
        ax.plot(steps, vals, marker="o" if held_out else None, markersize=3, linewidth=1.2, label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("value (nats unless named otherwise)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title or "training curves")
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def image_grid(images: Any, levels: int = 256, nrow: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile (N, C, H, W) integer images (0..levels-1) into one float RGB array in [0, 1].

    Returns (rows * (H + pad) + pad, ncol * (W + pad) + pad, 3); grey images
    (C=1) are repeated over RGB; the padding is mid-grey.
    """
    x = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) with C in (1, 3), got shape {x.shape}")
    if levels < 2:
        raise ValueError("levels must be at least 2")
    n, c, h, w = x.shape
    ncol = nrow if nrow is not None else int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / ncol))
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, 3), 0.5, dtype=np.float32)
    vals = np.clip(x.astype(np.float32) / (levels - 1), 0.0, 1.0)
    if c == 1:
        vals = np.repeat(vals, 3, axis=1)
    for i in range(n):
        r, col = divmod(i, ncol)
        y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
        grid[y0 : y0 + h, x0 : x0 + w] = vals[i].transpose(1, 2, 0)
    return grid


def plot_image_grid(
    images: Any, path: str | Path, levels: int = 256, nrow: int | None = None, pad: int = 1, scale: int = 4
) -> Path:
    """Write an image grid PNG, each image pixel drawn as ``scale`` x ``scale`` PNG pixels."""
    if scale < 1:
        raise ValueError("scale must be a positive integer")
    grid = image_grid(images, levels=levels, nrow=nrow, pad=pad)
    grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    with atomic_path(path, suffix=".png") as tmp:
        plt.imsave(tmp, grid, format="png")
    return Path(path)
