"""The source-filter mode's per-sample steps in the compiled kernel (:mod:`wavekit.generate.kernels`).

numba twins of :func:`wavekit.wavenet.source_filter_incremental.step_input` and
:func:`~wavekit.wavenet.source_filter_incremental.next_sample`, a few dozen multiply-adds per
sample: the prediction p_t from the stream's own past output (plus, with a long-term
predictor, l_t from the stream's past excitation one pitch lag back), the input embedding
of (s'_{t-1}, p_t, e_{t-1}), and de-emphasis of the drawn excitation. They read
``sf_embed``, ``sf_coef`` of the kernel's weights (:class:`~wavekit.generate.kernel_values.Weights`)
(and ``sf_taps``) and ``x_prev``, ``sf_hist``, ``sf_last``, ``sf_lpc``, ``sf_ring`` of its slot state
(:class:`~wavekit.generate.kernel_values.Slots`), as in the kernels module docstring.
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
def sf_input(b, w, s, t, h):
    """Slot b's network input h[b] (B, R) at chunk row t from s_{t-1} = s.x_prev[b]; keeps p_t (+ l_t) in s.sf_last[b, 1]."""
    embed, coef, taps = w.sf_embed, w.sf_coef[0], w.sf_taps
    x_prev, hist, last, lpc, ring = s.x_prev, s.sf_hist, s.sf_last, s.sf_lpc, s.sf_ring
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
    if taps.shape[0] > 0:  # the long-term predictor: l_t from the ring of past LPC excitation
        n_ring, half = ring.shape[1], taps.shape[0] // 2
        pos = int(last[b, 3])
        if pos > 0:
            ring[b, (pos - 1) % n_ring] = e_prev + last[b, 2]  # e_{t-1} = s'_{t-1} - p_{t-1}
        first = pos - int(lpc[b, t, order]) + half  # index of the newest tap's sample
        acc = 0.0
        for j in range(taps.shape[0]):
            k = first - j
            if k >= 0:
                acc = acc + taps[j] * ring[b, k % n_ring]
        ltp = lpc[b, t, order + 1] * acc
        last[b, 2] = ltp
        # steps taken, kept below 2N (exact in float32): past N steps every tap index is >= 0, and
        # taking N off changes no index mod N
        last[b, 3] = pos + 1 if pos + 1 < 2 * n_ring else pos + 1 - n_ring
        p_pred = p + ltp
    else:
        p_pred = p
    last[b, 1] = p_pred
    _sf_embed_add(embed[0], sp, h, b, True)
    _sf_embed_add(embed[1], p, h, b, False)
    _sf_embed_add(embed[2], e_prev, h, b, False)


@njit(cache=True, error_model="numpy")
def sf_output(b, e, w, s):
    """The sample s_t = clip(p_t [+ l_t] + e + coef * s_{t-1}, -1, 1) of slot b for the drawn excitation e."""
    coef, last = w.sf_coef[0], s.sf_last
    return min(max(last[b, 1] + e + coef * last[b, 0], -1.0), 1.0)
