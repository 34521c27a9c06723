"""The source-filter mode's per-sample steps in the compiled kernel (:mod:`wavekit.generate.kernels`).

numba twins of :func:`wavekit.wavenet.source_filter.step_input` and
:func:`~wavekit.wavenet.source_filter.next_sample`, a few dozen multiply-adds per
sample: the prediction p_t from the stream's own past output, the input embedding
of (s'_{t-1}, p_t, e_{t-1}), and de-emphasis of the drawn excitation. Arguments
``sf_weights = (embed (3, Q, R), coef (1,))`` and ``sf_state = (hist (B, order),
last (B, 2), lpc (B, C, order))`` as in the kernels module docstring.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, error_model="numpy")
def _mulaw_position(x, n_classes):
    """Continuous mu-law position of x on 0 .. n_classes - 1 (``source_filter.mulaw_position``)."""
    mu = n_classes - 1.0
    x = min(max(x, -1.0), 1.0)
    y = math.log1p(mu * abs(x)) / math.log1p(mu)
    if x < 0.0:
        y = -y
    return (y + 1.0) * (0.5 * mu)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _sf_embed_add(table, x, h, b, first):
    """h[b] (+)= the piecewise-linear embedding of x in table (Q, R) (``source_filter.interpolated_embedding``)."""
    n_q = table.shape[0]
    u = _mulaw_position(x, n_q)
    k = min(int(u), n_q - 2)  # u >= 0: truncation is the floor
    f = u - k
    g = 1.0 - f
    for r in range(h.shape[1]):
        v = table[k, r] * g + table[k + 1, r] * f
        h[b, r] = v if first else h[b, r] + v


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def sf_input(b, x_prev, sf_weights, sf_state, t, h):
    """Slot b's network input h[b] at chunk row t from s_{t-1} = x_prev[b]; keeps p_t in last[b, 1]."""
    embed, coef = sf_weights[0], sf_weights[1][0]
    hist, last, lpc = sf_state[0], sf_state[1], sf_state[2]
    order = hist.shape[1]
    sp = x_prev[b] - coef * last[b, 0]
    e_prev = sp - last[b, 1]
    for k in range(order - 1, 0, -1):
        hist[b, k] = hist[b, k - 1]
    hist[b, 0] = sp
    p = 0.0
    for k in range(order):
        p = p + lpc[b, t, k] * hist[b, k]
    p = -p
    last[b, 0] = x_prev[b]
    last[b, 1] = p
    _sf_embed_add(embed[0], sp, h, b, True)
    _sf_embed_add(embed[1], p, h, b, False)
    _sf_embed_add(embed[2], e_prev, h, b, False)


@njit(cache=True, error_model="numpy")
def sf_output(b, e, sf_weights, sf_state):
    """The sample s_t = clip(p_t + e + coef * s_{t-1}, -1, 1) of slot b for the drawn excitation e."""
    coef, last = sf_weights[1][0], sf_state[1]
    return min(max(last[b, 1] + e + coef * last[b, 0], -1.0), 1.0)
