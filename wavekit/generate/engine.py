"""GenerationEngine: queued, continuously batched WaveNet generation.

Requests (mel, speaker, temperature, seed, length) wait in a FIFO queue. A
fixed number of batch slots advance together one sample-step at a time.
When a stream finishes, its waveform is handed back at once and the first
waiting request takes its slot (continuous batching).

Backends (one engine, one sampling convention), each a
:class:`~wavekit.generate.backend.SlotBackend` imported only when chosen
(:func:`make_backend`):

- ``"numba"`` (CPU): the compiled fused kernel (:mod:`wavekit.generate.kernels`),
  many steps per call, slot groups on parallel threads;
- ``"torch"``: :class:`~wavekit.generate.torch_step.TorchSlots`, the torch
  step of :class:`~wavekit.wavenet.incremental.IncrementalWaveNet` on the
  model's device over static buffers, captured once as a CUDA graph and
  replayed on CUDA, run eagerly on CPU; a tensor mel stays on the device;
- ``"auto"``: numba on CPU, torch with CUDA graphs on CUDA.

Checking: :meth:`GenerationEngine.submit` checks a :class:`Request` once
(:func:`check_request`) and trusts a :class:`CheckedRequest`, which the
callers that have checked their inputs already hand over (the vocode plan,
:func:`generate_tensor`).

Per-layer conditioning projections are produced in chunks of ``chunk``
samples on a grid shared by all slots (one matrix product per stream and
chunk, from the mel upsampled once per utterance at admission), so memory
stays at ``slots * chunk * layers * gate`` values whatever the length.

Determinism: each stream draws its uniforms from its own
``numpy.random.default_rng(seed)`` (3 per sample, in order), turned into
values by the same inverse-CDF formulas on every backend
(:mod:`wavekit.generate.draw`), and no stream's arithmetic involves another
stream. So a stream's output does not depend on what joins or leaves around
it (bit-identical on the numba backend), and the same seed gives the same
samples on every backend up to float rounding. Active streams are kept in
slots ``0..n-1`` (a finished slot is refilled by the last active stream).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from wavekit.generate.backend import BACKENDS, GenerativeWaveNet, SlotBackend, as_module, resolve_backend
from wavekit.wavenet.config import WaveNetConfig

__all__ = ["BACKENDS", "CheckedRequest", "GenerationEngine", "Request", "check_request", "generate_tensor",
           "make_backend", "stream_seeds"]


@dataclass(eq=False)
class Request:
    """One utterance to generate.

    mel: normalised log-mel (cin_channels, frames), numpy or a tensor (the torch backend keeps
    a tensor on its device), or None; speaker: id or None; length: samples (default
    frames * hop with a mel; required without); temperature >= 0 (0 = mode); seed of this
    stream's own random numbers; key: anything, handed back with the result.
    """

    mel: np.ndarray | torch.Tensor | None = None
    speaker: int | None = None
    length: int | None = None
    temperature: float = 1.0
    seed: int = 0
    key: Any = None


@dataclass(frozen=True, eq=False)
class CheckedRequest:
    """A request whose inputs fit the model: the engine takes it as it is.

    Made by :func:`check_request`, or by a caller that has checked the same
    things at its own boundary: mel (cin_channels, frames) finite (or None for a
    model without a mel), ``1 <= length <= frames * hop``, temperature >= 0,
    speaker None or an id the model has.
    """

    mel: np.ndarray | torch.Tensor | None
    speaker: int | None
    length: int
    temperature: float
    seed: int
    key: Any = None


def check_request(cfg: WaveNetConfig, request: Request) -> CheckedRequest:
    """``request`` checked against the model's config ``cfg`` (ValueError), with its length resolved."""
    if not request.temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {request.temperature}")
    length = request.length
    mel = request.mel if request.mel is None or isinstance(request.mel, torch.Tensor) else np.asarray(request.mel)
    if mel is not None:
        if mel.ndim != 2 or mel.shape[0] != cfg.cin_channels:
            raise ValueError(f"mel must be ({cfg.cin_channels}, frames), got {tuple(mel.shape)}")
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
    return CheckedRequest(mel, request.speaker, length, request.temperature, request.seed, request.key)


def make_backend(
    model: GenerativeWaveNet,
    backend: str,
    *,
    slots: int,
    chunk: int,
    device: torch.device,
    graphs: bool,
    threads: int,
    dtype: np.dtype | None,
) -> SlotBackend[Any]:
    """The chosen backend (``"numba"`` or ``"torch"``, already checked) for ``slots`` slots of ``chunk`` rows.

    numba: ``threads`` slot groups in parallel, float type ``dtype`` (default the model's);
    torch: on ``device``, the step captured as a CUDA graph when ``graphs``. Imported here, lazily.
    """
    if backend == "numba":
        from wavekit.generate.fused import FusedWaveNet, NumbaSlots

        return NumbaSlots(FusedWaveNet(as_module(model), dtype), slots, chunk, threads)
    from wavekit.generate.torch_step import TorchSlots

    return TorchSlots(model, slots, chunk, device, graphs)


