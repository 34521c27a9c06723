"""GenerationEngine: queued, continuously batched WaveNet generation.

Requests (mel, speaker, temperature, seed, length) wait in a FIFO queue. A
fixed number of batch slots advance together one sample-step at a time in
the compiled kernel (:mod:`wavekit.generate.kernels`, many steps per call).
When a stream finishes, its waveform is handed back at once and the first
waiting request takes its slot (continuous batching).

Per-layer conditioning projections are produced in chunks of ``chunk``
samples on a grid shared by all slots (one matrix product per stream and
chunk, from the mel upsampled once per utterance at admission), so memory
stays at ``slots * chunk * layers * gate`` values whatever the length.

Determinism: each stream draws its uniforms from its own
``numpy.random.Generator(seed)`` (3 per sample, in order) and the kernel's
arithmetic for a stream never involves another stream, so a stream's output
is bit-identical to running it alone with the same seed, whatever joins or
leaves around it. Active streams are kept in slots ``0..n-1`` (a finished
slot is refilled by the last active stream), so no work is spent on empty
slots.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from wavekit.generate import kernels
from wavekit.generate.fused import FusedWaveNet


@dataclass(eq=False)
class Request:
    """One utterance to generate.

    mel: normalised log-mel (cin_channels, frames) or None; speaker: id or None;
    length: samples (default frames * hop with a mel; required without);
    temperature >= 0 (0 = mode); seed of this stream's own random numbers;
    key: anything, handed back with the result.
    """

    mel: np.ndarray | None = None
    speaker: int | None = None
    length: int | None = None
    temperature: float = 1.0
    seed: int = 0
    key: Any = None


@dataclass(eq=False)
class _Stream:
    request: Request
    length: int
    cond_in: np.ndarray | None
    rng: np.random.Generator
    out: np.ndarray
    done: int = 0
    extra: dict = field(default_factory=dict)


class GenerationEngine:
    """Continuous-batching generator over a :class:`~wavekit.wavenet.model.WaveNet`.

    ``slots``: streams advanced together; ``chunk``: samples of conditioning
    projected at a time; ``threads``: slot groups run in parallel (default:
    torch's thread count). ``submit`` requests, then iterate :meth:`run` to
    receive ``(key, waveform)`` pairs as streams complete.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        slots: int = 8,
        *,
        chunk: int = 512,
        threads: int | None = None,
        dtype: np.dtype | None = None,
        keep_params: bool = False,
    ) -> None:
        if slots < 1 or chunk < 1:
            raise ValueError(f"slots and chunk must be >= 1, got {slots}, {chunk}")
        self.net = FusedWaveNet(model, dtype)
        self.config = self.net.config
        self.slots, self.chunk = slots, chunk
        self.threads = max(1, threads or torch.get_num_threads())
        self.keep_params = keep_params
        self.stream_params: dict[Any, np.ndarray] = {}  # key -> (length, P) when keep_params
        self.pending: collections.deque[_Stream] = collections.deque()
        self._ids = itertools.count()
        net, dt = self.net, self.net.dtype
        L, G, R = net.conv_b.shape[0], net.conv_b.shape[1], self.config.residual_channels
        self.queues = np.zeros((slots, max(net.queue_len, 1), R), dt)
        self.x_prev = np.zeros(slots)
        self.cls_prev = np.zeros(slots, np.int64)
        self.cond = np.zeros((slots, chunk, L, G), dt)
        self.noise = np.full((slots, chunk, 3), 0.5)
        self.temperature = np.ones(slots)
        self.wave = np.zeros((slots, chunk), dt)
        self.params = np.zeros((slots, chunk, net.num_params) if keep_params else (0, 0, 0), dt)
        self.teacher = np.zeros((0, 0))
        self.active: list[_Stream] = []
        self.pos = 0
        self.samples_done = 0

    # ---- requests -------------------------------------------------------------------------------

    def submit(self, request: Request) -> Any:
        """Queue a request; returns its key (a running number when ``request.key`` is None)."""
        cfg = self.config
        if not request.temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {request.temperature}")
        length = request.length
        if request.mel is not None:
            mel = np.asarray(request.mel)
            if mel.ndim != 2 or mel.shape[0] != cfg.cin_channels:
                raise ValueError(f"mel must be ({cfg.cin_channels}, frames), got {mel.shape}")
            max_len = mel.shape[1] * cfg.hop_length
            length = max_len if length is None else length
            if length > max_len:
                raise ValueError(f"length {length} exceeds the mel's {mel.shape[1]} frames x hop {cfg.hop_length}")
        elif cfg.cin_channels:
            raise ValueError(
                f"this vocoder is conditioned on {cfg.cin_channels} mel bands: it cannot generate without a mel"
            )
        if length is None or length < 1:
            raise ValueError(f"length must be a positive number of samples, got {length}")
        if request.key is None:
            request.key = next(self._ids)
        cond_in = self.net.conditioning_input(request.mel, request.speaker, length)
        stream = _Stream(request, length, cond_in, np.random.default_rng(request.seed), np.empty(length, self.net.dtype))
        if self.keep_params:
            stream.extra["params"] = np.empty((length, self.net.num_params), self.net.dtype)
        self.pending.append(stream)
        return request.key

    @property
    def busy(self) -> bool:
        return bool(self.active or self.pending)

    # ---- slots ----------------------------------------------------------------------------------

    def _fill(self, b: int, s: _Stream, lo: int) -> None:
        """Load the chunk rows lo..chunk-1 of slot b with stream s's next samples."""
        n = min(self.chunk - lo, s.length - s.done)
        self.net.project(s.cond_in, s.done, s.done + n, self.cond[b, lo:])
        self.noise[b, lo : lo + n] = s.rng.random((n, 3))

    def _admit(self) -> None:
        lo = self.pos % self.chunk
        while self.pending and len(self.active) < self.slots:
            s = self.pending.popleft()
            b = len(self.active)
            self.active.append(s)
            self.queues[b] = 0.0
            self.x_prev[b] = 0.0
            self.cls_prev[b] = self.net.silence_class
            self.temperature[b] = s.request.temperature
            self._fill(b, s, lo)

    def _move(self, src: int, dst: int) -> None:
        for arr in (self.queues, self.x_prev, self.cls_prev, self.cond, self.noise, self.temperature, self.wave):
            arr[dst] = arr[src]
        if self.keep_params:
            self.params[dst] = self.params[src]

    def _collect(self, lo: int, hi: int) -> list[_Stream]:
        """Copy chunk rows lo..hi-1 out to the streams; return (and unslot) the finished ones."""
        finished = []
        for b, s in enumerate(self.active):
            n = min(hi - lo, s.length - s.done)
            s.out[s.done : s.done + n] = self.wave[b, lo : lo + n]
            if self.keep_params:
                s.extra["params"][s.done : s.done + n] = self.params[b, lo : lo + n]
            s.done += n
            if s.done == s.length:
                finished.append(s)
        for s in finished:
            b = self.active.index(s)
            last = len(self.active) - 1
            if b != last:
                self._move(last, b)
                self.active[b] = self.active[last]
            self.active.pop()
        return finished

    # ---- the loop -------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> Iterator[tuple[Any, np.ndarray]]:
        """Generate every queued request; yields (key, waveform float32 (length,)) as each completes.

        ``progress(n)`` is called with the number of samples produced by each kernel call.
        """
        self._admit()
        while self.active:
            n = len(self.active)
            lo = self.pos % self.chunk
            steps = min(self.chunk - lo, min(s.length - s.done for s in self.active))
            t_local = np.full(n, lo, np.int64)
            self.pos = kernels.run_steps(
                steps, self.pos, *self.net.weight_args(),
                self.queues[:n], self.x_prev[:n], self.cls_prev[:n], self.cond[:n], self.noise[:n],
                t_local, self.temperature[:n], self.wave[:n], self.params[:n] if self.keep_params else self.params,
                self.teacher, self.threads,
            )
            self.samples_done += steps * n
            if progress is not None:
                progress(steps * n)
            for s in self._collect(lo, lo + steps):
                yield s.request.key, self._result(s)
            if self.pos % self.chunk == 0:
                for b, s in enumerate(self.active):
                    self._fill(b, s, 0)
            self._admit()

    def _result(self, s: _Stream) -> np.ndarray:
        if self.keep_params:
            self.stream_params[s.request.key] = s.extra["params"]
        return s.out.astype(np.float32, copy=False)

    def generate_all(self, requests: Sequence[Request]) -> list[np.ndarray]:
        """Submit ``requests`` and return their waveforms in the same order."""
        keys = [self.submit(r) for r in requests]
        results = dict(self.run())
        return [results[k] for k in keys]
