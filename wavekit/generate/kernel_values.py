"""The named values the compiled kernel (:mod:`wavekit.generate.kernels`) reads and writes.

:class:`Weights` (the folded WaveNet, read only), :class:`Slots` (the state of the batch slots,
advanced in place) and :class:`Scratch` (one slot group's working buffers): NamedTuples of numpy
arrays, which numba passes to compiled functions by name. Shapes are in the kernels module
docstring; :mod:`wavekit.generate.fused` builds them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Weights(NamedTuple):
    """The folded WaveNet as the kernel reads it: numpy arrays in the kernel's dtype, by name.

    The names and layouts of :class:`wavekit.wavenet.folded.FoldedWaveNet` (module docstring
    of :mod:`wavekit.wavenet.folded`), plus what the kernel derives from them once:

    - output: ``out_kind`` (:data:`~wavekit.generate.draw.KINDS`), ``n_classes``, ``mixtures``,
      ``log_scale_min``; ``fast_gate`` (float32: the vectorised rational tanh);
    - input: ``embed`` (Q, R) mu-law classes' rows ((1, R) zeros otherwise), ``in_w``, ``in_b`` (R,)
      the float input's 1x1 (zeros for mu-law); ``sf_embed`` (3, Q, R) (``(0, 1, R)``: plain
      mode) and ``sf_coef`` (1,) the source-filter input, ``sf_taps`` (2D + 1,) the long-term
      predictor's low-pass (empty without one);
    - layers: ``dilations``, ``qoff`` (queue row offsets), ``past_block``, ``past_off`` (L,) int64;
      ``conv_w`` (L, K, R, G); ``res_w`` (L, H, R), ``res_b`` (L, R); ``skip_w`` (L, H, S);
      ``skip_b`` (S,) the sum of every layer's skip bias (added once);
    - head: ``head1_w`` (S, S2), ``head1_b`` (S2,), ``head2_w`` (S2, P), ``head2_b`` (P,);
    - tables: ``decode_table`` (Q,) mu-law class -> sample, ``tanh_coefs``
      (:func:`tanh_coefficients`).
    """

    out_kind: int
    n_classes: int
    mixtures: int
    log_scale_min: float
    fast_gate: bool
    embed: np.ndarray
    in_w: np.ndarray
    in_b: np.ndarray
    sf_embed: np.ndarray
    sf_coef: np.ndarray
    sf_taps: np.ndarray
    dilations: np.ndarray
    qoff: np.ndarray
    past_block: np.ndarray
    past_off: np.ndarray
    conv_w: np.ndarray
    res_w: np.ndarray
    res_b: np.ndarray
    skip_w: np.ndarray
    skip_b: np.ndarray
    head1_w: np.ndarray
    head1_b: np.ndarray
    head2_w: np.ndarray
    head2_b: np.ndarray
    decode_table: np.ndarray
    tanh_coefs: np.ndarray


class Slots(NamedTuple):
    """The state of B batch slots (module docstring for the shapes), read and written in place.

    ``queues`` (sum_l Q_l, B, R), ``past`` (sum_l M_l, B, G) in the kernel's dtype;
    ``x_prev`` (B,) float64 the previous sample value, ``cls_prev`` (B,) int64 its mu-law
    class; ``cond`` (2, B, C, L, G) and ``cond_buf`` (B,) int64; ``noise`` (B, C, 3) float64;
    ``t_local`` (B,) int64; ``temperature`` (B,) float64; ``wave`` (B, C) the samples out;
    ``params`` (B, C, P) receives the distribution parameters of every step, or is empty
    (shape (0, 0, 0)); ``teacher`` (B, C) float64 non-empty: feed these values (mu-law: class
    indices) instead of the samples (teacher forcing, for tests), else (0, 0);
    ``sf_hist`` (B, order), ``sf_last`` (B, 4), ``sf_lpc`` (B, C, order [+ 2: lag, gain]),
    ``sf_ring`` (B, N) the source-filter state (no rows in the plain mode; ``sf_ring`` (B, 0)
    without a long-term predictor).
    """

    queues: np.ndarray
    past: np.ndarray
    x_prev: np.ndarray
    cls_prev: np.ndarray
    cond: np.ndarray
    cond_buf: np.ndarray
    noise: np.ndarray
    t_local: np.ndarray
    temperature: np.ndarray
    wave: np.ndarray
    params: np.ndarray
    teacher: np.ndarray
    sf_hist: np.ndarray
    sf_last: np.ndarray
    sf_lpc: np.ndarray
    sf_ring: np.ndarray


class Scratch(NamedTuple):
    """One slot group's working buffers, allocated per :func:`run_steps` call and never shared.

    The products' operands are (1, B, n) (``h3`` ...) with the (B, n) rows (``h`` ...) as views
    for the elementwise work: ``h``, ``res`` (B, R), ``acc`` (B, G), ``z`` (B, H), ``skip`` (B, S),
    ``hidden`` (B, S2), ``par`` (B, P); ``past`` a contiguous copy of the group's past-tap blocks
    (a slice of ``Slots.past`` has unknown strides, which keeps LLVM from vectorising the
    products into it), written back at the end; ``col``, ``ex`` (P,) float64 the drawing's
    column and its exponentials; ``x_in`` (1,) the float input cast to the kernel's dtype.
    """

    h3: np.ndarray
    acc3: np.ndarray
    z3: np.ndarray
    skip3: np.ndarray
    res3: np.ndarray
    hidden3: np.ndarray
    par3: np.ndarray
    h: np.ndarray
    acc: np.ndarray
    z: np.ndarray
    skip: np.ndarray
    res: np.ndarray
    hidden: np.ndarray
    par: np.ndarray
    past: np.ndarray
    col: np.ndarray
    ex: np.ndarray
    x_in: np.ndarray
