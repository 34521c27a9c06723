"""The numba backend: the kernel's weights of a WaveNet (:class:`FusedWaveNet`) and the slots (:class:`NumbaSlots`).

:class:`FusedWaveNet` folds a :class:`~wavekit.wavenet.model.WaveNet`
(:func:`wavekit.wavenet.folded.fold`: weight norm removed, eval mode, skip
scale folded into the head) and keeps the folded layout as contiguous numpy
arrays, :class:`~wavekit.generate.kernel_values.Weights`, under the same names. It also turns a
request's conditioning into per-layer projections for a span of samples
(:meth:`FusedWaveNet.project`), one matrix product for the whole span.

:class:`NumbaSlots` is the engine's CPU backend: the state of every batch
slot as one :class:`~wavekit.generate.kernel_values.Slots` of numpy arrays, advanced by
:func:`kernels.run_steps` (many samples per call).
:class:`wavekit.generate.torch_step.TorchSlots` has the same methods.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from wavekit.audio.mulaw import mulaw_decode, mulaw_encode
from wavekit.core.mixture import snap_to_bins
from wavekit.generate import kernels
from wavekit.generate.draw import KINDS
from wavekit.generate.kernel_math import project_rows, tanh_coefficients
from wavekit.generate.kernel_values import Slots, Weights
from wavekit.wavenet.folded import fold
from wavekit.wavenet.source_filter import long_term_taps


class StreamInput(NamedTuple):
    """One utterance's conditioning as a backend holds it: ``cond`` the blocks' conditioning input
    (or None) and, in the source-filter mode, ``lpc`` the predictor row of every sample (length, order [+ 2: lag, gain])."""

    cond: Any
    lpc: Any = None


def _np(t: Tensor, dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(dtype, copy=False))


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Start of each of the consecutive blocks of these lengths: (L,) int64."""
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


