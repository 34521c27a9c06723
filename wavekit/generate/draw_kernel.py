"""The numba twin of :func:`wavekit.generate.draw.draw`, called per slot by the compiled kernel.

Apart from :mod:`wavekit.generate.draw` so that the torch backend never imports numba: see that
module for the sampling convention these functions mirror.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from wavekit.generate.draw import OUT_MOL, OUT_MULAW

# exp(x) for x in [-80, 0] as exp(x / 128) ** 128: a degree-11 Taylor polynomial on [-0.625, 0]
# (remainder < 8e-12), then seven squarings; relative error < 2e-9. Plain arithmetic, so the
# loop over all classes vectorises, where math.exp is one libm call per class.
_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(11, -1, -1))


@njit(cache=True, error_model="numpy")
def _exp_nonpositive(x):
    """exp(x) for x <= 0 to a relative 2e-9 (0 below -80, where exp(x) < 2e-35)."""
    y = max(x, -80.0) * (1.0 / 128.0)
    c11, c10, c9, c8, c7, c6, c5, c4, c3, c2, c1, c0 = _EXP_TAYLOR
    p = ((((((((((c11 * y + c10) * y + c9) * y + c8) * y + c7) * y + c6) * y + c5) * y + c4) * y + c3) * y + c2)
         * y + c1) * y + c0
    for _ in range(7):
        p = p * p
    return p if x > -80.0 else 0.0


@njit(cache=True, error_model="numpy")
def _sample_categorical(logits, temperature, u, ex, fast):
    """Index drawn by inverse CDF of softmax(logits / temperature); the first argmax when temperature == 0.

    ``ex`` is scratch space (at least len(logits)) for the exponentials, computed once.
    fast (float32 models): the vectorised exponential above, else math.exp.
    """
    n = logits.shape[0]
    best = 0
    for k in range(1, n):
        if logits[k] > logits[best]:
            best = k
    if temperature <= 0.0:
        return best
    m = logits[best]
    if fast:
        inv_t = 1.0 / temperature
        for k in range(n):
            ex[k] = _exp_nonpositive((logits[k] - m) * inv_t)
    else:
        for k in range(n):
            ex[k] = math.exp((logits[k] - m) / temperature)
    total = 0.0
    for k in range(n):
        total += ex[k]
    target = u * total
    acc = 0.0
    for k in range(n):
        acc += ex[k]
        if acc > target:
            return k
    return best


@njit(cache=True)
def _snap(x, n_classes):
    """Nearest of ``n_classes`` evenly spaced bin centres on [-1, 1] (as ``core.mixture.snap_to_bins``)."""
    x = min(max(x, -1.0), 1.0)
    idx = np.round((x + 1.0) * (0.5 * (n_classes - 1)))
    return idx * (2.0 / (n_classes - 1)) - 1.0


@njit(cache=True)
def sample_column(params, out_kind, n_classes, mixtures, log_scale_min, temperature, u0, u1, u2, ex, fast):
    """One value from a column of parameters: the numba twin of :func:`wavekit.generate.draw.draw` (for the compiled kernel).

    mulaw: a class index (as float) from softmax(logits / temperature). mol:
    component from softmax(logits / temperature), then its logistic with the
    scale times ``temperature``; gaussian: mean + temperature * std * N(0, 1)
    (Box-Muller); both snapped to the ``n_classes`` bins. temperature 0 is the
    mode: argmax class, or the (snapped) mean of the most probable component.
    Draws use the given uniforms (inverse CDF), never a shared generator. fast: see
    :func:`_sample_categorical`.
    """
    u1 = min(max(u1, 1e-6), 1.0 - 1e-6)
    if out_kind == OUT_MULAW:
        return float(_sample_categorical(params, temperature, u0, ex, fast))
    if out_kind == OUT_MOL:
        k = _sample_categorical(params[:mixtures], temperature, u0, ex, fast)
        x = params[mixtures + k]
        if temperature > 0.0:
            log_s = max(params[2 * mixtures + k], log_scale_min)
            x += temperature * math.exp(log_s) * (math.log(u1) - math.log1p(-u1))
        return _snap(x, n_classes)
    x = params[0]
    if temperature > 0.0:
        log_s = max(params[1], log_scale_min)
        x += temperature * math.exp(log_s) * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    return _snap(x, n_classes)