@dataclass(eq=False)
class _Stream:
    key: Any
    length: int
    temperature: float
    cond_in: Any  # the backend's conditioning input (SlotBackend.conditioning_input)
    rng: np.random.Generator
    out: np.ndarray
    done: int = 0


def _model_device(model: GenerativeWaveNet) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


class GenerationEngine:
    """Continuous-batching generator over a :class:`~wavekit.wavenet.model.WaveNet`.

    ``slots``: streams advanced together; ``backend``: "auto" | "numba" |
    "torch" (see the module docstring); ``device``: where the torch backend
    runs (default: the model's device); ``graphs``: capture the torch step as
    a CUDA graph (default: on CUDA); ``chunk``: samples of conditioning
    projected at a time; ``threads``: numba slot groups run in parallel
    (default: torch's thread count); ``dtype``: numba's float type (default:
    the model's). ``submit`` requests, then iterate :meth:`run` to receive
    ``(key, waveform)`` pairs as streams complete.
    """

    def __init__(
        self,
        model: GenerativeWaveNet,
        slots: int = 8,
        *,
        backend: str = "auto",
        device: torch.device | str | None = None,
        graphs: bool | None = None,
        chunk: int = 512,
        threads: int | None = None,
        dtype: np.dtype | None = None,
    ) -> None:
        if slots < 1 or chunk < 1:
            raise ValueError(f"slots and chunk must be >= 1, got {slots}, {chunk}")
        device = torch.device(device) if device is not None else _model_device(model)
        backend = resolve_backend(backend, device)
        self.backend, self.device = backend, device
        self.graphs = bool(graphs if graphs is not None else device.type == "cuda") and backend == "torch"
        if graphs and not self.graphs:
            raise ValueError("CUDA graphs need backend='torch'")
        if dtype is not None and backend != "numba":
            raise ValueError("dtype applies to the numba backend; the torch backend runs in the model's dtype")
        self.config = model.config
        self.slots, self.chunk = slots, chunk
        self.threads = max(1, threads or torch.get_num_threads())
        self.impl: SlotBackend[Any] = make_backend(
            model, backend, slots=slots, chunk=chunk, device=device, graphs=self.graphs, threads=self.threads,
            dtype=dtype,
        )
        self.pending: collections.deque[_Stream] = collections.deque()
        self._ids = itertools.count()
        self.active: list[_Stream] = []
        self.pos = 0
        self.samples_done = 0

    # ---- requests -------------------------------------------------------------------------------

    def submit(self, request: Request | CheckedRequest) -> Any:
        """Queue a request; returns its key (a running number when ``request.key`` is None).

        A :class:`Request` is checked (:func:`check_request`, ValueError); a
        :class:`CheckedRequest` is taken as it is. The backend computes the
        utterance's conditioning input now (:meth:`SlotBackend.conditioning_input`).
        """
        if isinstance(request, Request):
            checked = check_request(self.config, request)
            if request.key is None:
                request.key = next(self._ids)
            key = request.key
        else:
            checked = request
            key = checked.key if checked.key is not None else next(self._ids)
        length = checked.length
        cond_in = self.impl.conditioning_input(checked.mel, checked.speaker, length)
        rng = np.random.default_rng(checked.seed)
        self.pending.append(_Stream(key, length, checked.temperature, cond_in, rng, np.empty(length, self.impl.dtype)))
        return key

    @property
    def busy(self) -> bool:
        return bool(self.active or self.pending)

    # ---- slots ----------------------------------------------------------------------------------

    def _fill(self, b: int, s: _Stream, lo: int) -> None:
        """Load the chunk rows lo..chunk-1 of slot b with stream s's next samples."""
        n = min(self.chunk - lo, s.length - s.done)
        self.impl.fill(b, lo, s.cond_in, s.done, s.rng.random((n, 3)))

    def _admit(self) -> None:
        lo = self.pos % self.chunk
        while self.pending and len(self.active) < self.slots:
            s = self.pending.popleft()
            b = len(self.active)
            self.active.append(s)
            self.impl.admit(b, s.temperature)
            self._fill(b, s, lo)

    def _collect(self, lo: int, hi: int) -> list[_Stream]:
        """Copy chunk rows lo..hi-1 out to the streams; return (and unslot) the finished ones."""
        finished = []
        wave = self.impl.collect(len(self.active), lo, hi)
        for b, s in enumerate(self.active):
            n = min(hi - lo, s.length - s.done)
            s.out[s.done : s.done + n] = wave[b, :n]
            s.done += n
            if s.done == s.length:
                finished.append(s)
        for s in finished:
            b = self.active.index(s)
            last = len(self.active) - 1
            if b != last:
                self.impl.move(last, b)
                self.active[b] = self.active[last]
            self.active.pop()
        return finished

    # ---- the loop -------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> Iterator[tuple[Any, np.ndarray]]:
        """Generate every queued request; yields (key, waveform (length,)) as each completes.

        Waveforms are float32, or float64 for a float64 model (numba: ``dtype``).

        ``progress(n)`` is called with the number of samples produced by each kernel call.
        """
        self._admit()
        while self.active:
            n = len(self.active)
            lo = self.pos % self.chunk
            steps = min(self.chunk - lo, min(s.length - s.done for s in self.active))
            self.impl.run(n, steps, self.pos, lo)
            self.pos += steps
            self.samples_done += steps * n
            if progress is not None:
                progress(steps * n)
            for s in self._collect(lo, lo + steps):
                yield s.key, s.out
            if self.pos % self.chunk == 0:
                for b, s in enumerate(self.active):
                    self._fill(b, s, 0)
            self._admit()

    def generate_all(self, requests: Sequence[Request]) -> list[np.ndarray]:
        """Submit ``requests`` and return their waveforms in the same order."""
        keys = [self.submit(r) for r in requests]
        results = dict(self.run())
        return [results[k] for k in keys]