class FusedWaveNet:
    """A WaveNet's folded weights as the kernel reads them (float32 by default, float64 when the model is).

    ``weights`` (:class:`~wavekit.generate.kernel_values.Weights`) is what :func:`kernels.run_steps` takes; ``conv_b``
    (L, G) and ``cond_w`` (C, L * G) (or None) are the conditioning projection's, applied by
    :meth:`project` ahead of the kernel. ``past_block_max=1`` turns the past-tap blocks off.
    """

    def __init__(
        self, model: torch.nn.Module, dtype: np.dtype | None = None, past_block_max: int = kernels.PAST_BLOCK_MAX
    ) -> None:
        folded = self.folded = fold(model, device="cpu")
        cfg = self.config = folded.config
        dt = self.dtype = np.dtype(dtype or (np.float64 if folded.dtype == torch.float64 else np.float32))
        K, R = cfg.kernel_size, cfg.residual_channels
        dilations = np.asarray(cfg.dilations, np.int64)
        qlen = (K - 1) * dilations
        self.queue_len = int(qlen.sum())
        # past taps precomputed in blocks (kernels module docstring)
        past_block = kernels.past_blocks(dilations, K, past_block_max)
        blocked = np.where(past_block > 1, past_block, 0)
        self.past_len = int(blocked.sum())
        zeros = np.zeros(R, dt)
        in_table, in_w, in_b, sf_embed = folded.in_table, folded.in_w, folded.in_b, folded.sf_embed
        q = cfg.quantization_channels
        self.weights = Weights(
            out_kind=KINDS[cfg.output],
            n_classes=cfg.quantization_channels if cfg.output == "mulaw" else cfg.bins,
            mixtures=cfg.mixtures if cfg.output == "mol" else 0,
            log_scale_min=float(cfg.log_scale_min),
            fast_gate=bool(dt == np.float32),  # float32: the vectorised rational tanh
            embed=_np(in_table, dt) if in_table is not None else np.zeros((1, R), dt),
            in_w=_np(in_w, dt) if in_w is not None else zeros,
            in_b=_np(in_b, dt) if in_b is not None else zeros.copy(),
            sf_embed=_np(sf_embed, dt) if sf_embed is not None else np.zeros((0, 1, R), dt),  # empty: plain mode
            sf_coef=np.full(1, folded.sf_coef, dt),
            sf_taps=long_term_taps(cfg.lpc_mel.sample_rate).astype(dt) if cfg.long_term else np.zeros(0, dt),
            dilations=dilations, qoff=_offsets(qlen), past_block=past_block, past_off=_offsets(blocked),
            conv_w=_np(folded.conv_w, dt),
            res_w=_np(folded.res_w, dt), res_b=_np(folded.res_b, dt),
            skip_w=_np(folded.skip_w, dt), skip_b=_np(folded.skip_b.sum(0), dt),  # all layers' skip biases
            head1_w=_np(folded.head1_w, dt), head1_b=_np(folded.head1_b, dt),
            head2_w=_np(folded.head2_w, dt), head2_b=_np(folded.head2_b, dt),
            decode_table=mulaw_decode(np.arange(q), q, dtype=dt) if cfg.output == "mulaw" else np.zeros(1, dt),
            tanh_coefs=tanh_coefficients(dt),
        )
        self.num_params = folded.num_params
        self.conv_b = _np(folded.conv_b, dt)  # (L, G)
        self.cond_w = None if folded.cond_w is None else _np(folded.cond_w, dt)  # (C, L * G)
        self.silence_class = int(mulaw_encode(np.zeros(1), q)[0]) if cfg.output == "mulaw" else 0
        self.lpc_order = cfg.lpc.order if cfg.source_filter else 0

    @property
    def past_block(self) -> np.ndarray:
        """(L,) every layer's past-tap block M_l (1: read the taps every step)."""
        return self.weights.past_block

    # ---- conditioning ---------------------------------------------------------------------------

    def conditioning_input(self, mel: np.ndarray | None, speaker: int | None, length: int) -> StreamInput:
        """The blocks' conditioning input for one utterance, time-major.

        mel (cin, frames) normalised, speaker id -> ``cond`` (length, cin + gin), (1, gin) for a
        speaker only, or None; the mel is upsampled for the whole utterance in one pass.
        Source-filter mode: ``lpc`` (length, order [+ 2]), every sample's predictor row from the mel.
        """
        c = None if mel is None else torch.as_tensor(np.asarray(mel)).unsqueeze(0)
        g = None if speaker is None else torch.tensor([int(speaker)], dtype=torch.long)
        cond = self.folded.conditioning_input(c, g, length)
        lpc = self.folded.lpc_rows(c, length)
        return StreamInput(
            None if cond is None else _np(cond[0].t(), self.dtype), None if lpc is None else _np(lpc[:, 0], self.dtype)
        )

    def project(self, cond_in: np.ndarray | None, start: int, stop: int, out: np.ndarray) -> None:
        """Per-layer conditioning (+ conv bias) of samples start..stop-1 into out (stop-start, L, G)."""
        L, G = self.conv_b.shape
        n = stop - start
        if cond_in is None or self.cond_w is None:
            out[:n] = self.conv_b
            return
        if cond_in.shape[0] == 1:  # a speaker only: the same projection at every step
            out[:n] = (cond_in @ self.cond_w).reshape(L, G) + self.conv_b
            return
        flat = out[:n].view()
        flat.shape = (n, L * G)  # raises rather than copy if out is not contiguous
        project_rows(np.ascontiguousarray(cond_in[start:stop]), self.cond_w, self.conv_b.reshape(-1), flat)

    # ---- slot state -----------------------------------------------------------------------------

    def slot_state(
        self, slots: int, chunk: int, *, cond_buffers: int = 1, keep_params: bool = False,
        teacher: np.ndarray | None = None,
    ) -> Slots:
        """A fresh :class:`~wavekit.generate.kernel_values.Slots` for ``slots`` streams and chunks of ``chunk`` samples.

        Every slot starts from silence with an empty past (temperature 1, uniforms 0.5);
        ``cond_buffers`` conditioning buffers per slot (2: projection ahead); ``keep_params``:
        a (slots, chunk, P) ``params`` output; ``teacher`` (slots, chunk): values to feed back.
        """
        dt, cfg = self.dtype, self.config
        L, G = self.conv_b.shape
        order, sf_rows = max(self.lpc_order, 1), slots if self.lpc_order else 0
        return Slots(
            queues=np.zeros((max(self.queue_len, 1), slots, cfg.residual_channels), dt),  # time-major
            past=np.zeros((max(self.past_len, 1), slots, G), dt),
            x_prev=np.zeros(slots),
            cls_prev=np.full(slots, self.silence_class, np.int64),
            cond=np.zeros((cond_buffers, slots, chunk, L, G), dt),
            cond_buf=np.zeros(slots, np.int64),
            noise=np.full((slots, chunk, 3), 0.5),
            t_local=np.zeros(slots, np.int64),
            temperature=np.ones(slots),
            wave=np.zeros((slots, chunk), dt),
            params=np.zeros((slots, chunk, self.num_params) if keep_params else (0, 0, 0), dt),
            teacher=np.zeros((0, 0)) if teacher is None else np.asarray(teacher, np.float64),
            sf_hist=np.zeros((sf_rows, order), dt),
            sf_last=np.zeros((sf_rows, 4), dt),
            sf_lpc=np.zeros((sf_rows, chunk, cfg.lpc_row_width if self.lpc_order else 1), dt),
            sf_ring=np.zeros((sf_rows, cfg.long_term_ring), dt),
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
        if self.lpc_order:
            teacher = np.asarray(wav, dtype=np.float64)
        elif cfg.output == "mulaw":
            teacher = mulaw_encode(np.asarray(wav), cfg.quantization_channels).astype(np.float64)
        else:
            teacher = snap_to_bins(torch.as_tensor(np.asarray(wav, dtype=np.float64)), cfg.bins).numpy()
        state = self.slot_state(1, T, keep_params=True, teacher=teacher[None])._replace(temperature=np.zeros(1))
        stream = self.conditioning_input(mel, speaker, T)
        self.project(stream.cond, 0, T, state.cond[0, 0])
        if self.lpc_order:
            state.sf_lpc[0] = stream.lpc
        kernels.run_steps(T, 0, self.weights, state, 1)
        return state.params[0]


def _first_slots(s: Slots, n: int) -> Slots:
    """Slots 0..n-1 of s as views (an empty ``params`` / ``teacher`` stays empty)."""
    return Slots(
        queues=s.queues[:, :n], past=s.past[:, :n], x_prev=s.x_prev[:n], cls_prev=s.cls_prev[:n],
        cond=s.cond[:, :n], cond_buf=s.cond_buf[:n], noise=s.noise[:n], t_local=s.t_local[:n],
        temperature=s.temperature[:n], wave=s.wave[:n], params=s.params[:n] if len(s.params) else s.params,
        teacher=s.teacher[:n] if len(s.teacher) else s.teacher,
        sf_hist=s.sf_hist[:n], sf_last=s.sf_last[:n], sf_lpc=s.sf_lpc[:n], sf_ring=s.sf_ring[:n],
    )


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
    (:func:`~wavekit.generate.kernel_math.project_rows` releases the GIL) into the slot's other buffer while the
    kernel (``nogil``) generates; the next :meth:`fill` of that slot then only
    flips the buffer. With fewer streams than cores this takes the projection
    (about a quarter of the default vocoder's arithmetic) off the critical path.
    Projections are deterministic, so a prefetched chunk equals a direct one.
    """

    def __init__(self, net: FusedWaveNet, slots: int, chunk: int, threads: int) -> None:
        self.net, self.chunk, self.threads = net, chunk, threads
        self.dtype = net.dtype
        # a second conditioning buffer only for mel-conditioned models: the only ones with projections to do ahead
        self.state = net.slot_state(slots, chunk, cond_buffers=2 if net.config.cin_channels else 1)
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
        st = self.state
        st.queues[:, b] = 0.0
        st.past[:, b] = 0.0  # = the past taps of an empty past, for the rest of the current blocks
        st.x_prev[b] = 0.0
        st.cls_prev[b] = self.net.silence_class
        if self.net.lpc_order:
            for arr in (st.sf_hist, st.sf_last, st.sf_lpc, st.sf_ring):
                arr[b] = 0.0
        st.temperature[b] = temperature

    def fill(self, b: int, lo: int, stream: StreamInput, start: int, noise: np.ndarray) -> None:
        """Chunk rows lo.. of slot b: conditioning of samples start.. and the uniforms noise (n, 3)."""
        self._join()
        st = self.state
        n = len(noise)
        cond_in = stream.cond
        if stream.lpc is not None:
            st.sf_lpc[b, lo : lo + n] = stream.lpc[start : start + n]
        ahead = self._ahead[b]
        if lo == 0 and ahead is not None and ahead[0] is cond_in and ahead[1] == start:
            st.cond_buf[b] ^= 1  # projected ahead: flip to it
        else:
            self.net.project(cond_in, start, start + n, st.cond[st.cond_buf[b], b, lo:])
        self._ahead[b] = None
        st.noise[b, lo : lo + n] = noise
        if cond_in is not None and cond_in.shape[0] > start + n:  # a mel-conditioned stream goes on
            self._queued[b] = (cond_in, start + n, min(self.chunk, cond_in.shape[0] - start - n))
        else:
            self._queued.pop(b, None)

    def move(self, src: int, dst: int) -> None:
        self._join()
        st = self.state
        for arr in (st.queues, st.past, st.cond):  # slot-minor arrays
            arr[:, dst] = arr[:, src]
        if self.net.lpc_order:
            for arr in (st.sf_hist, st.sf_last, st.sf_lpc, st.sf_ring):
                arr[dst] = arr[src]
        for arr in (st.x_prev, st.cls_prev, st.cond_buf, st.noise, st.temperature, st.wave):
            arr[dst] = arr[src]
        self._ahead[dst], self._ahead[src] = self._ahead[src], None
        queued = self._queued.pop(src, None)
        if queued is not None:
            self._queued[dst] = queued
        else:
            self._queued.pop(dst, None)

    def _project_ahead(self, jobs: list[tuple[int, np.ndarray, int, int]]) -> None:
        st = self.state
        for b, cond_in, start, n in jobs:
            self.net.project(cond_in, start, start + n, st.cond[1 - st.cond_buf[b], b])
            self._ahead[b] = (cond_in, start)

    def run(self, n: int, steps: int, pos: int, lo: int) -> None:
        """Advance slots 0..n-1 by ``steps`` samples from global step ``pos`` (chunk row ``lo``)."""
        self._join()
        if self._queued:
            jobs = [(b, *job) for b, job in self._queued.items() if b < n]
            self._queued.clear()
            self._worker = threading.Thread(target=self._project_ahead, args=(jobs,), daemon=True)
            self._worker.start()
        self.state.t_local[:n] = lo
        kernels.run_steps(steps, pos, self.net.weights, _first_slots(self.state, n), self.threads)

    def collect(self, n: int, lo: int, hi: int) -> np.ndarray:
        """The samples of chunk rows lo..hi-1 of slots 0..n-1: (n, hi - lo)."""
        return self.state.wave[:n, lo:hi]
