"""The fused per-sample WaveNet step, compiled with numba.

One call of :func:`run_steps` advances every batch slot by ``n_steps``
samples entirely in compiled code (no per-operation Python overhead). It
takes two named values: :class:`Weights`, the folded WaveNet
(:class:`wavekit.wavenet.folded.FoldedWaveNet`, the same names and ``(in, out)``
layout, so that every product is a run of contiguous
``acc[out] += w[in, out] * x[in]`` updates) as numpy arrays in the kernel's
dtype, and :class:`Slots`, the state of the slots. A step is
:func:`_input_step`, :func:`_layer_step` per layer, :func:`_head_step` and
:func:`_draw_step`, working in a block's own :class:`Scratch` buffers.

Exactness across batch compositions: every output element is accumulated in
the same order (inputs ``0..in-1``, one fused multiply-add each: the matrix
products allow only LLVM's ``contract`` flag, no reassociation), whatever the
batch size and whichever loop nest runs. So a stream gives bit-identical
samples alone or among other streams (tested). BLAS (``np.dot``) is not used
for the products: it picks kernels (and summation orders) by matrix size.

Shapes (R residual, G gate = 2H, S skip, S2 post-net hidden, P parameters,
L layers, K kernel taps, B slots, C chunk length):

- ``h`` (B, R) residual input of the current layer (:class:`Scratch`); ``queues`` (sum_l Q_l, B, R)
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
  uniforms in (0, 1), ``wave`` (B, C);
  ``t_local`` (B,) is each slot's index into its chunk.

Source-filter mode (:mod:`wavekit.wavenet.source_filter`): ``Weights.sf_embed``
(3, Q, R) non-empty and ``Weights.sf_coef`` (1,); ``Slots.sf_hist`` (B, order),
``Slots.sf_last`` (B, 4), ``Slots.sf_lpc`` (B, C, order [+ 2: lag, gain]), ``Slots.sf_ring`` (B, N):
s'_{t-1-k} newest first, ``[s_{t-1}, p_t (+ l_t), l_t, steps taken]``, the predictor of every chunk
row, and the past LPC excitation (long-term predictor, ``Weights.sf_taps``). ``x_prev`` then holds
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
from wavekit.generate.kernel_math import _gate_rows, _matacc

# Weights is re-exported: numba cache indexes written before the values moved to kernel_values
# name it here, and must unpickle to be found stale and recompiled.
from wavekit.generate.kernel_values import Scratch, Slots, Weights  # noqa: F401
from wavekit.generate.source_filter_steps import sf_input as _sf_input
from wavekit.generate.source_filter_steps import sf_output as _sf_output

# numba's default OpenMP threading layer calls omp_set_num_threads when it starts its
# workers, which also resets torch's intra-op thread count (both use the same libgomp).
# The workqueue layer shares nothing with torch. It must be chosen before the first
# parallel call; NUMBA_THREADING_LAYER in the environment still wins. (Workqueue does
# not allow two Python threads to run parallel kernels at the same time: one engine
# per thread of control.)
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]


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
def _scratch(w, s):
    """The :class:`Scratch` of the slot group s (its dtype and slot count)."""
    dt = s.queues.dtype
    n_slots = s.x_prev.shape[0]
    n_res, n_gate = w.conv_w.shape[2], w.conv_w.shape[3]
    n_skip, n_post, n_par = w.skip_w.shape[2], w.head1_w.shape[1], w.head2_w.shape[1]
    h3, acc3 = np.empty((1, n_slots, n_res), dt), np.empty((1, n_slots, n_gate), dt)
    z3, skip3 = np.empty((1, n_slots, n_gate // 2), dt), np.empty((1, n_slots, n_skip), dt)
    res3, hidden3 = np.empty((1, n_slots, n_res), dt), np.empty((1, n_slots, n_post), dt)
    par3 = np.empty((1, n_slots, n_par), dt)
    past = np.empty(s.past.shape, dt)
    past[:] = s.past
    return Scratch(
        h3, acc3, z3, skip3, res3, hidden3, par3, h3[0], acc3[0], z3[0], skip3[0], res3[0], hidden3[0], par3[0],
        past, np.empty(n_par, np.float64), np.empty(n_par, np.float64), np.empty(1, dt),
    )


@njit(cache=True)
def _constants(dt):
    """sqrt(1/2) (the residual scale) and zero in the kernel's dtype dt."""
    c = np.empty(2, dt)
    c[0] = math.sqrt(0.5)
    c[1] = 0.0
    return c[0], c[1]


