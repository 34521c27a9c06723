"""Source-filter WaveNet (``WaveNetConfig.excitation = "lpc"``): linear prediction carries the envelope.

After ExcitNet (Song et al. 2019), LP-WaveNet (Hwang et al. 2019) and LPCNet
(Valin & Skoglund 2019). With ``s`` the waveform and ``c`` the coefficient of
``config.lpc.preemphasis``:

- pre-emphasis ``s'_t = s_t - c s_{t-1}`` (``s_{-1} = 0``), so the quantisation
  noise of the model, white in ``s'``, is shaped under the speech spectrum;
- ``a`` (frames, order): the predictor of every mel frame, computed from the
  mel itself (:func:`wavekit.audio.lpc.lpc_from_mel`; the normalised mel is
  first turned back into the raw log-mel with the statistics in the buffers
  ``mel_mean`` / ``mel_std``, which the data pipeline sets and the checkpoint
  carries). Sample t uses the predictor of the frame that holds it, ``t // hop``;
- prediction ``p_t = -sum_{k=1..order} a_k s'_{t-k}`` (zeros before the start)
  and excitation ``e_t = s'_t - p_t``;
- the network's input at position t is ``(s'_{t-1}, p_t, e_{t-1})`` (LPCNet's),
  each through a piecewise-linear embedding over the mu-law axis (a table of
  ``quantization_channels`` rows, interpolated between the two rows around
  the value's companded position: as rich as a class embedding, but
  continuous, so that every dependency is exact); the three are summed.
  The tables start as a smooth function of the value (:func:`embedding_init`),
  as LPCNet's do: each column a random linear ramp over the mu-law axis plus
  a little noise. Rows of values that training rarely visits (loud excitation)
  would otherwise keep independent random vectors, so that neighbouring values
  mean unrelated things to the network and a generated past that strays there
  meets an arbitrary response;
- the output is the mu-law categorical over ``e_t``; generation draws ``e_t``,
  forms ``s'_t = p_t + e_t`` and de-emphasises ``s_t = s'_t + c s_{t-1}``
  (clipped to [-1, 1]), all from its own past output.

With ``pitch_harmonics = H > 0`` every layer is also conditioned on a voiced
sine source, ``v_t sin(2 pi k phi_t)`` and ``v_t cos(2 pi k phi_t)`` for k = 1..H
(:func:`sine_source`): 2H sample-rate channels of the local conditioning,
between the upsampled mel and the speaker vector, so each gate sees it. ``v_t`` is the voicing (0..1) and
``phi_t`` the phase of the fundamental in cycles. In training both come from
the recorded speech (the data pipeline's ``phase`` and ``voicing``,
:mod:`wavekit.audio.pitch`): the sine is locked to the speech's own glottal
cycle, so the network learns where in the cycle the excitation pulses fall.
In generation (and whenever they are not given) they come from the mel
itself (:meth:`SourceFilter.mel_source`: an F0 track estimated from the mel,
the phase integrated from it), and the network puts its pulses on that free
running cycle: harmonics at the mel's pitch. The source is a function of the
mel alone, so it changes no dependency on the waveform.

With ``long_term = beta > 0`` a long-term (pitch) predictor joins the linear
one, as in CELP codecs but on the low band only: with ``e_t = s'_t - p_t`` the
LPC excitation, ``T_t`` the pitch lag in samples and ``v_t`` the voicing,

    ``l_t = beta v_t sum_{j=0..2D} h_j e_{t - T_t + D - j}``

where ``h`` (:func:`long_term_taps`, ``2D + 1 = 15`` taps) is a linear-phase
low-pass at 1 kHz centred on ``e_{t - T_t}``. The predictor becomes ``p_t + l_t``
and the network models ``r_t = e_t - l_t`` (its input ``e_{t-1}`` is then
``r_{t-1}``; the embedded prediction stays the LPC's ``p_t``); generation
draws ``r_t`` and forms ``e_t = r_t + l_t``, ``s'_t = p_t + e_t``, from its own
past output. In voiced frames this is a comb filter on the low band of the
excitation, so that band repeats itself every pitch period: the harmonics of
the mel's pitch below 1 kHz (where speech's periodicity lives: the mel-LPC
excitation of real speech correlates 0.82 with itself one period back below
1 kHz, 0.23 over the whole band) however little of it the network has learnt.
The lag comes from the phase, ``T_t = round(1 / mean dphi)`` over a hop
(:func:`pitch_lags`), and phase and voicing come as for the sine source
(recorded speech in training, the mel in generation). In generation the lag
and ``beta v_t`` ride in the per-sample predictor rows as two more columns
(:meth:`SourceFilter.generation_rows`). The receptive field grows by the
longest lag plus ``D``.

The mel stays the only conditioning: TTS models predict plain mels. The
receptive field grows by ``order + 1`` samples (``e_{t-1}`` sees
``s'_{t-1-order}``, which sees ``s_{t-2-order}``).

The same definitions one sample at a time, on a stream's own past output, are in
:mod:`wavekit.wavenet.source_filter_incremental`.
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from wavekit.audio.lpc import lpc_from_mel
from wavekit.audio.mulaw import mulaw_decode, mulaw_encode
from wavekit.audio.pitch import f0_from_mel, free_running_phase, voicing_per_sample
from wavekit.wavenet.config import LONG_TERM_HALF

N_INPUTS = 3  # s'_{t-1}, p_t, e_{t-1}


def mulaw_position(x: Tensor, channels: int) -> Tensor:
    """Continuous mu-law position of x (clipped to [-1, 1]) on the class axis 0 .. channels - 1."""
    mu = channels - 1
    x = x.clamp(-1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return (y + 1.0) * (0.5 * mu)


def interpolated_embedding(table: Tensor, x: Tensor) -> Tensor:
    """table (Q, R), x (...) floats -> (..., R): rows k and k + 1 around x's mu-law position, mixed linearly.

    The rows are looked up with ``F.embedding``, not ``table[k]``: on the CPU the backward of plain
    indexing adds into the table's gradient from several threads at once (atomic float adds, so the
    sum's order, and its last bits, change from run to run); embedding's backward is deterministic,
    and it measured faster (a source-filter demo step on 2 threads: 72 against 87 ms)."""
    Q = table.shape[0]
    u = mulaw_position(x, Q)
    k = u.floor().clamp(max=Q - 2)
    f = (u - k).unsqueeze(-1).to(table.dtype)
    k = k.long()
    return F.embedding(k, table) * (1.0 - f) + F.embedding(k + 1, table) * f


EMBED_NOISE = 0.1  # the random part of the initial embedding, relative to its ramp


def embedding_init(inputs: int, classes: int, width: int) -> Tensor:
    """Initial embedding tables (inputs, classes, width): column j of table i is ``w_ij * sqrt(3) * y_k``
    plus ``EMBED_NOISE`` times unit noise, y_k in [-1, 1] the companded value of class k and w_ij ~ N(0, 1);
    scaled by 1 / sqrt(inputs), so that the sum of the inputs' embeddings has about unit variance."""
    y = torch.linspace(-1.0, 1.0, classes)
    ramp = math.sqrt(3.0) * y[None, :, None] * torch.randn(inputs, 1, width)
    return (ramp + EMBED_NOISE * torch.randn(inputs, classes, width)) / math.sqrt(inputs)