def stream_seeds(seed: int | Sequence[int] | None, count: int) -> list[int]:
    """Per-stream seeds: seed + b for an int, the list itself, or (None) seed + b from a base drawn
    from torch's global generator (so ``torch.manual_seed`` makes the run repeatable)."""
    if seed is None:
        seed = int(torch.randint(0, 2**31 - 1, ()).item())
    seeds = [int(seed) + b for b in range(count)] if isinstance(seed, (int, np.integer)) else [int(s) for s in seed]
    if len(seeds) != count:
        raise ValueError(f"got {len(seeds)} seeds for {count} streams")
    return seeds


@torch.no_grad()
def generate_tensor(
    model: GenerativeWaveNet,
    length: int | None = None,
    c: torch.Tensor | None = None,
    g: torch.Tensor | None = None,
    temperature: float = 1.0,
    seed: int | Sequence[int] | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    *,
    backend: str = "auto",
    chunk: int = 512,
) -> torch.Tensor:
    """``WaveNet.generate`` through the engine: (B, T) waveforms in the model's dtype, on its device.

    length defaults to frames * hop of c (and must not exceed it); without c it
    is required. B comes from c, else g, else ``batch_size`` (default 1); all B
    streams run in B slots. seed: int (stream b uses seed + b, so a stream
    matches its solo run), one seed per stream, or None (see :func:`stream_seeds`).

    Every argument is checked here, before the engine is built, and the engine
    gets :class:`CheckedRequest` s. On the torch backend c stays on its device.
    """
    cfg = model.config
    if c is not None:
        B, frames = c.shape[0], c.shape[-1]
        if cfg.cin_channels:
            max_len = frames * cfg.hop_length
            length = max_len if length is None else length
            if length > max_len:
                raise ValueError(f"length {length} exceeds the {frames} mel frames x hop {cfg.hop_length} = {max_len}")
    elif g is not None:
        B = g.shape[0]
    else:
        B = batch_size or 1
    if length is None or length < 1:
        raise ValueError(f"length must be a positive number of samples, got {length}")
    if batch_size is not None and batch_size != B:
        raise ValueError(f"batch_size {batch_size} does not match the conditioning batch {B}")
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    model.check_conditioning(c, g)  # clear errors before anything is built or estimated
    seeds = stream_seeds(seed, B)
    device = _model_device(model)
    engine = GenerationEngine(model, slots=B, backend=backend, device=device, chunk=chunk)
    on_device = engine.backend == "torch"
    for b in range(B):
        mel: np.ndarray | torch.Tensor | None = None
        if c is not None:
            mel = c[b].detach() if on_device else c[b].detach().cpu().numpy()
        speaker = None if g is None else int(g[b])
        engine.submit(CheckedRequest(mel, speaker, length, temperature, seeds[b], key=b))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=B * length, desc="generate", unit="sample", unit_scale=True)
    try:
        results = dict(engine.run(progress=None if bar is None else bar.update))
    finally:
        if bar is not None:
            bar.close()
    dtype = next(model.parameters()).dtype
    return torch.from_numpy(np.stack([results[b] for b in range(B)])).to(device=device, dtype=dtype)
