"""Conditional WaveNet (van den Oord et al. 2016) on the shared autoregressive core.

    x_{t-1} --input--> h --[ResidualBlock(dilation d_i) + cond_i] x layers--> sum of skips
            --ReLU, 1x1, ReLU, 1x1--> params (B, P, T) of p(x_t | x_<t, c, g)

The waveform is shifted inside the model: the input at position t is the
previous sample (a silent sample before the start), so position t of the
output only sees x_{t-rf} .. x_{t-1} with ``rf = receptive_field``.
Inputs: the mu-law class of the previous sample through an embedding (the
one-hot 1x1 conv), or the float sample through a 1x1 conv (mol, gaussian).
Local conditioning: mel frames (B, cin_channels, frames) upsampled to the
sample rate; global: a speaker embedding broadcast over time. Both are
concatenated and projected by each block's own 1x1 conv, added before its gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard, cast

import torch
from torch import Tensor, nn

from wavekit.audio.mulaw import mulaw_decode, mulaw_encode
from wavekit.core.conv import apply_weight_norm
from wavekit.core.distributions import (
    Categorical,
    DiscretizedGaussian,
    DiscretizedMixtureOfLogistics,
    Distribution,
)
from wavekit.core.gated import ResidualBlock
from wavekit.core.mixture import snap_to_bins
from wavekit.registry import register_model
from wavekit.wavenet.conditioning import SpeakerEmbedding, UpsampleNetwork
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.source_filter import Signals, SourceFilter


def make_distribution(cfg: WaveNetConfig) -> Distribution:
    """The output distribution named by ``cfg.output``."""
    if cfg.output == "mulaw":
        return Categorical(cfg.quantization_channels)
    if cfg.output == "mol":
        return DiscretizedMixtureOfLogistics(cfg.mixtures, cfg.bins, cfg.log_scale_min)
    return DiscretizedGaussian(cfg.bins, cfg.log_scale_min)


class WaveNet(nn.Module):
    """WaveNet over waveforms (B, T) in [-1, 1]; see the module docstring and :class:`WaveNetConfig`."""

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        cfg = self.config = config
        self.distribution = make_distribution(cfg)
        R, G, S = cfg.residual_channels, cfg.gate_channels, cfg.skip_channels
        # the source-filter mode has its own input embedding (wavekit.wavenet.source_filter)
        self.source_filter = SourceFilter(cfg) if cfg.source_filter else None
        if self.source_filter is None and cfg.output == "mulaw":
            self.input_embed = nn.Embedding(cfg.quantization_channels, R)
        elif self.source_filter is None:
            self.input_conv = nn.Conv1d(1, R, 1)
        self.upsample = UpsampleNetwork(cfg.upsample_scales) if cfg.cin_channels else None
        self.speaker = SpeakerEmbedding(cfg.n_speakers, cfg.gin_channels) if cfg.gin_channels else None
        self.blocks = nn.ModuleList(
            ResidualBlock(
                residual_channels=R,
                gate_channels=G,
                skip_channels=S,
                kernel_size=cfg.kernel_size,
                dilation=d,
                cond_channels=cfg.cin_channels + 2 * cfg.pitch_harmonics + cfg.gin_channels,
                dropout=cfg.dropout,
                residual_output=i < cfg.layers - 1,  # the last residual output would go unused
            )
            for i, d in enumerate(cfg.dilations)
        )
        self.skip_scale = math.sqrt(1.0 / cfg.layers)
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv1d(S, S, 1), nn.ReLU(), nn.Conv1d(S, self.distribution.num_params, 1)
        )
        if cfg.weight_norm:
            apply_weight_norm(self)

    @classmethod
    def from_config(cls, config: WaveNetConfig) -> WaveNet:
        return cls(config)

    @property
    def receptive_field(self) -> int:
        """log_prob at t depends on x[t - receptive_field] .. x[t] and nothing earlier."""
        return self.config.receptive_field

    @property
    def _dtype(self) -> torch.dtype:
        return cast(Tensor, cast(nn.Conv1d, self.head[-1]).bias).dtype  # the last 1x1 has a bias

    # ---- waveform <-> model values ---------------------------------------------------------

    def targets(
        self, wav: Tensor, c: Tensor | None = None, phase: Tensor | None = None, voicing: Tensor | None = None
    ) -> Tensor:
        """Waveform (B, T) -> the values the distribution models: mu-law classes (long) or snapped floats.

        In the source-filter mode these are the classes of the excitation, which needs the mel c
        (and, with a long-term predictor, phase and voicing (B, T) as in :meth:`forward`).
        """
        self._check_wav(wav)
        if self.source_filter is not None:
            return self.source_filter.targets(self._signals(wav, c, phase, voicing).target)
        if self.config.output == "mulaw":
            return mulaw_encode(wav, self.config.quantization_channels)
        return snap_to_bins(wav.to(self._dtype), self.config.bins)

    @staticmethod
    def _check_wav(wav: Tensor) -> None:
        if wav.dim() != 2 or not wav.is_floating_point():
            raise ValueError(f"wav must be a float (B, T) tensor in [-1, 1], got {tuple(wav.shape)} {wav.dtype}")

    def to_waveform(self, values: Tensor) -> Tensor:
        """Inverse of :meth:`targets`: model values (B, T) -> float waveform (plain mode only)."""
        if self.source_filter is not None:
            raise ValueError("source-filter values are excitation classes: the waveform needs the predictor (generate)")
        if self.config.output == "mulaw":
            return mulaw_decode(values, self.config.quantization_channels, dtype=self._dtype)
        return values.to(self._dtype)

    def silence(self, batch_size: int, device: torch.device | None = None) -> Tensor:
        """The value fed as "previous sample" before the start: (B,) mu-law class of 0.0, or 0.0.

        The source-filter mode feeds waveform samples (floats): 0.0.
        """
        zero = torch.zeros(batch_size, dtype=self._dtype, device=device)
        plain_mulaw = self.config.output == "mulaw" and self.source_filter is None
        return mulaw_encode(zero, self.config.quantization_channels) if plain_mulaw else zero

    def _signals(
        self, wav: Tensor, c: Tensor | None, phase: Tensor | None = None, voicing: Tensor | None = None,
        noise: float = 0.0,
    ) -> Signals:
        """Source-filter mode: s', p, e, target (B, T) of wav given the mel c (phase, voicing: the long-term
        predictor's; noise: :attr:`WaveNetConfig.input_noise`, in training only)."""
        sf = self._require_source_filter()
        if c is None:
            raise ValueError("this source-filter WaveNet computes its LPC from the mel: pass c")
        if c.dim() != 3 or c.shape[1] != self.config.cin_channels:
            raise ValueError(f"c must be (B, {self.config.cin_channels}, frames) mel, got {tuple(c.shape)}")
        return sf.signals(wav.to(self._dtype), c.to(self._dtype), phase, voicing, noise=noise)

    def _require_source_filter(self) -> SourceFilter:
        """The source-filter module; ValueError for a plain model (a caller's mistake, not the user's data)."""
        if self.source_filter is None:
            raise ValueError("this WaveNet has no source-filter mode (config.excitation is 'none')")
        return self.source_filter

    def embed_input(self, prev: Tensor) -> Tensor:
        """Previous-sample values (B, T) -> (B, R, T)."""
        if self.config.output == "mulaw":
            return self.input_embed(prev).transpose(1, 2)
        return self.input_conv(prev.unsqueeze(1).to(self._dtype))

    # ---- conditioning ------------------------------------------------------------------------

    def conditioning(
        self, c: Tensor | None, g: Tensor | None, length: int, source: Tensor | None = None
    ) -> Tensor | None:
        """Concatenated block conditioning: (B, cin [+ 2H] + gin, length), (B, gin, 1) for speakers only, or None.

        With a sine source (``pitch_harmonics = H``) its 2H channels follow the mel: ``source``
        (B, 2H, length) if given, else the one the mel implies (:meth:`sine_source`), as in generation.
        """
        parts: list[Tensor] = []
        if self._check_mel(c):
            parts.append(self.upsample_mel(c, length))
            if self.config.pitch_harmonics:
                parts.append(self.sine_source(c, length) if source is None else source.to(parts[0].dtype))
        emb = self._speaker_embedding(g, parts[0].shape[0] if parts else None)
        if emb is not None:
            parts.append(emb.expand(-1, -1, length) if parts else emb)
        return torch.cat(parts, dim=1) if parts else None

    def check_conditioning(self, c: Tensor | None, g: Tensor | None) -> None:
        """ValueError if mel c (B, cin, frames) or speakers g (B,) do not fit the model: the checks
        of :meth:`conditioning`, with nothing computed (no upsampling, no pitch estimate)."""
        if self._check_mel(c):
            self._mel_frames(c, 1)
        self._speaker_embedding(g, c.shape[0] if c is not None else None)

    def _check_mel(self, c: Tensor | None) -> TypeGuard[Tensor]:
        """True if the model takes a mel and c is given; ValueError if c does not fit the model."""
        if self.config.cin_channels:
            if c is None:
                raise ValueError(f"this WaveNet is conditioned on {self.config.cin_channels} mel bands: pass c")
            return True
        if c is not None:
            raise ValueError("this WaveNet has no local conditioning (cin_channels=0) but c was given")
        return False

    def _speaker_embedding(self, g: Tensor | None, batch: int | None) -> Tensor | None:
        """(B, gin, 1) speaker vectors, or None for a model without speakers (checks g and its batch size)."""
        cfg = self.config
        if not cfg.gin_channels:
            if g is not None:
                raise ValueError("this WaveNet has no global conditioning (gin_channels=0) but g was given")
            return None
        if g is None:
            raise ValueError(f"this WaveNet is conditioned on speaker ids (n_speakers={cfg.n_speakers}): pass g")
        emb = cast(SpeakerEmbedding, self.speaker)(g)  # built when gin_channels > 0
        if batch is not None and emb.shape[0] != batch:
            raise ValueError(f"c has batch size {batch} but g has {emb.shape[0]}")
        return emb

    def _mel_frames(self, c: Tensor, length: int) -> Tensor:
        """The frames of c (B, cin, frames) that reach the first ``length`` samples (checked, model dtype)."""
        cfg = self.config
        if c.dim() != 3 or c.shape[1] != cfg.cin_channels:
            raise ValueError(f"c must be (B, {cfg.cin_channels}, frames) mel, got {tuple(c.shape)}")
        hop = cfg.hop_length
        needed = -(-length // hop)
        if c.shape[2] < needed:
            raise ValueError(
                f"c has {c.shape[2]} frames but {length} samples need {needed} (hop {hop}); "
                "pass frames * hop >= the waveform length"
            )
        # Frames past `needed + lookahead` cannot reach the first `length` samples.
        return c[:, :, : needed + self._upsample_net().lookahead].to(self._dtype)

    def _upsample_net(self) -> UpsampleNetwork:
        """The mel upsampling network; ValueError for a model without local conditioning."""
        if self.upsample is None:
            raise ValueError("this WaveNet has no local conditioning (cin_channels=0)")
        return self.upsample

    def upsample_mel(self, c: Tensor, length: int) -> Tensor:
        """Mel (B, cin, frames) -> (B, cin, length); needs frames * hop >= length, extra frames are cropped."""
        return self._upsample_net()(self._mel_frames(c, length))[:, :, :length]

    def sine_source(
        self, c: Tensor, length: int, phase: Tensor | None = None, voicing: Tensor | None = None
    ) -> Tensor:
        """The sine source (B, 2H, length): from phase and voicing (B, length) if given, else from the mel c."""
        source = self._require_source_filter().source(c.to(self._dtype), length, phase, voicing)
        if source is None:
            raise ValueError("this WaveNet has no sine source (pitch_harmonics=0)")
        return source.transpose(1, 2)

    def projected_conditioning(
        self, c: Tensor | None, g: Tensor | None, length: int, source: Tensor | None = None
    ) -> list[Tensor] | None:
        """Every block's conditioning term ``block.cond(conditioning(c, g, length))``: L tensors (B, G, length).

        Speed: one product for all blocks, at the rate where it is cheapest. The upsampling
        network is linear, so ``upsample(c) == c @ M`` for the (frames, length) matrix M of
        its responses to single frames (``upsample`` of an identity), and
        ``V upsample(c) == (V c) @ M``: projecting at the frame rate first costs ``frames``
        multiply-adds per output value instead of ``cin`` -- less for training crops (34
        frames against 80 bands for 8192 samples), more for whole utterances, where the
        mel is upsampled first. None for a model without a mel (the blocks then project the
        speaker vector themselves). A sine source (B, 2H, length) is projected at the sample rate.
        """
        if not self._check_mel(c):
            return None
        cin, L = self.config.cin_channels, len(self.blocks)
        n_src = 2 * self.config.pitch_harmonics
        # every block has a cond 1x1 here (cond_channels >= cin > 0)
        w = torch.cat([cast(nn.Conv1d, cast(ResidualBlock, b).cond).weight[:, :, 0] for b in self.blocks])  # (L * G, cin + gin)
        frames = self._mel_frames(c, length)
        upsample = self._upsample_net()
        if frames.shape[2] < cin:
            eye = torch.eye(frames.shape[2], dtype=frames.dtype, device=frames.device).unsqueeze(0)
            response = upsample(eye)[0, :, :length]  # (frames, length)
            proj = torch.matmul(torch.matmul(w[:, :cin], frames), response)
        else:
            proj = torch.matmul(w[:, :cin], upsample(frames)[:, :, :length])
        if n_src:
            src = self.sine_source(c, length) if source is None else source.to(proj.dtype)
            proj = proj + torch.matmul(w[:, cin : cin + n_src], src)
        emb = self._speaker_embedding(g, proj.shape[0])
        if emb is not None:
            proj = proj + torch.matmul(w[:, cin + n_src :], emb)  # (B, L * G, 1) broadcast over time
        return list(proj.chunk(L, dim=1))

    # ---- the model -----------------------------------------------------------------------------

    def forward(
        self, wav: Tensor, c: Tensor | None = None, g: Tensor | None = None,
        phase: Tensor | None = None, voicing: Tensor | None = None,
    ) -> Tensor:
        """wav (B, T) in [-1, 1], c (B, cin, frames), g (B,) -> params (B, P, T) of p(x_t | x_<t, c, g).

        phase, voicing (B, T): the sine source and long-term predictor of a source-filter model with
        ``pitch_harmonics`` or ``long_term`` (the fundamental's phase in cycles and the voicing
        of the recorded speech, from the data pipeline); when not given the model estimates them
        from the mel, as in generation.
        """
        return self._params_and_targets(wav, c, g, phase, voicing, with_targets=False)[0]

    def _params_and_targets(
        self, wav: Tensor, c: Tensor | None, g: Tensor | None, phase: Tensor | None, voicing: Tensor | None,
        *, with_targets: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """:meth:`forward`'s params (B, P, T) and, if ``with_targets``, :meth:`targets` (B, T) of the same
        pass: the source-filter signals (the LPC from the mel) are computed once for both."""
        if (phase is not None or voicing is not None) and not self.config.uses_pitch:
            raise ValueError(
                "phase and voicing feed the sine source or long-term predictor of a model with pitch_harmonics or "
                "long_term > 0; this one has neither"
            )
        targets: Tensor | None = None
        if self.source_filter is not None:
            B, T = wav.shape
            source = None
            if self.config.pitch_harmonics and self._check_mel(c):
                source = self.sine_source(c, T, phase, voicing)
            projected = self.projected_conditioning(c, g, T, source)  # checks c before the LPC reads it
            noise = self.config.input_noise if self.training else 0.0
            signals = self._signals(wav, c, phase, voicing, noise=noise)
            h = self.source_filter.embed_inputs(signals.sp, signals.p, signals.e)
            if with_targets:
                self._check_wav(wav)
                targets = self.source_filter.targets(signals.target)
        else:
            x = self.targets(wav)
            B, T = x.shape
            prev = torch.cat([self.silence(B, x.device).unsqueeze(1), x[:, :-1]], dim=1)
            h = self.embed_input(prev)
            projected = self.projected_conditioning(c, g, T)
            targets = x if with_targets else None
        cond = self.conditioning(c, g, T) if projected is None else None  # no mel: no source either
        skips: Tensor | int = 0
        for i, block in enumerate(self.blocks):
            h, s = block(h, cond, projected=projected[i] if projected is not None else None)
            skips = skips + s
        return self.head(skips * self.skip_scale), targets

    def log_prob(
        self, wav: Tensor, c: Tensor | None = None, g: Tensor | None = None,
        phase: Tensor | None = None, voicing: Tensor | None = None,
    ) -> Tensor:
        """(B, T) log p(x_t | x_<t, c, g) in nats (phase, voicing as in :meth:`forward`).

        One pass: the source-filter signals feed both the network input and the targets.
        """
        params, targets = self._params_and_targets(wav, c, g, phase, voicing, with_targets=True)
        return self.distribution.log_prob(params, cast(Tensor, targets))

    def loss(
        self, wav: Tensor, c: Tensor | None = None, g: Tensor | None = None, mel_stats: Tensor | None = None,
        phase: Tensor | None = None, voicing: Tensor | None = None,
    ) -> Tensor:
        """Mean negative log-likelihood per sample (nats), a scalar.

        mel_stats (2, cin) or (B, 2, cin): the mean and std that normalised c, sent by the data
        pipeline in the source-filter mode; the model keeps them (they are part of its state,
        so checkpoints carry them) to turn c back into a raw log-mel for the LPC.
        phase, voicing (B, T): the recorded speech's sine source (:meth:`forward`).
        """
        if mel_stats is not None and self.source_filter is not None:
            self.source_filter.set_feature_stats(mel_stats)
        return -self.log_prob(wav, c, g, phase, voicing).mean()

    @torch.no_grad()
    def generate(
        self,
        length: int | None = None,
        c: Tensor | None = None,
        g: Tensor | None = None,
        temperature: float = 1.0,
        seed: int | Sequence[int] | None = None,
        batch_size: int | None = None,
        progress: bool = False,
        backend: str = "auto",
    ) -> Tensor:
        """Sample waveforms (B, T) incrementally through the generation engine.

        The same engine (and random-number convention) as ``wavekit vocode``:
        stream b uses seed + b (or seeds[b]), so a stream equals its solo run.
        backend "auto" is the compiled kernel on CPU and CUDA graphs on CUDA.
        See :func:`wavekit.generate.engine.generate_tensor`.
        """
        from wavekit.generate.engine import generate_tensor

        return generate_tensor(
            self, length=length, c=c, g=g, temperature=temperature, seed=seed, batch_size=batch_size,
            progress=progress, backend=backend,
        )


register_model("wavenet", WaveNetConfig, WaveNet)
