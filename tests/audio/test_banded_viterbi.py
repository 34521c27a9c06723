"""The banded Viterbi decoder is librosa's, state for state, on pyin's matrices and on adversarial ones."""

from __future__ import annotations

import librosa
import librosa.sequence
import numpy as np
import pytest

from wavekit.audio import banded_viterbi
from wavekit.audio.features import MelConfig
from wavekit.audio.io import load_wav
from wavekit.audio.pitch import f0_from_waveform

SR, HOP = 16000, 256


def librosa_viterbi():
    """librosa's own decoder, whether or not the banded one is installed."""
    fn = librosa.sequence.viterbi
    return getattr(fn, "__wrapped__", fn) if getattr(fn, "_wavekit_banded", False) else fn


def pyin_like(n: int, width: int, switch: float = 0.01) -> np.ndarray:
    """(2n, 2n): pyin's construction, a triangle band in each of the two voicing blocks."""
    local = librosa.sequence.transition_local(n, width, window="triangle", wrap=False)
    return np.kron(librosa.sequence.transition_loop(2, 1 - switch), local)


@pytest.mark.parametrize("n,width", [(40, 11), (60, 5), (184, 71)])
def test_equals_librosa_on_zeros_ties_and_random_observations(n, width):
    """Zero observations cost -708 per frame, so that paths leave the band; rounded, constant or
    sparse equal ones make exact ties: the chosen source must be librosa's lowest index every time."""
    transition = pyin_like(n, width)
    assert banded_viterbi.block_band(transition) == width // 2
    rng = np.random.default_rng(n)
    dense = librosa_viterbi()
    for trial in range(60):
        prob = rng.random((2 * n, 30))
        if trial % 4 == 0:
            prob[rng.random(prob.shape) < 0.8] = 0.0
        elif trial % 4 == 1:
            prob = np.round(prob, 1)
        elif trial % 4 == 2:
            prob[:] = 0.25 if trial % 8 == 2 else 0.0
        else:  # a few equal observations per frame, far apart: the best source lies outside the band, tied
            prob[:] = 0.0
            for t in range(prob.shape[1]):
                prob[rng.choice(2 * n, size=3, replace=False), t] = 0.5
        p_init = None if trial % 2 else rng.dirichlet(np.ones(2 * n))
        want = dense(prob, transition, p_init=p_init)
        got = banded_viterbi.viterbi(prob, transition, p_init=p_init)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    stacked = rng.random((3, 2 * n, 12))  # leading channel axes, as pyin's (1, states, frames)
    np.testing.assert_array_equal(banded_viterbi.viterbi(stacked, transition), dense(stacked, transition))


def test_pyin_on_real_speech_is_unchanged(fillets_files):
    path = next(p for p in fillets_files if p.name == "pra-m-strach.ogg")
    x = load_wav(path, SR).astype(np.float64)[: 2 * SR]
    mel = MelConfig()
    f0_from_waveform(np.zeros(4 * HOP), mel)  # installs the banded decoder
    assert getattr(librosa.sequence.viterbi, "_wavekit_banded", False)
    kw = dict(fmin=60.0, fmax=500.0, sr=SR, frame_length=1024, hop_length=HOP, n_thresholds=30)
    banded = librosa.pyin(x, **kw)
    installed = librosa.sequence.viterbi
    try:
        librosa.sequence.viterbi = librosa_viterbi()
        dense = librosa.pyin(x, **kw)
    finally:
        librosa.sequence.viterbi = installed
    for got, want in zip(banded, dense, strict=True):
        np.testing.assert_array_equal(got, want)
    assert banded[1].sum() > 20  # voiced frames were decoded


def test_other_matrices_and_bad_input_go_to_librosa():
    banded_viterbi.install()
    rng = np.random.default_rng(1)
    dense = rng.random((8, 8))
    dense /= dense.sum(axis=1, keepdims=True)
    assert banded_viterbi.block_band(dense) is None
    prob = rng.random((8, 10))
    np.testing.assert_array_equal(librosa.sequence.viterbi(prob, dense), librosa_viterbi()(prob, dense))
    with pytest.raises(ValueError, match="not block-banded"):
        banded_viterbi.viterbi(prob, dense)
    transition = pyin_like(40, 11)
    with pytest.raises(librosa.ParameterError):  # librosa's checks still apply
        librosa.sequence.viterbi(np.full((80, 5), 2.0), transition)
    states, logp = librosa.sequence.viterbi(rng.random((80, 5)), transition, return_logp=True)
    assert states.shape == (5,) and np.isfinite(logp)