@njit(cache=True, inline="always")
def _input_step(w, s, sc, step):
    """Every slot's network input ``sc.h`` for chunk row t_local + step; the skip sum starts at its biases."""
    h, skip = sc.h, sc.skip
    n_res = h.shape[1]
    source_filter = w.sf_embed.shape[0] > 0
    for b in range(h.shape[0]):
        skip[b] = w.skip_b
        if source_filter:
            _sf_input(b, w, s, s.t_local[b] + step, h)
            continue
        # a row of the embedding for mu-law classes, else a scaled scalar. Rows of shared
        # arrays are copied element by element, not through views: a view updates its
        # parent's reference count, which the threads would fight over.
        if w.out_kind == OUT_MULAW:
            c = s.cls_prev[b]
            for r in range(n_res):
                h[b, r] = w.embed[c, r]
        else:
            sc.x_in[0] = s.x_prev[b]
            for r in range(n_res):
                h[b, r] = w.in_w[r] * sc.x_in[0] + w.in_b[r]


@njit(cache=True, inline="always")
def _layer_step(w, s, sc, layer, step, pos, sqrt_half, zero):
    """One dilated layer for every slot: taps + conditioning, gate, skip sum, residual; pushes h."""
    h, acc, res = sc.h, sc.acc, sc.res
    n_slots, n_res = h.shape
    n_taps, n_gate = w.conv_w.shape[1], w.conv_w.shape[3]
    d = w.dilations[layer]
    qlen = (n_taps - 1) * d
    m = w.past_block[layer]
    qoff = w.qoff[layer]
    for b in range(n_slots):
        cb, t = s.cond_buf[b], s.t_local[b] + step
        for g in range(n_gate):
            acc[b, g] = s.cond[cb, b, t, layer, g]
    # tap j sees the layer input (n_taps - 1 - j) * d samples ago
    if m > 1:
        # past taps of the m steps from the block start pos - pos % m, computed at once
        # (their inputs lie >= d >= m steps back): each weight load serves m * slots rows
        pv = sc.past[w.past_off[layer] : w.past_off[layer] + m]
        if pos % m == 0:
            pv[:] = zero
            for j in range(n_taps - 1):
                q0 = qoff + (pos - (n_taps - 1 - j) * d) % qlen  # m | q0 - qoff: no wrap
                _matacc(w.conv_w[layer, j], s.queues[q0 : q0 + m], pv)
        i = pos % m
        for b in range(n_slots):
            for g in range(n_gate):
                acc[b, g] = acc[b, g] + pv[i, b, g]
    else:
        for j in range(n_taps - 1):
            slot = qoff + (pos - (n_taps - 1 - j) * d) % qlen
            _matacc(w.conv_w[layer, j], s.queues[slot : slot + 1], sc.acc3)
    _matacc(w.conv_w[layer, n_taps - 1], sc.h3, sc.acc3)
    if qlen > 0:
        slot = qoff + pos % qlen
        for b in range(n_slots):
            for r in range(n_res):
                s.queues[slot, b, r] = h[b, r]
    _gate_rows(acc, sc.z, w.tanh_coefs, w.fast_gate)
    _matacc(w.skip_w[layer], sc.z3, sc.skip3)
    for b in range(n_slots):
        for r in range(n_res):
            res[b, r] = w.res_b[layer, r]
    _matacc(w.res_w[layer], sc.z3, sc.res3)
    for b in range(n_slots):
        for r in range(n_res):
            h[b, r] = (h[b, r] + res[b, r]) * sqrt_half


@njit(cache=True, inline="always")
def _head_step(w, sc, zero):
    """The post-net on the skip sum: relu -> 1x1 -> relu -> 1x1, parameters into ``sc.par``."""
    skip, hidden, par = sc.skip, sc.hidden, sc.par
    n_skip, n_post = skip.shape[1], hidden.shape[1]
    for b in range(skip.shape[0]):
        for k in range(n_skip):
            skip[b, k] = max(skip[b, k], zero)
        hidden[b] = w.head1_b
    _matacc(w.head1_w, sc.skip3, sc.hidden3)
    for b in range(skip.shape[0]):
        for k in range(n_post):
            hidden[b, k] = max(hidden[b, k], zero)
        par[b] = w.head2_b
    _matacc(w.head2_w, sc.hidden3, sc.par3)


