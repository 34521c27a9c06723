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
- ``past`` (sum_l M_l, B, G): for a layer with past-tap block ``M_l = past_block[l] > 1``
  (a power of two dividing its dilation, see :func:`past_blocks`), the summed
  contributions of its K - 1 past taps for the M_l steps of the current block,
  computed at the block's first step as one product over M_l * B rows. Those
  inputs are at least ``dilation >= M_l`` steps old, so they are all known; the
  weights are then loaded once per M_l steps instead of every step (a single
  stream's step is limited by streaming the weights from L3, not by arithmetic).
  ``past_off`` (L,) are the layers' row offsets; a layer with ``M_l == 1`` reads
  its queue taps every step;
- ``cond`` (2, B, C, L, G): per-layer conditioning projections plus conv bias for
  a chunk, in two buffers per slot: slot b's current chunk is ``cond[cond_buf[b], b]``
  (the engine projects the next chunk into the other buffer meanwhile), ``noise`` (B, C, 3)
  uniforms in (0, 1), ``wave_out`` (B, C);
  ``t_local`` (B,) is each slot's index into its chunk.

Source-filter mode (:mod:`wavekit.wavenet.source_filter`), two grouped arguments:
``sf_weights = (embed (3, Q, R), coef (1,))`` (empty ``embed`` = plain mode) and
``sf_state = (hist (B, order), last (B, 2), lpc (B, C, order))``: s'_{t-1-k} newest
first, ``[s_{t-1}, p_t]``, and the predictor of every chunk row. ``x_prev`` then holds
the previous waveform sample; :func:`~wavekit.generate.source_filter_steps.sf_input` builds the input from it
and :func:`~wavekit.generate.source_filter_steps.sf_output` turns the drawn
excitation class into the next sample.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import njit, prange

from wavekit.generate.draw import OUT_MULAW
from wavekit.generate.draw_kernel import sample_column
from wavekit.generate.source_filter_steps import sf_input as _sf_input
from wavekit.generate.source_filter_steps import sf_output as _sf_output

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


# Largest past-tap block: 8 steps cut the weights streamed per sample of the default vocoder
# by a third; larger blocks gain little (few layers have dilations >= 16) and grow ``past``.
PAST_BLOCK_MAX = 8


def past_blocks(dilations: np.ndarray, kernel_size: int, block_max: int = PAST_BLOCK_MAX) -> np.ndarray:
    """Per-layer past-tap block M_l: the largest power of two <= block_max dividing the dilation (1: none).

    M_l must divide the dilation so that a block's queue rows never wrap around the ring.
    """
    out = np.ones(len(dilations), np.int64)
    if kernel_size > 1:
        for i, d in enumerate(dilations):
            while out[i] * 2 <= block_max and d % (out[i] * 2) == 0:
                out[i] *= 2
    return out


@njit(cache=True)
def _run_block(
    n_steps, pos, out_kind, n_classes, mixtures, log_scale_min, skip_scale,
    embed, w_in, b_in, dilations, qoff, past_block, past_off, w_conv, w_skip, b_skip, w_res, b_res,
    w_post1, b_post1, w_post2, b_post2, decode_table, tanh_coefs, fast_gate,
    queues, past, x_prev, cls_prev, cond, cond_buf, noise, t_local, temperature, wave_out, params_out, teacher,
    sf_weights, sf_state,
):
    """Run ``n_steps`` samples for the slots of these (already sliced) state arrays."""
    h_dtype = queues.dtype
    n_slots = x_prev.shape[0]
    n_layers, n_taps, n_res, n_gate = w_conv.shape
    n_half = n_gate // 2
    n_skip = w_skip.shape[2]
    n_post = w_post1.shape[1]
    n_par = w_post2.shape[1]
    # (1, slots, C) buffers for the products, h = h3[0] etc. for the elementwise work
    h3, acc3 = np.empty((1, n_slots, n_res), h_dtype), np.empty((1, n_slots, n_gate), h_dtype)
    z3, skip3 = np.empty((1, n_slots, n_half), h_dtype), np.empty((1, n_slots, n_skip), h_dtype)
    res3, y13 = np.empty((1, n_slots, n_res), h_dtype), np.empty((1, n_slots, n_post), h_dtype)
    par3 = np.empty((1, n_slots, n_par), h_dtype)
    h, acc, z, skip, res, y1, par = h3[0], acc3[0], z3[0], skip3[0], res3[0], y13[0], par3[0]
    # a contiguous copy of this group's past-tap blocks (a slice of ``past`` has unknown strides,
    # which keeps LLVM from vectorising the products into it); written back at the end
    past_c = np.empty(past.shape, h_dtype)
    past_c[:] = past
    col = np.empty(n_par, np.float64)
    ex = np.empty(n_par, np.float64)
    consts = np.empty(5, h_dtype)
    consts[0] = math.sqrt(0.5)
    consts[1] = skip_scale
    consts[2] = 0.0
    consts[3] = 1.0
    consts[4] = 2.0
    sqrt_half, scale, zero = consts[0], consts[1], consts[2]
    keep_params = params_out.shape[0] > 0
    forced = teacher.shape[0] > 0
    source_filter = sf_weights[0].shape[0] > 0
    for step in range(n_steps):
        for b in range(n_slots):
            skip[b] = b_skip
            if source_filter:
                _sf_input(b, x_prev, sf_weights, sf_state, t_local[b] + step, h)
                continue
            # input projection: a row of the embedding for mu-law classes, else a scaled scalar.
            # Rows of shared arrays are copied element by element, not through views: a view
            # updates its parent's reference count, which the threads would fight over.
            if out_kind == OUT_MULAW:
                c = cls_prev[b]
                for r in range(n_res):
                    h[b, r] = embed[c, r]
            else:
                consts[0] = x_prev[b]
                for r in range(n_res):
                    h[b, r] = w_in[r] * consts[0] + b_in[r]
        for layer in range(n_layers):
            d = dilations[layer]
            qlen = (n_taps - 1) * d
            m = past_block[layer]
            for b in range(n_slots):
                cb, t = cond_buf[b], t_local[b] + step
                for g in range(n_gate):
                    acc[b, g] = cond[cb, b, t, layer, g]
            # tap j sees the layer input (n_taps - 1 - j) * d samples ago
            if m > 1:
                # past taps of the m steps from the block start pos - pos % m, computed at once
                # (their inputs lie >= d >= m steps back): each weight load serves m * slots rows
                pv = past_c[past_off[layer] : past_off[layer] + m]
                if pos % m == 0:
                    pv[:] = zero
                    for j in range(n_taps - 1):
                        q0 = qoff[layer] + (pos - (n_taps - 1 - j) * d) % qlen  # m | q0 - qoff: no wrap
                        _matacc(w_conv[layer, j], queues[q0 : q0 + m], pv)
                i = pos % m
                for b in range(n_slots):
                    for g in range(n_gate):
                        acc[b, g] = acc[b, g] + pv[i, b, g]
            else:
                for j in range(n_taps - 1):
                    slot = qoff[layer] + (pos - (n_taps - 1 - j) * d) % qlen
                    _matacc(w_conv[layer, j], queues[slot : slot + 1], acc3)
            _matacc(w_conv[layer, n_taps - 1], h3, acc3)
            if qlen > 0:
                slot = qoff[layer] + pos % qlen
                for b in range(n_slots):
                    for r in range(n_res):
                        queues[slot, b, r] = h[b, r]
            _gate_rows(acc, z, tanh_coefs, fast_gate)
            _matacc(w_skip[layer], z3, skip3)
            for b in range(n_slots):
                for r in range(n_res):
                    res[b, r] = b_res[layer, r]
            _matacc(w_res[layer], z3, res3)
            for b in range(n_slots):
                for r in range(n_res):
                    h[b, r] = (h[b, r] + res[b, r]) * sqrt_half
        # post-net: relu -> 1x1 -> relu -> 1x1
        for b in range(n_slots):
            for k in range(n_skip):
                skip[b, k] = max(skip[b, k] * scale, zero)
            y1[b] = b_post1
        _matacc(w_post1, skip3, y13)
        for b in range(n_slots):
            for k in range(n_post):
                y1[b, k] = max(y1[b, k], zero)
            par[b] = b_post2
        _matacc(w_post2, y13, par3)
        for b in range(n_slots):
            t = t_local[b] + step
            for p in range(n_par):
                col[p] = par[b, p]
            if keep_params:
                for p in range(n_par):
                    params_out[b, t, p] = par[b, p]
            v = sample_column(col, out_kind, n_classes, mixtures, log_scale_min, temperature[b],
                              noise[b, t, 0], noise[b, t, 1], noise[b, t, 2], ex, fast_gate)
            if source_filter:
                x_prev[b] = _sf_output(b, decode_table[int(v)], sf_weights, sf_state)
                wave_out[b, t] = x_prev[b]
            elif out_kind == OUT_MULAW:
                c = int(v)
                wave_out[b, t] = decode_table[c]
                cls_prev[b] = c
                x_prev[b] = decode_table[c]
            else:
                wave_out[b, t] = v
                x_prev[b] = v
            if forced:
                x_prev[b] = teacher[b, t]
                if out_kind == OUT_MULAW and not source_filter:
                    cls_prev[b] = int(teacher[b, t])
        pos += 1
    past[:] = past_c
    return pos


@njit(cache=True, parallel=True, nogil=True)
def run_steps(
    n_steps, pos, out_kind, n_classes, mixtures, log_scale_min, skip_scale,
    embed, w_in, b_in, dilations, qoff, past_block, past_off, w_conv, w_skip, b_skip, w_res, b_res,
    w_post1, b_post1, w_post2, b_post2, decode_table, tanh_coefs, fast_gate,
    queues, past, x_prev, cls_prev, cond, cond_buf, noise, t_local, temperature, wave_out, params_out, teacher,
    n_blocks, sf_weights, sf_state,
):
    """Advance every slot by ``n_steps`` samples; returns the new global step counter.

    Slots are split into ``n_blocks`` contiguous groups run in parallel (streams
    are independent, so the split never changes a result). ``x_prev`` (B,)
    previous sample value and ``cls_prev`` (B,) its mu-law class are updated in
    place. ``params_out`` (B, C, P) receives the distribution parameters of
    every step when non-empty. ``teacher`` (B, C) non-empty: feed these values
    (mu-law: class indices) instead of the samples (teacher forcing, for tests).
    ``sf_weights`` / ``sf_state``: the source-filter mode's values (module docstring).
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
            sf_st = (sf_state[0][b0:b1], sf_state[1][b0:b1], sf_state[2][b0:b1])
            _run_block(
                n_steps, pos, out_kind, n_classes, mixtures, log_scale_min, skip_scale,
                embed, w_in, b_in, dilations, qoff, past_block, past_off, w_conv, w_skip, b_skip, w_res, b_res,
                w_post1, b_post1, w_post2, b_post2, decode_table, tanh_coefs, fast_gate,
                queues[:, b0:b1], past[:, b0:b1], x_prev[b0:b1], cls_prev[b0:b1], cond[:, b0:b1], cond_buf[b0:b1],
                noise[b0:b1], t_local[b0:b1], temperature[b0:b1], wave_out[b0:b1], pk, te,
                sf_weights, sf_st,
            )
    return pos + n_steps
