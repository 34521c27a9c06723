"""Viterbi decoding for banded transition matrices, bit-identical to ``librosa.sequence.viterbi``.

pyin's transition matrix (``librosa.pyin``) is block-banded: two voicing blocks of
``n`` pitch bins each, and from bin j' of either block only the bins within
``w`` of j' (a few semitones per frame) have a nonzero probability. librosa
decodes it densely, ``(2n)^2`` additions per frame (736 x 736 at wavekit's F0 range):
most of what ``f0_from_mel`` costs. This decoder visits only the band, ``2 (2w + 1)``
sources per state, and covers every source outside it with prefix and suffix maxima
(outside the band every transition has the same log-probability, ``log(0 + tiny)``),
so the result is exactly librosa's: the same sums in the same floating-point
arithmetic, and ties broken towards the lowest source index as ``np.argmax`` does.

:func:`install` makes ``librosa.sequence.viterbi`` use it for matrices of that shape
(pyin looks the function up at each call); anything else goes to librosa's own.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numba import njit


def block_band(transition: np.ndarray) -> int | None:
    """The half-width w of a (2n, 2n) matrix whose four (n, n) blocks are zero farther than w
    off their diagonals, or None if it has no such band narrow enough to gain (w >= n / 4)."""
    N = transition.shape[0]
    if transition.ndim != 2 or transition.shape != (N, N) or N % 2 or N < 8:
        return None
    n = N // 2
    rows, cols = np.nonzero(transition)
    w = int(np.abs(rows % n - cols % n).max()) if rows.size else 0
    return w if 4 * w < n else None


@njit(cache=True)
def _decode(log_prob, log_trans, log_p_init, w):  # pragma: no cover - compiled
    """States (T,) uint16 and log-probability of the best path: librosa's ``_viterbi`` over the band.

    log_prob (T, N) and log_trans (N, N) as librosa's (``log(x + tiny)``), N = 2n.
    """
    T, N = log_prob.shape
    n = N // 2
    out = log_trans[0, n - 1] if w + 1 < n else 0.0  # an entry outside the band of block (0, 0)
    value = np.empty((T, N))
    ptr = np.zeros((T, N), dtype=np.uint16)
    pre_v = np.empty(N)
    pre_i = np.zeros(N, dtype=np.int64)
    suf_v = np.empty(N)
    suf_i = np.zeros(N, dtype=np.int64)
    value[0] = log_prob[0] + log_p_init
    for t in range(1, T):
        v = value[t - 1]
        for a in range(2):  # running maxima of v + out inside each block: first index on ties, like argmax
            base = a * n
            best, arg = -np.inf, base
            for j in range(n):
                s = v[base + j] + out
                if s > best:
                    best, arg = s, base + j
                pre_v[base + j], pre_i[base + j] = best, arg
            best, arg = -np.inf, base + n - 1
            for j in range(n - 1, -1, -1):
                s = v[base + j] + out
                if s >= best:
                    best, arg = s, base + j
                suf_v[base + j], suf_i[base + j] = best, arg
        for i in range(N):
            ib = i % n
            lo, hi = max(0, ib - w), min(n - 1, ib + w)
            best, arg = -np.inf, 0
            for a in range(2):  # sources in index order, so the first maximum wins as in np.argmax
                base = a * n
                if lo > 0 and pre_v[base + lo - 1] > best:
                    best, arg = pre_v[base + lo - 1], pre_i[base + lo - 1]
                for j in range(base + lo, base + hi + 1):
                    s = v[j] + log_trans[j, i]
                    if s > best:
                        best, arg = s, j
                if hi < n - 1 and suf_v[base + hi + 1] > best:
                    best, arg = suf_v[base + hi + 1], suf_i[base + hi + 1]
            ptr[t, i] = arg
            value[t, i] = log_prob[t, i] + best
    state = np.zeros(T, dtype=np.uint16)
    state[T - 1] = np.argmax(value[T - 1])
    for t in range(T - 2, -1, -1):
        state[t] = ptr[t + 1, state[t + 1]]
    return state, value[T - 1, state[T - 1]]


def viterbi(
    prob: np.ndarray, transition: np.ndarray, *, p_init: np.ndarray | None = None, band: int | None = None
) -> np.ndarray:
    """States (..., T) of the most likely path: ``librosa.sequence.viterbi(prob, transition, p_init=p_init)``.

    prob (..., N, T) observation likelihoods, transition (N, N) block-banded; ``band`` its
    :func:`block_band` if the caller has it (else computed here). ValueError if it is not banded.
    """
    w = block_band(transition) if band is None else band
    if w is None:
        raise ValueError("transition is not block-banded: use librosa.sequence.viterbi")
    N = transition.shape[0]
    eps = np.finfo(prob.dtype).tiny if np.issubdtype(prob.dtype, np.floating) else np.finfo(np.float32).tiny
    log_trans = np.log(transition + eps)
    log_p_init = np.log((np.full(N, 1.0 / N) if p_init is None else p_init) + eps)
    log_prob = np.log(prob + eps)
    flat = log_prob.reshape(-1, N, log_prob.shape[-1])
    states = np.stack([_decode(np.ascontiguousarray(lp.T), log_trans, log_p_init, w)[0] for lp in flat])
    return states.reshape(prob.shape[:-2] + (prob.shape[-1],))


def install() -> None:
    """Route ``librosa.sequence.viterbi`` through :func:`viterbi` for block-banded matrices (idempotent)."""
    import librosa.sequence as seq

    original: Any = seq.viterbi  # overloaded on return_logp, which this wrapper passes through
    if getattr(original, "_wavekit_banded", False):
        return

    @functools.wraps(original)
    def banded(prob: Any, transition: Any, *, p_init: Any = None, return_logp: bool = False) -> Any:
        prob, transition = np.asarray(prob), np.asarray(transition)
        valid = (prob.ndim >= 2 and transition.shape == (prob.shape[-2],) * 2 and not return_logp
                 and bool(np.all((prob >= 0) & (prob <= 1))) and bool(np.all(transition >= 0))
                 and np.allclose(transition.sum(axis=1), 1)
                 and (p_init is None or (np.shape(p_init) == (prob.shape[-2],) and bool(np.all(np.asarray(p_init) >= 0))
                                         and np.allclose(np.sum(p_init), 1))))
        w = block_band(transition) if valid else None
        if w is None:  # librosa's own, and its errors
            return original(prob, transition, p_init=p_init, return_logp=return_logp)
        return viterbi(prob, transition, p_init=p_init, band=w)

    banded._wavekit_banded = True  # type: ignore[attr-defined]
    seq.viterbi = banded