def sine_source(phase: Tensor, voicing: Tensor, harmonics: int) -> Tensor:
    """phase (B, T) in cycles, voicing (B, T) in [0, 1] -> (B, T, 2H): v sin(2 pi k phi), then v cos(2 pi k phi)."""
    k = torch.arange(1, harmonics + 1, dtype=torch.float64, device=phase.device)
    # the phase wraps at each harmonic in float64, so the angle stays exact however long the utterance
    angle = (2.0 * math.pi) * torch.remainder(phase.to(torch.float64).unsqueeze(-1) * k, 1.0)
    v = voicing.to(torch.float64).unsqueeze(-1)
    return torch.cat([v * torch.sin(angle), v * torch.cos(angle)], dim=-1).to(phase.dtype)


LONG_TERM_CUTOFF_HZ = 1000.0


def long_term_taps(sample_rate: int) -> np.ndarray:
    """h (2D + 1,) float64: Hann-windowed sinc low-pass at 1 kHz, unit gain at DC (linear phase, delay D)."""
    n = np.arange(-LONG_TERM_HALF, LONG_TERM_HALF + 1, dtype=np.float64)
    fc = LONG_TERM_CUTOFF_HZ / sample_rate
    h = 2 * fc * np.sinc(2 * fc * n) * (0.5 + 0.5 * np.cos(np.pi * n / (LONG_TERM_HALF + 1)))
    return h / h.sum()


