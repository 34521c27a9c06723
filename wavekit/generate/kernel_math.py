"""The compiled kernel's arithmetic building blocks: the fused products and the gate.

``_matacc`` (a row block times a weight matrix, accumulated), :func:`project_rows` (the
conditioning projection, GIL released, run ahead on a background thread) and ``_gate_rows``
(tanh x sigmoid, with the vectorised rational tanh of :func:`tanh_coefficients` in float32).
:mod:`wavekit.generate.kernels` composes them into the per-sample step.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"contract"})
def _matacc(w, x, acc):
    """acc (M, N, O) += x (M, N, I) @ w (I, O) for every row (m, n): four rows share each weight load.

    Rows are taken m-major, n-minor, four at a time (then two, then one). Each element is
    accumulated in the order i = 0..I-1, one (fused) multiply-add per input,
    whichever loop runs it: the loops over i are unrolled by four but keep that
    order (``a = a + p0 + p1 + ...`` evaluates left to right), so a row's result
    does not depend on its neighbours. The unrolling cuts the loads/stores of
    the accumulators fourfold.

    Elements are indexed directly, never through row views: every view
    increments and decrements its parent's reference count, an atomic
    operation, and on weights shared by the threads those counters bounce
    between cores (two threads were barely faster than one). Without them the
    loop is also 1.5x faster on one thread.
    """
    n_in, n_out = w.shape
    nn = x.shape[1]
    n_rows = x.shape[0] * nn
    i4 = n_in - n_in % 4
    r = 0
    while r + 4 <= n_rows:
        m0, k0 = r // nn, r % nn
        m1, k1 = (r + 1) // nn, (r + 1) % nn
        m2, k2 = (r + 2) // nn, (r + 2) % nn
        m3, k3 = (r + 3) // nn, (r + 3) % nn
        for i in range(0, i4, 4):
            p0, q0, r0, s0 = x[m0, k0, i], x[m0, k0, i + 1], x[m0, k0, i + 2], x[m0, k0, i + 3]
            p1, q1, r1, s1 = x[m1, k1, i], x[m1, k1, i + 1], x[m1, k1, i + 2], x[m1, k1, i + 3]
            p2, q2, r2, s2 = x[m2, k2, i], x[m2, k2, i + 1], x[m2, k2, i + 2], x[m2, k2, i + 3]
            p3, q3, r3, s3 = x[m3, k3, i], x[m3, k3, i + 1], x[m3, k3, i + 2], x[m3, k3, i + 3]
            for o in range(n_out):
                wa, wb, wc, wd = w[i, o], w[i + 1, o], w[i + 2, o], w[i + 3, o]
                acc[m0, k0, o] = acc[m0, k0, o] + wa * p0 + wb * q0 + wc * r0 + wd * s0
                acc[m1, k1, o] = acc[m1, k1, o] + wa * p1 + wb * q1 + wc * r1 + wd * s1
                acc[m2, k2, o] = acc[m2, k2, o] + wa * p2 + wb * q2 + wc * r2 + wd * s2
                acc[m3, k3, o] = acc[m3, k3, o] + wa * p3 + wb * q3 + wc * r3 + wd * s3
        for i in range(i4, n_in):
            p0, p1, p2, p3 = x[m0, k0, i], x[m1, k1, i], x[m2, k2, i], x[m3, k3, i]
            for o in range(n_out):
                wi = w[i, o]
                acc[m0, k0, o] = acc[m0, k0, o] + wi * p0
                acc[m1, k1, o] = acc[m1, k1, o] + wi * p1
                acc[m2, k2, o] = acc[m2, k2, o] + wi * p2
                acc[m3, k3, o] = acc[m3, k3, o] + wi * p3
        r += 4
    while r + 2 <= n_rows:  # two rows sharing the weight loads (e.g. two streams on a thread)
        m0, k0 = r // nn, r % nn
        m1, k1 = (r + 1) // nn, (r + 1) % nn
        for i in range(0, i4, 4):
            p0, q0, r0, s0 = x[m0, k0, i], x[m0, k0, i + 1], x[m0, k0, i + 2], x[m0, k0, i + 3]
            p1, q1, r1, s1 = x[m1, k1, i], x[m1, k1, i + 1], x[m1, k1, i + 2], x[m1, k1, i + 3]
            for o in range(n_out):
                wa, wb, wc, wd = w[i, o], w[i + 1, o], w[i + 2, o], w[i + 3, o]
                acc[m0, k0, o] = acc[m0, k0, o] + wa * p0 + wb * q0 + wc * r0 + wd * s0
                acc[m1, k1, o] = acc[m1, k1, o] + wa * p1 + wb * q1 + wc * r1 + wd * s1
        for i in range(i4, n_in):
            p0, p1 = x[m0, k0, i], x[m1, k1, i]
            for o in range(n_out):
                wi = w[i, o]
                acc[m0, k0, o] = acc[m0, k0, o] + wi * p0
                acc[m1, k1, o] = acc[m1, k1, o] + wi * p1
        r += 2
    while r < n_rows:
        m0, k0 = r // nn, r % nn
        for i in range(0, i4, 4):
            p0, q0, r0, s0 = x[m0, k0, i], x[m0, k0, i + 1], x[m0, k0, i + 2], x[m0, k0, i + 3]
            for o in range(n_out):
                acc[m0, k0, o] = acc[m0, k0, o] + w[i, o] * p0 + w[i + 1, o] * q0 + w[i + 2, o] * r0 + w[i + 3, o] * s0
        for i in range(i4, n_in):
            p0 = x[m0, k0, i]
            for o in range(n_out):
                acc[m0, k0, o] = acc[m0, k0, o] + w[i, o] * p0
        r += 1


@njit(cache=True, nogil=True)
def project_rows(x, w, bias, out):
    """out (N, O) = bias (O,) + x (N, I) @ w (I, O), single-threaded and without the GIL.

    The conditioning projection of a chunk. Done with :func:`_matacc` rather than BLAS so
    that a row's value never depends on how many rows are projected together (a stream
    admitted mid-chunk projects fewer), and so that the background thread that projects
    ahead takes one core, not BLAS's whole thread pool.
    """
    for r in range(out.shape[0]):
        out[r] = bias
    _matacc(w, x.reshape((1, x.shape[0], x.shape[1])), out.reshape((1, out.shape[0], out.shape[1])))


# tanh(x) ~ x * P(x^2) / Q(x^2) on |x| <= TANH_CLAMP, a rational fit made by scripts/fit_tanh.py: max
# abs error 2.5e-8 in exact arithmetic, 4e-7 evaluated in float32 (beyond the clamp tanh is 1 to 3e-8).
# Unlike libm's exp/tanh (one scalar call per element) it is plain arithmetic, which LLVM vectorises.
TANH_CLAMP = 9.0
TANH_P = (
    0.9999999074603236, 0.13374952146937688, 0.0034886184356005914, 2.0503239685987468e-05, 1.3223447335178695e-08
)
TANH_Q = (1.0, 0.46708250518143624, 0.025849851804907963, 0.0003274627575771728, 7.719644235879677e-07)


def tanh_coefficients(dtype: np.dtype) -> np.ndarray:
    """[clamp, P0..P4, Q0..Q4] in ``dtype`` (the kernel's argument ``tanh_coefs``)."""
    return np.asarray((TANH_CLAMP, *TANH_P, *TANH_Q), dtype=dtype)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def _gate_rows(acc, z, c, fast):
    """z (B, H) = tanh(acc[:, :H]) * sigmoid(acc[:, H:]) for acc (B, 2H).

    fast (float32): the rational tanh with sigmoid(v) = (1 + tanh(v / 2)) / 2, vectorised;
    abs error below 1e-6. Otherwise (float64, where the tests compare to torch at 1e-10):
    exact, with two exponentials and one division per element.
    """
    n_half = z.shape[1]
    lim, p0, p1, p2, p3, p4 = c[0], c[1], c[2], c[3], c[4], c[5]
    q0, q1, q2, q3, q4 = c[6], c[7], c[8], c[9], c[10]
    half = q0 / (q0 + q0)
    one = q0
    for b in range(z.shape[0]):
        ab, zb = acc[b], z[b]
        if fast:
            for k in range(n_half):
                x = min(max(ab[k], -lim), lim)
                s = x * x
                t = x * ((((p4 * s + p3) * s + p2) * s + p1) * s + p0) / ((((q4 * s + q3) * s + q2) * s + q1) * s + q0)
                y = min(max(half * ab[n_half + k], -lim), lim)
                s = y * y
                u = y * ((((p4 * s + p3) * s + p2) * s + p1) * s + p0) / ((((q4 * s + q3) * s + q2) * s + q1) * s + q0)
                zb[k] = t * (half + half * u)
        else:
            for k in range(n_half):
                a = ab[k]
                e = math.exp(-(one + one) * abs(a))
                g = (one - e) / ((one + e) * (one + math.exp(-ab[n_half + k])))
                zb[k] = g if a >= 0 else -g
