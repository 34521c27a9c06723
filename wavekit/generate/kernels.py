"""The fused per-sample WaveNet step, compiled with numba.

One call of :func:`run_steps` advances every batch slot by ``n_steps``
samples entirely in compiled code (no per-operation Python overhead). The
weights come in the folded layout built by :mod:`wavekit.generate.fused`
(weight norm removed, matrices stored ``(in, out)`` so that every product is
a run of contiguous ``acc[out] += w[in, out] * x[in]`` updates).

Exactness across batch compositions: every output element is accumulated in
the same order (inputs ``0..in-1``, one fused multiply-add each: the matrix
products allow only LLVM's ``contract`` flag, no reassociation), whatever the
batch size and whichever loop nest runs. So a stream gives bit-identical
samples alone or among other streams (tested). BLAS (``np.dot``) is not used
for the products: it picks kernels (and summation orders) by matrix size.

Shapes (R residual, G gate = 2H, S skip, S2 post-net hidden, P parameters,
L layers, K kernel taps, B slots, C chunk length):

- ``h`` (B, R) residual input of the current layer; ``queues`` (sum_l Q_l, B, R)
  with ``Q_l = (K - 1) * dilation_l`` past inputs of layer l (a ring indexed
  by the global step counter ``pos``), time-major like
  :class:`wavekit.core.incremental.ConvQueue`, so one tap of all slots is one
  contiguous block (many slots' queues exceed the caches; scattered per-slot
  rows made 32 streams slower than 8);
- ``cond`` (B, C, L, G): per-layer conditioning projections plus conv bias for
  the current chunk, ``noise`` (B, C, 3) uniforms in (0, 1), ``wave_out`` (B, C);
  ``t_local`` (B,) is each slot's index into its chunk.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import njit, prange

from wavekit.generate.draw import OUT_GAUSSIAN, OUT_MOL, OUT_MULAW

# numba's default OpenMP threading layer calls omp_set_num_threads when it starts its
# workers, which also resets torch's intra-op thread count (both use the same libgomp).
# The workqueue layer shares nothing with torch. It must be chosen before the first
# parallel call; NUMBA_THREADING_LAYER in the environment still wins. (Workqueue does
# not allow two Python threads to run parallel kernels at the same time: one engine
# per thread of control.)
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


@njit(cache=True, fastmath={"contract"})
def _matacc(w, x, acc):
    """acc (B, O) += x @ w with w (I, O), x (B, I): four streams share each weight load.

    Each element is accumulated in the order i = 0..I-1, one (fused)
    multiply-add per input, whichever loop runs it: the loops over i are
    unrolled by four but keep that order (``a = a + p0 + p1 + ...`` evaluates
    left to right), so a stream's result does not depend on its neighbours.
    The unrolling cuts the loads/stores of the accumulators fourfold.
    """
    n_in, n_out = w.shape
    nb = x.shape[0]
    i4 = n_in - n_in % 4
    b = 0
    while b + 4 <= nb:
        a0, a1, a2, a3 = acc[b], acc[b + 1], acc[b + 2], acc[b + 3]
        x0, x1, x2, x3 = x[b], x[b + 1], x[b + 2], x[b + 3]
        for i in range(0, i4, 4):
            wa, wb, wc, wd = w[i], w[i + 1], w[i + 2], w[i + 3]
            p0, q0, r0, s0 = x0[i], x0[i + 1], x0[i + 2], x0[i + 3]
            p1, q1, r1, s1 = x1[i], x1[i + 1], x1[i + 2], x1[i + 3]
            p2, q2, r2, s2 = x2[i], x2[i + 1], x2[i + 2], x2[i + 3]
            p3, q3, r3, s3 = x3[i], x3[i + 1], x3[i + 2], x3[i + 3]
            for o in range(n_out):
                a0[o] = a0[o] + wa[o] * p0 + wb[o] * q0 + wc[o] * r0 + wd[o] * s0
                a1[o] = a1[o] + wa[o] * p1 + wb[o] * q1 + wc[o] * r1 + wd[o] * s1
                a2[o] = a2[o] + wa[o] * p2 + wb[o] * q2 + wc[o] * r2 + wd[o] * s2
                a3[o] = a3[o] + wa[o] * p3 + wb[o] * q3 + wc[o] * r3 + wd[o] * s3
        for i in range(i4, n_in):
            wi = w[i]
            p0, p1, p2, p3 = x0[i], x1[i], x2[i], x3[i]
            for o in range(n_out):
                a0[o] = a0[o] + wi[o] * p0
                a1[o] = a1[o] + wi[o] * p1
                a2[o] = a2[o] + wi[o] * p2
                a3[o] = a3[o] + wi[o] * p3
        b += 4
    while b < nb:
        a, xb = acc[b], x[b]
        for i in range(0, i4, 4):
            wa, wb, wc, wd = w[i], w[i + 1], w[i + 2], w[i + 3]
            p0, q0, r0, s0 = xb[i], xb[i + 1], xb[i + 2], xb[i + 3]
            for o in range(n_out):
                a[o] = a[o] + wa[o] * p0 + wb[o] * q0 + wc[o] * r0 + wd[o] * s0
        for i in range(i4, n_in):
            wi = w[i]
            p0 = xb[i]
            for o in range(n_out):
                a[o] = a[o] + wi[o] * p0
        b += 1


# tanh(x) ~ x * P(x^2) / Q(x^2) on |x| <= TANH_CLAMP, a rational fit made by scripts/fit_tanh.py: max
# abs error 2.5e-8 in exact arithmetic, 4e-7 evaluated in float32 (beyond the clamp tanh is 1 to 3e-8).
# Unlike libm's exp/tanh (one scalar call per element) it is plain arithmetic, which LLVM vectorises.
TANH_CLAMP = 9.0
TANH_P = (0.9999999074603236, 0.13374952146937688, 0.0034886184356005914, 2.0503239685987468e-05, 1.3223447335178695e-08)
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


@njit(cache=True)
def _init_rows(acc, bias):
    """acc (O, B) = bias (O,) broadcast over B."""
    for o in range(acc.shape[0]):
        for b in range(acc.shape[1]):
            acc[o, b] = bias[o]


@njit(cache=True)
def _sample_categorical(logits, temperature, u, ex):
    """Index drawn by inverse CDF of softmax(logits / temperature); the first argmax when temperature == 0.

    ``ex`` is scratch space (at least len(logits)) for the exponentials, computed once.
    """
    n = logits.shape[0]
    best = 0
    for k in range(1, n):
        if logits[k] > logits[best]:
            best = k
    if temperature <= 0.0:
        return best
    m = logits[best]
    total = 0.0
    for k in range(n):
        ex[k] = math.exp((logits[k] - m) / temperature)
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
def _sample(params, out_kind, n_classes, mixtures, log_scale_min, temperature, u0, u1, u2, ex):
    """One value from a column of parameters: the numba twin of :func:`wavekit.generate.draw.draw`.

    mulaw: a class index (as float) from softmax(logits / temperature). mol:
    component from softmax(logits / temperature), then its logistic with the
    scale times ``temperature``; gaussian: mean + temperature * std * N(0, 1)
    (Box-Muller); both snapped to the ``n_classes`` bins. temperature 0 is the
    mode: argmax class, or the (snapped) mean of the most probable component.
    Draws use the given uniforms (inverse CDF), never a shared generator.
    """
    u1 = min(max(u1, 1e-6), 1.0 - 1e-6)
    if out_kind == OUT_MULAW:
        return float(_sample_categorical(params, temperature, u0, ex))
    if out_kind == OUT_MOL:
        k = _sample_categorical(params[:mixtures], temperature, u0, ex)
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


@njit(cache=True)
def _run_block(
    n_steps, pos, out_kind, n_classes, mixtures, log_scale_min, skip_scale,
    embed, w_in, b_in, dilations, qoff, w_conv, w_skip, b_skip, w_res, b_res,
    w_post1, b_post1, w_post2, b_post2, decode_table, tanh_coefs, fast_gate,
    queues, x_prev, cls_prev, cond, noise, t_local, temperature, wave_out, params_out, teacher,
):
    """Run ``n_steps`` samples for the slots of these (already sliced) state arrays."""
    h_dtype = queues.dtype
    n_slots = x_prev.shape[0]
    n_layers, n_taps, n_res, n_gate = w_conv.shape
    n_half = n_gate // 2
    n_skip = w_skip.shape[2]
    n_post = w_post1.shape[1]
    n_par = w_post2.shape[1]
    h = np.empty((n_slots, n_res), h_dtype)
    acc = np.empty((n_slots, n_gate), h_dtype)
    z = np.empty((n_slots, n_half), h_dtype)
    skip = np.empty((n_slots, n_skip), h_dtype)
    res = np.empty((n_slots, n_res), h_dtype)
    y1 = np.empty((n_slots, n_post), h_dtype)
    par = np.empty((n_slots, n_par), h_dtype)
    col = np.empty(n_par, np.float64)
    ex = np.empty(n_par, np.float64)
    consts = np.empty(5, h_dtype)
    consts[0] = math.sqrt(0.5)
    consts[1] = skip_scale
    consts[2] = 0.0
    consts[3] = 1.0
    consts[4] = 2.0
    sqrt_half, scale, zero, one, two = consts[0], consts[1], consts[2], consts[3], consts[4]
    keep_params = params_out.shape[0] > 0
    forced = teacher.shape[0] > 0
    for step in range(n_steps):
        for b in range(n_slots):
            # input projection: a row of the embedding for mu-law classes, else a scaled scalar
            if out_kind == OUT_MULAW:
                h[b] = embed[cls_prev[b]]
            else:
                consts[0] = x_prev[b]
                for r in range(n_res):
                    h[b, r] = w_in[r] * consts[0] + b_in[r]
            skip[b] = b_skip
        for layer in range(n_layers):
            d = dilations[layer]
            qlen = (n_taps - 1) * d
            for b in range(n_slots):
                acc[b] = cond[b, t_local[b] + step, layer]
            for j in range(n_taps - 1):
                # tap j sees the layer input (n_taps - 1 - j) * d samples ago
                slot = qoff[layer] + (pos - (n_taps - 1 - j) * d) % qlen
                _matacc(w_conv[layer, j], queues[slot], acc)
            _matacc(w_conv[layer, n_taps - 1], h, acc)
            if qlen > 0:
                queues[qoff[layer] + pos % qlen] = h
            _gate_rows(acc, z, tanh_coefs, fast_gate)
            _matacc(w_skip[layer], z, skip)
            for b in range(n_slots):
                res[b] = b_res[layer]
            _matacc(w_res[layer], z, res)
            for b in range(n_slots):
                for r in range(n_res):
                    h[b, r] = (h[b, r] + res[b, r]) * sqrt_half
        # post-net: relu -> 1x1 -> relu -> 1x1
        for b in range(n_slots):
            for k in range(n_skip):
                skip[b, k] = max(skip[b, k] * scale, zero)
            y1[b] = b_post1
        _matacc(w_post1, skip, y1)
        for b in range(n_slots):
            for k in range(n_post):
                y1[b, k] = max(y1[b, k], zero)
            par[b] = b_post2
        _matacc(w_post2, y1, par)
        for b in range(n_slots):
            t = t_local[b] + step
            for p in range(n_par):
                col[p] = par[b, p]
            if keep_params:
                params_out[b, t] = par[b]
            nz = noise[b, t]
            v = _sample(col, out_kind, n_classes, mixtures, log_scale_min, temperature[b], nz[0], nz[1], nz[2], ex)
            if out_kind == OUT_MULAW:
                c = int(v)
                wave_out[b, t] = decode_table[c]
                cls_prev[b] = c
                x_prev[b] = decode_table[c]
            else:
                wave_out[b, t] = v
                x_prev[b] = v
            if forced:
                x_prev[b] = teacher[b, t]
                if out_kind == OUT_MULAW:
                    cls_prev[b] = int(teacher[b, t])
        pos += 1
    return pos


@njit(cache=True, parallel=True)
def run_steps(
    n_steps, pos, out_kind, n_classes, mixtures, log_scale_min, skip_scale,
    embed, w_in, b_in, dilations, qoff, w_conv, w_skip, b_skip, w_res, b_res,
    w_post1, b_post1, w_post2, b_post2, decode_table, tanh_coefs, fast_gate,
    queues, x_prev, cls_prev, cond, noise, t_local, temperature, wave_out, params_out, teacher,
    n_blocks,
):
    """Advance every slot by ``n_steps`` samples; returns the new global step counter.

    Slots are split into ``n_blocks`` contiguous groups run in parallel (streams
    are independent, so the split never changes a result). ``x_prev`` (B,)
    previous sample value and ``cls_prev`` (B,) its mu-law class are updated in
    place. ``params_out`` (B, C, P) receives the distribution parameters of
    every step when non-empty. ``teacher`` (B, C) non-empty: feed these values
    (mu-law: class indices) instead of the samples (teacher forcing, for tests).
    """
    n_slots = x_prev.shape[0]
    n_blocks = max(1, min(n_blocks, n_slots))
    per = (n_slots + n_blocks - 1) // n_blocks
    for blk in prange(n_blocks):
        b0 = blk * per
        b1 = min(n_slots, b0 + per)
        if b0 < b1:
            pk = params_out[b0:b1] if params_out.shape[0] > 0 else params_out
            te = teacher[b0:b1] if teacher.shape[0] > 0 else teacher
            _run_block(
                n_steps, pos, out_kind, n_classes, mixtures, log_scale_min, skip_scale,
                embed, w_in, b_in, dilations, qoff, w_conv, w_skip, b_skip, w_res, b_res,
                w_post1, b_post1, w_post2, b_post2, decode_table, tanh_coefs, fast_gate,
                queues[:, b0:b1], x_prev[b0:b1], cls_prev[b0:b1], cond[b0:b1], noise[b0:b1],
                t_local[b0:b1], temperature[b0:b1], wave_out[b0:b1], pk, te,
            )
    return pos + n_steps
