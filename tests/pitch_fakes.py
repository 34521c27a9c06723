"""A fixed F0 track in place of the mel pitch estimator, for the sine source of tiny models.

The property tests' tiny mels (a few bands, 32-point FFT) are too small for pyin,
which would call every frame unvoiced and leave the sine source silent. With this
track every pitch model's source is busy (a gliding F0 near a tenth of the sample
rate, with unvoiced frames between voiced runs), so the tests exercise it; the
track depends only on the number of frames, like the real one on the mel alone.
The estimator itself is tested in tests/audio/test_pitch.py.
"""

from __future__ import annotations

import numpy as np
import pytest


def fixed_f0_track(log_mel, mel, pitch=None) -> tuple[np.ndarray, np.ndarray]:
    """(f0 (frames,) Hz, voiced (frames,)) for a mel of any content."""
    frames = np.asarray(log_mel).shape[1]
    i = np.arange(frames)
    f0 = mel.sample_rate / 10.0 * (1.0 + 0.2 * np.sin(0.7 * i))
    voiced = (i % 5) != 4
    return f0, voiced


@pytest.fixture(autouse=True)
def fixed_pitch(monkeypatch):
    """Every pitch model in this folder estimates the fixed track (see the module docstring)."""
    monkeypatch.setattr("wavekit.wavenet.source_filter.f0_from_mel", fixed_f0_track)
