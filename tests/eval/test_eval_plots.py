"""Plots: PNGs of the promised pixel size whose content loads back and matches the data."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch

from wavekit.errors import DataError
from wavekit.eval.plots import (
    DETAIL_SECONDS,
    _detail_window,
    curves_from_records,
    image_grid,
    plot_alignment,
    plot_image_grid,
    plot_spectrogram_stack,
    plot_speech_comparison,
    plot_training_curves,
)


def _load(path) -> np.ndarray:
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    return img


def test_speech_comparison_png(tmp_path, speech_pair):
    m, _, _ = speech_pair
    gen = m + 0.01 * np.random.default_rng(0).standard_normal(len(m))
    out = plot_speech_comparison(m, gen, tmp_path / "sub" / "cmp.png", 16000, title="utt", figsize=(9, 5), dpi=80)
    img = _load(out)
    assert img.shape[:2] == (5 * 80, 9 * 80)
    assert img[..., :3].std() > 0.05  # real content, not a blank canvas
    assert not list((tmp_path / "sub").glob(".*"))  # no temp files left behind


def test_training_curves_png_from_jsonl(tmp_path):
    log = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "train_loss": 5.0 / (1 + s), "lr": 1e-3}) for s in range(0, 100, 10)]
    lines += [json.dumps({"step": s, "valid_loss": 6.0 / (1 + s)}) for s in (0, 50, 99)]
    log.write_text("\n".join(lines) + '\n{"step": 100, "train_lo')  # torn last line from an interrupted run
    curves = curves_from_records([json.loads(x) for x in lines])
    assert set(curves) == {"train_loss", "valid_loss"}  # lr is bookkeeping, not a curve
    np.testing.assert_array_equal(curves["valid_loss"][0], [0, 50, 99])
    img = _load(plot_training_curves(log, tmp_path / "curves.png", figsize=(8, 4.5), dpi=100))
    assert img.shape[:2] == (450, 800)
    assert img[..., :3].std() > 0.01


def test_training_curves_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        plot_training_curves(tmp_path / "nope.jsonl", tmp_path / "c.png")
    (tmp_path / "empty.jsonl").write_text('{"note": "x"}\n')
    with pytest.raises(DataError, match="no numeric curves"):
        plot_training_curves(tmp_path / "empty.jsonl", tmp_path / "c.png")


def test_image_grid_png_pixels_match_the_images(tmp_path):
    levels = 17
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, levels, (5, 1, 8, 8), generator=gen)
    out = plot_image_grid(x, tmp_path / "grid.png", levels=levels, nrow=3, pad=1, scale=2)
    img = _load(out)
    assert img.shape[:2] == ((2 * 9 + 1) * 2, (3 * 9 + 1) * 2)
    # image 4 sits in row 1, column 1; its pixel (r, c) is drawn at PNG pixel ((1 + 9 + r) * 2, (1 + 9 + c) * 2)
    for r, c in ((0, 0), (3, 5), (7, 7)):
        expected = float(x[4, 0, r, c]) / (levels - 1)
        np.testing.assert_allclose(img[(10 + r) * 2, (10 + c) * 2, :3], expected, atol=1 / 255 + 1e-6)
    # the unused sixth cell stays padding grey
    np.testing.assert_allclose(img[(10 + 3) * 2, (19 + 3) * 2, :3], 0.5, atol=1 / 255 + 1e-6)


def test_image_grid_colour_channels():
    x = np.zeros((1, 3, 2, 2), dtype=np.int64)
    x[0, 0] = 255  # pure red
    grid = image_grid(x, levels=256, pad=0)
    np.testing.assert_array_equal(grid[0, 0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="C, H, W"):
        image_grid(np.zeros((2, 8, 8)))


def test_alignment_plot(tmp_path):
    steps, symbols = 60, 20
    a = np.zeros((steps, symbols))
    a[np.arange(steps), np.arange(steps) * symbols // steps] = 1.0
    img = _load(plot_alignment(torch.from_numpy(a), tmp_path / "align.png", figsize=(6, 4), dpi=50))
    assert img.shape[:2] == (200, 300)
    assert img[..., :3].std() > 0.01
    with pytest.raises(ValueError, match="decoder_steps"):
        plot_alignment(np.zeros((2, 3, 4)), tmp_path / "bad.png")


def test_spectrogram_stack_magnifies_the_loudest_stretch_of_the_reference(tmp_path):
    """A 200 Hz tone burst at 1.2-1.6 s in 3 s of quiet noise: the detail column's window is the 0.5 s around
    it; the PNG has a row per waveform, and one waveform shorter than the window still plots."""
    sr = 16000
    rng = np.random.default_rng(0)
    x = 1e-3 * rng.standard_normal(3 * sr)
    t = np.arange(int(0.4 * sr)) / sr
    x[int(1.2 * sr) : int(1.6 * sr)] += 0.5 * np.sin(2 * np.pi * 200 * t)
    t0, t1 = _detail_window(x, sr, DETAIL_SECONDS)
    assert t1 - t0 == pytest.approx(DETAIL_SECONDS) and t0 <= 1.2 + 1e-3 and t1 >= 1.6 - 1e-3
    assert _detail_window(x[:1000], sr, DETAIL_SECONDS) == (0.0, 1000 / sr)
    png = plot_spectrogram_stack([("reference", x), ("model", x[::-1].copy()), ("short", x[:2000])],
                                 tmp_path / "stack.png", title="burst")
    img = _load(png)
    assert img.shape[0] == int(round(2.2 * 3 * 100)) and img.shape[1] == 1500
    with pytest.raises(ValueError, match="at least one"):
        plot_spectrogram_stack([], tmp_path / "none.png")