@njit(cache=True, inline="always")
def _draw_step(w, s, sc, step):
    """Every slot's value from ``sc.par`` and its uniforms: the sample out and the next input."""
    par, col = sc.par, sc.col
    n_par = par.shape[1]
    keep_params = s.params.shape[0] > 0
    forced = s.teacher.shape[0] > 0
    source_filter = w.sf_embed.shape[0] > 0
    for b in range(par.shape[0]):
        t = s.t_local[b] + step
        for p in range(n_par):
            col[p] = par[b, p]
        if keep_params:
            for p in range(n_par):
                s.params[b, t, p] = par[b, p]
        v = sample_column(col, w.out_kind, w.n_classes, w.mixtures, w.log_scale_min, s.temperature[b],
                          s.noise[b, t, 0], s.noise[b, t, 1], s.noise[b, t, 2], sc.ex, w.fast_gate)
        if source_filter:
            s.x_prev[b] = _sf_output(b, w.decode_table[int(v)], w, s)
            s.wave[b, t] = s.x_prev[b]
        elif w.out_kind == OUT_MULAW:
            c = int(v)
            s.wave[b, t] = w.decode_table[c]
            s.cls_prev[b] = c
            s.x_prev[b] = w.decode_table[c]
        else:
            s.wave[b, t] = v
            s.x_prev[b] = v
        if forced:
            s.x_prev[b] = s.teacher[b, t]
            if w.out_kind == OUT_MULAW and not source_filter:
                s.cls_prev[b] = int(s.teacher[b, t])


@njit(cache=True)
def _run_block(n_steps, pos, w, s):
    """Run ``n_steps`` samples for the slots of the (already sliced) state s; returns the new step counter."""
    sc = _scratch(w, s)
    sqrt_half, zero = _constants(s.queues.dtype)
    n_layers = w.conv_w.shape[0]
    for step in range(n_steps):
        _input_step(w, s, sc, step)
        for layer in range(n_layers):
            _layer_step(w, s, sc, layer, step, pos, sqrt_half, zero)
        _head_step(w, sc, zero)
        _draw_step(w, s, sc, step)
        pos += 1
    s.past[:] = sc.past
    return pos


@njit(cache=True)
def _slot_group(s, b0, b1):
    """Slots b0..b1-1 of s: views of every array (empty ``params`` / ``teacher`` stay empty)."""
    params = s.params[b0:b1] if s.params.shape[0] > 0 else s.params
    teacher = s.teacher[b0:b1] if s.teacher.shape[0] > 0 else s.teacher
    return Slots(
        s.queues[:, b0:b1], s.past[:, b0:b1], s.x_prev[b0:b1], s.cls_prev[b0:b1], s.cond[:, b0:b1],
        s.cond_buf[b0:b1], s.noise[b0:b1], s.t_local[b0:b1], s.temperature[b0:b1], s.wave[b0:b1],
        params, teacher, s.sf_hist[b0:b1], s.sf_last[b0:b1], s.sf_lpc[b0:b1], s.sf_ring[b0:b1],
    )


@njit(cache=True, parallel=True, nogil=True)
def run_steps(n_steps, pos, weights, slots, n_blocks):
    """Advance every slot of ``slots`` (:class:`Slots`) by ``n_steps`` samples with ``weights``
    (:class:`Weights`) from the global step ``pos``; returns the new global step counter.

    Slots are split into ``n_blocks`` contiguous groups run in parallel (streams
    are independent, so the split never changes a result). Every array of
    ``slots`` is updated in place (the :class:`Slots` docstring says which).
    """
    n_slots = slots.x_prev.shape[0]
    n_blocks = max(1, min(n_blocks, n_slots))
    per = (n_slots + n_blocks - 1) // n_blocks
    for blk in prange(n_blocks):
        b0 = blk * per
        b1 = min(n_slots, b0 + per)
        if b0 < b1:
            _run_block(n_steps, pos, weights, _slot_group(slots, b0, b1))
    return pos + n_steps