def pitch_lags(phase: Tensor, hop: int, lags: tuple[int, int]) -> Tensor:
    """Pitch lag T_t (B, T) in samples (integer-valued floats) from the phase (B, T) in cycles.

    The phase advance per sample, wrapped to [0, 1), averaged over a centred window of ``hop``
    samples (edges: the nearest full window), gives the period ``1 / mean``; rounded and clamped to ``lags``.
    """
    step = torch.remainder(phase[:, 1:] - phase[:, :-1], 1.0)
    step = torch.cat([step[:, :1], step], dim=1) if step.shape[1] else torch.zeros_like(phase)
    w = min(hop, step.shape[1])
    mean = F.avg_pool1d(F.pad(step.unsqueeze(1), (w // 2, (w - 1) // 2), mode="replicate"), w, stride=1)[:, 0]
    return (1.0 / mean.clamp(min=1e-9)).round().clamp(lags[0], lags[1])


def long_term_prediction(e: Tensor, lag: Tensor, gain: Tensor, taps: Tensor) -> Tensor:
    """l (B, T): ``gain_t * sum_j taps_j e_{t - lag_t + D - j}`` (zeros before the start).

    e (B, T) the excitation, lag (B, T) integer-valued floats >= D + 1, gain (B, T), taps (2D + 1,).
    """
    B, T = e.shape
    n = taps.shape[0]
    half = n // 2
    longest = int(lag.max()) + half if T else 0
    t = torch.arange(T, device=e.device)
    idx = t[None, :, None] - lag.long()[:, :, None] + half - torch.arange(n, device=e.device)  # (B, T, n)
    padded = F.pad(e, (longest, 0))
    past = padded.gather(1, (idx + longest).reshape(B, -1)).reshape(B, T, n)
    return gain * (past * taps.to(e.dtype)).sum(-1)


def preemphasize(wav: Tensor, coef: float) -> Tensor:
    """s'_t = s_t - coef * s_{t-1} with s_{-1} = 0: (B, T) -> (B, T)."""
    return wav - coef * F.pad(wav, (1, 0))[:, :-1]


def predict(sp: Tensor, a_t: Tensor) -> Tensor:
    """p_t = -sum_k a_t[k-1] s'_{t-k} (zeros before the start): sp (B, T), a_t (B, T, order) -> (B, T)."""
    order = a_t.shape[-1]
    past = F.pad(sp, (order, 0)).unfold(1, order, 1)[:, : sp.shape[1]]  # past[:, t, j] = s'_{t - order + j}
    return -(a_t * past.flip(-1)).sum(-1)


class Signals(NamedTuple):
    """What :meth:`SourceFilter.signals` gives, each (B, T): the network's inputs ``sp`` (s'), ``p``
    (the LPC's prediction), ``e`` (the excitation it feeds back, :meth:`SourceFilter.embed_inputs`),
    and ``target``, the excitation it models. Without input noise ``target`` is ``e``."""

    sp: Tensor
    p: Tensor
    e: Tensor
    target: Tensor


class SourceFilter(nn.Module):
    """The linear-prediction half of a source-filter WaveNet: envelope from the mel, inputs, targets.

    ``config``: the model's :class:`~wavekit.wavenet.config.WaveNetConfig` (uses ``lpc``,
    ``lpc_mel``, ``cin_channels``, ``hop_length``, ``quantization_channels``, ``residual_channels``,
    ``pitch_harmonics``, ``pitch``).
    """

    mel_mean: Tensor  # buffers (cin,), registered in __init__
    mel_std: Tensor

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config
        self.order = config.lpc.order
        self.coef = float(config.lpc.preemphasis)
        self.hop = config.hop_length
        Q, R = config.quantization_channels, config.residual_channels
        self.embed = nn.Parameter(embedding_init(N_INPUTS, Q, R))
        self.harmonics = int(config.pitch_harmonics)
        self._mel_source_memo: tuple[tuple, tuple[Tensor, Tensor]] | None = None  # mel_source's last result
        self.register_buffer("mel_mean", torch.zeros(config.cin_channels))
        self.register_buffer("mel_std", torch.ones(config.cin_channels))

    @torch.no_grad()
    def set_feature_stats(self, mel_stats: Tensor) -> None:
        """mel_stats (2, cin) or (B, 2, cin): the per-band mean and std that normalised the mel c."""
        stats = mel_stats.reshape(-1, 2, mel_stats.shape[-1])[0].to(self.mel_mean)
        if stats.shape[1] != self.mel_mean.shape[0] or not bool((stats[1] > 0).all()):
            raise ValueError(f"mel_stats must be (2, {self.mel_mean.shape[0]}) mean and positive std")
        self.mel_mean.copy_(stats[0])
        self.mel_std.copy_(stats[1])

    def raw_mel(self, c: Tensor) -> Tensor:
        """Normalised mel c (B, cin, frames) -> the raw log-mel it came from (detached)."""
        return (c * self.mel_std.to(c.dtype)[:, None] + self.mel_mean.to(c.dtype)[:, None]).detach()

    def coefficients(self, c: Tensor) -> Tensor:
        """Normalised mel c (B, cin, frames) -> predictors a (B, frames, order) in c's dtype."""
        raw = self.raw_mel(c)
        lpc = self.config.lpc
        return lpc_from_mel(
            raw, self.config.lpc_mel, order=lpc.order, preemphasis=lpc.preemphasis,
            lag_window=lpc.lag_window_hz, noise_floor=lpc.noise_floor,
        )

    def per_sample(self, a: Tensor, length: int) -> Tensor:
        """Frame predictors (B, frames, order) -> (B, length, order): sample t takes frame t // hop."""
        needed = -(-length // self.hop)
        if a.shape[1] < needed:
            raise ValueError(f"{a.shape[1]} LPC frames cannot cover {length} samples at hop {self.hop}")
        return a[:, :needed].repeat_interleave(self.hop, dim=1)[:, :length]

    @torch.no_grad()
    def mel_source(self, c: Tensor, length: int) -> tuple[Tensor, Tensor]:
        """The sine source's phase and voicing (B, length) from the mel c (B, cin, frames) alone.

        F0 and voicing are estimated from the mel (:func:`wavekit.audio.pitch.f0_from_mel`) and
        the phase runs free on that F0 (:func:`~wavekit.audio.pitch.free_running_phase`): what
        generation uses, where no recorded speech exists. The sine source and the long-term
        predictor both read it, so the last result is kept and handed out again for the same mel
        and length (Griffin-Lim + pyin cost about 0.2 s per second of audio); callers must not
        change the returned tensors in place.
        """
        mel_cfg, raw = self.config.lpc_mel, self.raw_mel(c).to(torch.float64).cpu().numpy()
        key = (length, raw.shape, str(c.device), c.dtype, hashlib.blake2b(raw.tobytes(), digest_size=16).digest())
        if self._mel_source_memo is not None and self._mel_source_memo[0] == key:
            return self._mel_source_memo[1]
        phases, voicings = [], []
        for m in raw:
            f0, voiced = f0_from_mel(m, mel_cfg, self.config.pitch)
            phases.append(free_running_phase(f0, length, mel_cfg))
            voicings.append(voicing_per_sample(voiced, length, self.hop))
        as_tensor = lambda xs: torch.as_tensor(np.stack(xs), device=c.device).to(c.dtype)
        result = (as_tensor(phases), as_tensor(voicings))
        self._mel_source_memo = (key, result)
        return result

    def source(self, c: Tensor, length: int, phase: Tensor | None, voicing: Tensor | None) -> Tensor | None:
        """The sine source (B, length, 2H) from the given phase and voicing (B, length), else from the mel; None if H = 0."""
        if not self.harmonics:
            return None
        if (phase is None) != (voicing is None):
            raise ValueError("pass both phase and voicing of the sine source, or neither (then the mel gives them)")
        if phase is None or voicing is None:  # both None (checked above)
            phase, voicing = self.mel_source(c, length)
        if phase.shape != (c.shape[0], length) or voicing.shape != phase.shape:
            raise ValueError(
                f"phase and voicing must be (B, T) = ({c.shape[0]}, {length}), got {tuple(phase.shape)} "
                f"and {tuple(voicing.shape)}"
            )
        return sine_source(phase, voicing, self.harmonics)

    def long_term_inputs(
        self, c: Tensor, length: int, phase: Tensor | None, voicing: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """The long-term predictor's lag and gain ``beta v_t``, each (B, length), from the given phase and
        voicing (B, length), else those the mel implies (:meth:`mel_source`)."""
        if phase is None or voicing is None:
            phase, voicing = self.mel_source(c, length)
        return pitch_lags(phase, self.hop, self.config.long_term_lags), self.config.long_term * voicing

    @torch.no_grad()
    def generation_rows(self, c: Tensor, length: int) -> Tensor:
        """The predictor row of every sample (B, length, ``config.lpc_row_width``) from the mel c alone:
        the LPC of its frame, then (``long_term > 0``) the pitch lag and the gain ``beta v_t``."""
        rows = self.per_sample(self.coefficients(c), length)
        if not self.config.long_term:
            return rows
        lag, gain = self.long_term_inputs(c, length, None, None)
        return torch.cat([rows, lag.unsqueeze(-1).to(rows.dtype), gain.unsqueeze(-1).to(rows.dtype)], dim=-1)

    def signals(
        self, wav: Tensor, c: Tensor, phase: Tensor | None = None, voicing: Tensor | None = None,
        noise: float = 0.0, generator: torch.Generator | None = None,
    ) -> Signals:
        """Waveform (B, T), mel (B, cin, frames) -> :class:`Signals` s', p, e, target, each (B, T).

        With ``long_term`` e is what the network models, ``s' - p - l``; the long-term predictor
        l takes phase and voicing (B, T) if given (training), else the mel's.

        ``noise > 0`` (training, ``WaveNetConfig.input_noise``) injects noise as LPCNet does, so that
        the network learns to pull a drifting past back instead of following it: Laplacian noise of
        standard deviation ``noise`` mu-law classes on the modelled excitation, ``eps = mu^-1(mu(e) +
        delta) - e``, is added to s'; the inputs are the noisy s' + eps, its prediction and its
        excitation, and the target is the clean signal less the noisy prediction (``e_noisy - eps``).
        """
        a_t = self.per_sample(self.coefficients(c), wav.shape[1]).to(wav.dtype)
        sp = preemphasize(wav, self.coef)
        long_term = None
        if self.config.long_term:
            lag, gain = self.long_term_inputs(c, wav.shape[1], phase, voicing)
            taps = torch.as_tensor(long_term_taps(self.config.lpc_mel.sample_rate), device=wav.device)
            long_term = (lag, gain.to(wav.dtype), taps)
        p, e = self._predict(sp, a_t, long_term)
        if noise <= 0.0:
            return Signals(sp, p, e, e)
        Q = self.config.quantization_channels
        u1 = torch.rand(e.shape, generator=generator, dtype=e.dtype, device=e.device)
        u2 = torch.rand(e.shape, generator=generator, dtype=e.dtype, device=e.device)
        delta = (noise / math.sqrt(2.0)) * (torch.log(u1.clamp(min=1e-12)) - torch.log(u2.clamp(min=1e-12)))
        # mulaw_decode of a float position is the inverse of mulaw_position
        eps = mulaw_decode((mulaw_position(e, Q) + delta).clamp(0.0, Q - 1.0), Q) - e.clamp(-1.0, 1.0)
        noisy = sp + eps
        p_noisy, e_noisy = self._predict(noisy, a_t, long_term)
        return Signals(noisy, p_noisy, e_noisy, e_noisy - eps)

    @staticmethod
    def _predict(sp: Tensor, a_t: Tensor, long_term: tuple[Tensor, Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
        """s' (B, T), per-sample LPC (B, T, order), the long-term predictor's lag, gain (B, T) and taps
        (or None) -> p, and the excitation the network models (s' - p, less the long-term prediction)."""
        p = predict(sp, a_t)
        e = sp - p
        if long_term is None:
            return p, e
        return p, e - long_term_prediction(e, *long_term)

    def embed_inputs(self, sp: Tensor, p: Tensor, e: Tensor) -> Tensor:
        """The network input (B, R, T) at every t from (s'_{t-1}, p_t, e_{t-1}); zeros before the start."""
        prev = lambda x: F.pad(x, (1, 0))[:, :-1]
        h = sum(interpolated_embedding(self.embed[i], x) for i, x in enumerate((prev(sp), p, prev(e))))
        return cast(Tensor, h).transpose(1, 2)

    def targets(self, e: Tensor) -> Tensor:
        """Excitation (B, T) -> its mu-law classes (long)."""
        return mulaw_encode(e, self.config.quantization_channels)
