"""Folded WaveNet weights for the compiled step (:mod:`wavekit.generate.kernels`), and the numba slots.

:class:`FusedWaveNet` takes a :class:`~wavekit.wavenet.model.WaveNet`, lets
:class:`~wavekit.wavenet.incremental.IncrementalWaveNet` fold it (weight norm
removed, eval mode, skip scale folded into the head) and keeps the result as
contiguous numpy arrays in the kernel's ``(in, out)`` layout. It also turns a
request's conditioning into per-layer projections for a span of samples
(:meth:`project`), one matrix product for the whole span.

:class:`NumbaSlots` is the engine's CPU backend: the state of every batch
slot as numpy arrays, advanced by :func:`kernels.run_steps` (many samples per
call). :class:`wavekit.generate.torch_step.TorchSlots` has the same methods.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from wavekit.audio.mulaw import mulaw_decode, mulaw_encode
from wavekit.generate import kernels
from wavekit.generate.draw import KINDS
from wavekit.wavenet.incremental import IncrementalWaveNet


class StreamInput(NamedTuple):
    """One utterance's conditioning as a backend holds it: ``cond`` the blocks' conditioning input
    (or None) and, in the source-filter mode, ``lpc`` the predictor of every sample (length, order)."""

    cond: object
    lpc: object = None


def _np(t: Tensor, dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(dtype, copy=False))


class FusedWaveNet:
    """Numpy copy of a WaveNet's folded weights (float32 by default, float64 when the model is)."""

    def __init__(
        self, model: torch.nn.Module, dtype: np.dtype | None = None, past_block_max: int = kernels.PAST_BLOCK_MAX
    ) -> None:
        inc = IncrementalWaveNet(model, device="cpu")
        self.inc = inc
        cfg = self.config = inc.config
        dt = self.dtype = np.dtype(dtype or (np.float64 if inc.dtype == torch.float64 else np.float32))
        K, R, G, S = cfg.kernel_size, cfg.residual_channels, cfg.gate_channels, cfg.skip_channels
        self.out_kind = KINDS[cfg.output]
        self.n_classes = cfg.quantization_channels if cfg.output == "mulaw" else cfg.bins
        self.mixtures = cfg.mixtures if cfg.output == "mol" else 0
        self.log_scale_min = float(cfg.log_scale_min)
        self.dilations = np.asarray(cfg.dilations, np.int64)
        qlen = (K - 1) * self.dilations
        self.qoff = np.concatenate([[0], np.cumsum(qlen)[:-1]]).astype(np.int64)
        self.queue_len = int(qlen.sum())
        # past taps precomputed in blocks (kernels module docstring); past_block_max=1 turns it off
        self.past_block = kernels.past_blocks(self.dilations, K, past_block_max)
        blocked = np.where(self.past_block > 1, self.past_block, 0)
        self.past_off = np.concatenate([[0], np.cumsum(blocked)[:-1]]).astype(np.int64)
        self.past_len = int(blocked.sum())
        if inc.in_table is not None:
            self.embed, self.w_in, self.b_in = _np(inc.in_table, dt), np.zeros(R, dt), np.zeros(R, dt)
        elif inc.in_w is None:  # source-filter mode: its own input (sf_weights below)
            self.embed, self.w_in, self.b_in = np.zeros((1, R), dt), np.zeros(R, dt), np.zeros(R, dt)
        else:
            self.embed, self.w_in, self.b_in = np.zeros((1, R), dt), _np(inc.in_w, dt), _np(inc.in_b, dt)
        self.w_conv = np.stack([_np(w.reshape(K, R, G), dt) for w in inc.conv_w])  # (L, K, R, G) oldest tap first
        # residual and skip 1x1s; a layer without residual output (the last) gets zero residual weights
        res_w, skip_w, res_b, skip_b = [], [], [], []
        for w, b in zip(inc.rs_w, inc.rs_b):
            has_res = w.shape[1] == R + S
            res_w.append(_np(w[:, :R], dt) if has_res else np.zeros((G // 2, R), dt))
            res_b.append(_np(b[:R], dt) if has_res else np.zeros(R, dt))
            skip_w.append(_np(w[:, -S:], dt))
            skip_b.append(b[-S:])
        self.w_res, self.b_res = np.stack(res_w), np.stack(res_b)  # (L, G/2, R), (L, R)
        self.w_skip = np.stack(skip_w)  # (L, G/2, S)
        self.b_skip = _np(torch.stack(skip_b).sum(0), dt)  # all layers' skip biases
        self.w_post1, self.b_post1 = _np(inc.h1_w, dt), _np(inc.h1_b, dt)
        self.w_post2, self.b_post2 = _np(inc.h2_w, dt), _np(inc.h2_b, dt)
        self.num_params = self.w_post2.shape[1]
        self.conv_b = _np(inc.conv_b, dt)  # (L, G)
        self.cond_w = None if inc.cond_w is None else _np(inc.cond_w.t(), dt)  # (cin + gin, L * G)
        self.tanh_coefs = kernels.tanh_coefficients(dt)  # float32: the vectorised rational tanh
        q = cfg.quantization_channels
        self.decode_table = mulaw_decode(np.arange(q), q, dtype=dt) if cfg.output == "mulaw" else np.zeros(1, dt)
        self.silence_class = int(mulaw_encode(np.zeros(1), q)[0]) if cfg.output == "mulaw" else 0
        # source-filter mode (kernels module docstring); empty arrays in the plain mode
        self.lpc_order = cfg.lpc.order if cfg.source_filter else 0
        embed = _np(inc.sf_embed, dt) if inc.sf_embed is not None else np.zeros((0, 1, R), dt)
        self.sf_weights = (embed, np.full(1, inc.sf_coef, dt))

    # ---- conditioning ---------------------------------------------------------------------------

    def conditioning_input(self, mel: np.ndarray | None, speaker: int | None, length: int) -> StreamInput:
        """The blocks' conditioning input for one utterance, time-major.

        mel (cin, frames) normalised, speaker id -> ``cond`` (length, cin + gin), (1, gin) for a
        speaker only, or None; the mel is upsampled for the whole utterance in one pass.
        Source-filter mode: ``lpc`` (length, order), every sample's predictor from the mel.
        """
        model = self.inc.model
        c = None if mel is None else torch.as_tensor(np.asarray(mel)).unsqueeze(0)
        g = None if speaker is None else torch.tensor([int(speaker)], dtype=torch.long)
        with torch.no_grad():
            cond = model.conditioning(c, g, length)
            lpc = self.inc.lpc_rows(c, length)
        return StreamInput(
            None if cond is None else _np(cond[0].t(), self.dtype), None if lpc is None else _np(lpc[:, 0], self.dtype)
        )

    def sf_state(self, slots: int, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Zeroed source-filter state (hist, last, lpc) for ``slots`` slots (kernels module docstring)."""
        n = slots if self.lpc_order else 0
        o = max(self.lpc_order, 1)
        return (np.zeros((n, o), self.dtype), np.zeros((n, 2), self.dtype), np.zeros((n, chunk, o), self.dtype))

    def project(self, cond_in: np.ndarray | None, start: int, stop: int, out: np.ndarray) -> None:
        """Per-layer conditioning (+ conv bias) of samples start..stop-1 into out (stop-start, L, G)."""
        L, G = self.conv_b.shape
        n = stop - start
        if cond_in is None:
            out[:n] = self.conv_b
            return
        if cond_in.shape[0] == 1:  # a speaker only: the same projection at every step
            out[:n] = (cond_in @ self.cond_w).reshape(L, G) + self.conv_b
            return
        flat = out[:n].view()
        flat.shape = (n, L * G)  # raises rather than copy if out is not contiguous
        kernels.project_rows(np.ascontiguousarray(cond_in[start:stop]), self.cond_w, self.conv_b.reshape(-1), flat)

    def weight_args(self) -> tuple:
        """The weight arguments of :func:`kernels.run_steps`, in order."""
        return (
            self.out_kind, self.n_classes, self.mixtures, self.log_scale_min, 1.0,
            self.embed, self.w_in, self.b_in, self.dilations, self.qoff, self.past_block, self.past_off,
            self.w_conv, self.w_skip, self.b_skip,
            self.w_res, self.b_res, self.w_post1, self.b_post1, self.w_post2, self.b_post2, self.decode_table,
            self.tanh_coefs, self.dtype == np.float32,
        )

    def teacher_forced(
        self, wav: np.ndarray, mel: np.ndarray | None = None, speaker: int | None = None
    ) -> np.ndarray:
        """Parameters (T, P) of every position when the true waveform wav (T,) is fed back.

        What the compiled step computes, position by position; equals
        ``model(wav[None], c, g)[0].T`` up to rounding (used to verify the kernel).
        """
        T = len(wav)
        cfg = self.config
        L, G = self.conv_b.shape
        dt = self.dtype
        cond = np.zeros((1, 1, T, L, G), dt)
        stream = self.conditioning_input(mel, speaker, T)
        self.project(stream.cond, 0, T, cond[0, 0])
        sf_state = self.sf_state(1, T)
        if self.lpc_order:
            sf_state[2][0] = stream.lpc
            teacher = np.asarray(wav, dtype=np.float64)
        elif cfg.output == "mulaw":
            teacher = mulaw_encode(np.asarray(wav), cfg.quantization_channels).astype(np.float64)
        else:
            teacher = torch.as_tensor(np.asarray(wav, dtype=np.float64))
            from wavekit.core.mixture import snap_to_bins

            teacher = snap_to_bins(teacher, cfg.bins).numpy()
        params = np.zeros((1, T, self.num_params), dt)
        kernels.run_steps(
            T, 0, *self.weight_args(),
            np.zeros((max(self.queue_len, 1), 1, cfg.residual_channels), dt),
            np.zeros((max(self.past_len, 1), 1, cfg.gate_channels), dt), np.zeros(1),
            np.full(1, self.silence_class, np.int64), cond, np.zeros(1, np.int64), np.full((1, T, 3), 0.5),
            np.zeros(1, np.int64),
            np.zeros(1), np.zeros((1, T), dt), params, teacher[None], 1, self.sf_weights, sf_state,
        )
        return params[0]


class NumbaSlots:
    """The engine's slot state as numpy arrays, advanced by the compiled kernel (CPU).

    ``slots`` streams, conditioning and noise for ``chunk`` samples per slot,
    ``threads`` slot groups run in parallel. Method contract (shared with
    :class:`~wavekit.generate.torch_step.TorchSlots`): ``conditioning_input``,
    ``admit(b, temperature)``, ``fill(b, lo, cond_in, start, noise)``,
    ``move(src, dst)``, ``run(n, steps, pos, lo)``, ``collect(n, lo, hi)``.

    Projection ahead: every slot has two conditioning buffers. When a chunk of
    a mel-conditioned stream is filled, the projection of its next chunk is
    queued, and :meth:`run` computes the queue on a background thread
    (:func:`kernels.project_rows` releases the GIL) into the slot's other buffer while the
    kernel (``nogil``) generates; the next :meth:`fill` of that slot then only
    flips the buffer. With fewer streams than cores this takes the projection
    (about a quarter of the default vocoder's arithmetic) off the critical path.
    Projections are deterministic, so a prefetched chunk equals a direct one.
    """

    def __init__(self, net: FusedWaveNet, slots: int, chunk: int, threads: int) -> None:
        self.net, self.chunk, self.threads = net, chunk, threads
        dt = self.dtype = net.dtype
        L, G = net.conv_b.shape
        self.queues = np.zeros((max(net.queue_len, 1), slots, net.config.residual_channels), dt)  # time-major
        self.past = np.zeros((max(net.past_len, 1), slots, G), dt)
        self.x_prev = np.zeros(slots)
        self.cls_prev = np.zeros(slots, np.int64)
        self.sf = net.sf_state(slots, chunk)  # source-filter state (empty in the plain mode)
        # a second buffer only for mel-conditioned models: the only ones with projections to do ahead
        self.cond = np.zeros((2 if net.config.cin_channels else 1, slots, chunk, L, G), dt)
        self.cond_buf = np.zeros(slots, np.int64)  # slot b's current buffer
        self.noise = np.full((slots, chunk, 3), 0.5)
        self.temperature = np.ones(slots)
        self.wave = np.zeros((slots, chunk), dt)
        self._no_params = np.zeros((0, 0, 0), dt)
        self._no_teacher = np.zeros((0, 0))
        self._ahead: list[tuple[np.ndarray, int] | None] = [None] * slots  # (cond_in, start) in the other buffer
        self._queued: dict[int, tuple[np.ndarray, int, int]] = {}  # slot -> (cond_in, start, n) to project ahead
        self._worker: threading.Thread | None = None

    def conditioning_input(self, mel: np.ndarray | None, speaker: int | None, length: int) -> StreamInput:
        return self.net.conditioning_input(mel, speaker, length)

    def _join(self) -> None:
        """Wait for the background projections (before touching slot state they may write)."""
        if self._worker is not None:
            self._worker.join()
            self._worker = None

    def admit(self, b: int, temperature: float) -> None:
        """Slot b starts a new stream from silence with an empty past."""
        self._join()
        self._ahead[b] = None
        self._queued.pop(b, None)
        self.queues[:, b] = 0.0
        self.past[:, b] = 0.0  # = the past taps of an empty past, for the rest of the current blocks
        self.x_prev[b] = 0.0
        self.cls_prev[b] = self.net.silence_class
        if self.net.lpc_order:
            for arr in self.sf:
                arr[b] = 0.0
        self.temperature[b] = temperature

    def fill(self, b: int, lo: int, stream: StreamInput, start: int, noise: np.ndarray) -> None:
        """Chunk rows lo.. of slot b: conditioning of samples start.. and the uniforms noise (n, 3)."""
        self._join()
        n = len(noise)
        cond_in = stream.cond
        if stream.lpc is not None:
            self.sf[2][b, lo : lo + n] = stream.lpc[start : start + n]
        ahead = self._ahead[b]
        if lo == 0 and ahead is not None and ahead[0] is cond_in and ahead[1] == start:
            self.cond_buf[b] ^= 1  # projected ahead: flip to it
        else:
            self.net.project(cond_in, start, start + n, self.cond[self.cond_buf[b], b, lo:])
        self._ahead[b] = None
        self.noise[b, lo : lo + n] = noise
        if cond_in is not None and cond_in.shape[0] > start + n:  # a mel-conditioned stream goes on
            self._queued[b] = (cond_in, start + n, min(self.chunk, cond_in.shape[0] - start - n))
        else:
            self._queued.pop(b, None)

    def move(self, src: int, dst: int) -> None:
        self._join()
        self.queues[:, dst] = self.queues[:, src]
        self.past[:, dst] = self.past[:, src]
        self.cond[:, dst] = self.cond[:, src]
        if self.net.lpc_order:
            for arr in self.sf:
                arr[dst] = arr[src]
        for arr in (self.x_prev, self.cls_prev, self.cond_buf, self.noise, self.temperature, self.wave):
            arr[dst] = arr[src]
        self._ahead[dst], self._ahead[src] = self._ahead[src], None
        queued = self._queued.pop(src, None)
        if queued is not None:
            self._queued[dst] = queued
        else:
            self._queued.pop(dst, None)

    def _project_ahead(self, jobs: list[tuple[int, np.ndarray, int, int]]) -> None:
        for b, cond_in, start, n in jobs:
            self.net.project(cond_in, start, start + n, self.cond[1 - self.cond_buf[b], b])
            self._ahead[b] = (cond_in, start)

    def run(self, n: int, steps: int, pos: int, lo: int) -> None:
        """Advance slots 0..n-1 by ``steps`` samples from global step ``pos`` (chunk row ``lo``)."""
        self._join()
        if self._queued:
            jobs = [(b, *job) for b, job in self._queued.items() if b < n]
            self._queued.clear()
            self._worker = threading.Thread(target=self._project_ahead, args=(jobs,), daemon=True)
            self._worker.start()
        kernels.run_steps(
            steps, pos, *self.net.weight_args(),
            self.queues[:, :n], self.past[:, :n], self.x_prev[:n], self.cls_prev[:n], self.cond[:, :n],
            self.cond_buf[:n], self.noise[:n], np.full(n, lo, np.int64), self.temperature[:n], self.wave[:n],
            self._no_params, self._no_teacher, self.threads, self.net.sf_weights,
            tuple(arr[:n] for arr in self.sf),
        )

    def collect(self, n: int, lo: int, hi: int) -> np.ndarray:
        """The samples of chunk rows lo..hi-1 of slots 0..n-1: (n, hi - lo)."""
        return self.wave[:n, lo:hi]
