"""WaveNetConfig: every size of the model, validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from wavekit.audio.features import MelConfig
from wavekit.audio.lpc import LPCConfig
from wavekit.audio.pitch import PitchConfig
from wavekit.core.receptive_field import receptive_field, stacked_dilations

OUTPUTS = ("mulaw", "mol", "gaussian")
LONG_TERM_HALF = 7  # D: the long-term predictor's linear-phase low-pass has 2D + 1 taps
EXCITATIONS = ("none", "lpc")


@dataclass
class WaveNetConfig:
    """Conditional WaveNet (van den Oord et al. 2016) as a 16 kHz mel vocoder by default.

    Defaults: 24 layers in 4 stacks of dilations 1..32, kernel 3 (receptive
    field 505 samples, 32 ms), mu-law softmax over 256 classes, conditioned on
    80 normalised log-mel bands at hop 256 (upsample scales 4*4*4*4).

    - ``layers``/``stacks``: dilations 1, 2, 4, ... restart every ``layers // stacks``.
    - ``gate_channels``: width of each dilated conv; the gate halves it.
    - ``output``: "mulaw" (``quantization_channels``-way softmax over mu-law
      classes), "mol" (``mixtures`` discretized logistics over ``bins``
      levels) or "gaussian" (one discretized Gaussian over ``bins`` levels).
    - ``log_scale_min``: floor of the log-scale of mol / gaussian components.
    - ``cin_channels``: mel bands of local conditioning (0 = none);
      ``upsample_scales`` multiply to the hop length between mel frames.
    - ``gin_channels``: speaker embedding size (0 = none); ``n_speakers`` ids.
    - ``dropout`` on each residual input during training; ``weight_norm`` on
      every conv (folded away for generation).
    - ``excitation``: "none" models the waveform itself; "lpc" is the
      source-filter mode (:mod:`wavekit.wavenet.source_filter`): linear
      prediction from the mel (``lpc``: order, pre-emphasis, lag window, noise
      floor; ``lpc_mel``: the mel settings of ``c``, those of the corpus)
      carries the envelope and the network models the excitation of the
      pre-emphasised signal, as a mu-law categorical (``output="mulaw"``, needs
      ``cin_channels > 0``). The receptive field grows by ``lpc.order + 1``.
    - ``pitch_harmonics``: source-filter mode only; H > 0 adds a voiced sine
      source of H harmonics, 2H sample-rate channels of every layer's local
      conditioning after the mel (:mod:`wavekit.wavenet.source_filter`):
      in training its phase is that of the recorded speech's fundamental (the
      data pipeline sends it), in generation it runs free on an F0 track the
      model estimates from the mel itself (``pitch``: the F0 search range), so
      the vocoder still takes only a mel. 0 = off.
    - ``long_term``: source-filter mode only; beta in (0, 1) adds a long-term
      (pitch) predictor on the low band of the excitation, gain ``beta`` times
      the voicing, lag one pitch period
      (:func:`wavekit.wavenet.source_filter.long_term_prediction`), so voiced
      frames repeat their low band every period: harmonics of the mel's pitch
      below 1 kHz. Phase and voicing come as for the sine source. The receptive
      field grows by the longest lag (``pitch.f0_min``) + 7. 0 = off.
    - ``input_noise``: source-filter mode only; in training, Laplacian noise of this
      standard deviation in mu-law classes is injected into the excitation the
      network sees, and it learns the clean signal less the noisy prediction
      (LPCNet's noise injection, :meth:`wavekit.wavenet.source_filter.SourceFilter.signals`):
      generation feeds the network its own imperfect past, and a network
      trained only on clean pasts follows a drift until the output sits at the
      rails. Evaluation and generation are unchanged. 0 = off.
    """

    layers: int = 24
    stacks: int = 4
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    kernel_size: int = 3
    output: Literal["mulaw", "mol", "gaussian"] = "mulaw"
    quantization_channels: int = 256
    mixtures: int = 10
    bins: int = 65536
    log_scale_min: float = -16.0
    cin_channels: int = 80
    gin_channels: int = 0
    n_speakers: int = 0
    upsample_scales: tuple[int, ...] = (4, 4, 4, 4)
    dropout: float = 0.05
    weight_norm: bool = True
    excitation: Literal["none", "lpc"] = "none"
    lpc: LPCConfig = field(default_factory=LPCConfig)
    lpc_mel: MelConfig = field(default_factory=MelConfig)
    pitch_harmonics: int = 0
    long_term: float = 0.0
    input_noise: float = 0.0
    pitch: PitchConfig = field(default_factory=PitchConfig)

    def __post_init__(self) -> None:
        self.upsample_scales = tuple(self.upsample_scales)
        positive = ("layers", "stacks", "residual_channels", "gate_channels", "skip_channels", "kernel_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.layers % self.stacks:
            raise ValueError(f"layers ({self.layers}) must be a multiple of stacks ({self.stacks})")
        if self.gate_channels % 2:
            raise ValueError(f"gate_channels must be even (the gate splits it in two), got {self.gate_channels}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")
        if self.quantization_channels < 2:
            raise ValueError(f"quantization_channels must be >= 2, got {self.quantization_channels}")
        if self.mixtures < 1:
            raise ValueError(f"mixtures must be >= 1, got {self.mixtures}")
        if self.bins < 2:
            raise ValueError(f"bins must be >= 2, got {self.bins}")
        if self.cin_channels < 0 or self.gin_channels < 0 or self.n_speakers < 0:
            raise ValueError("cin_channels, gin_channels and n_speakers must be >= 0")
        if self.gin_channels > 0 and self.n_speakers < 1:
            raise ValueError(f"gin_channels={self.gin_channels} needs n_speakers >= 1 for the speaker embedding")
        if self.cin_channels > 0 and (not self.upsample_scales or any(s < 1 for s in self.upsample_scales)):
            raise ValueError(f"upsample_scales must be positive integers, got {list(self.upsample_scales)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.excitation not in EXCITATIONS:
            raise ValueError(f"excitation must be one of {', '.join(EXCITATIONS)}, got {self.excitation!r}")
        if self.source_filter:
            if self.output != "mulaw" or self.cin_channels < 1:
                raise ValueError('excitation="lpc" needs output="mulaw" and a mel (cin_channels > 0)')
            if self.lpc_mel.n_mels != self.cin_channels or self.lpc_mel.hop_length != self.hop_length:
                raise ValueError(
                    f"lpc_mel (n_mels {self.lpc_mel.n_mels}, hop {self.lpc_mel.hop_length}) must describe the mel c "
                    f"(cin_channels {self.cin_channels}, upsample hop {self.hop_length})"
                )
        if self.pitch_harmonics < 0:
            raise ValueError(f"pitch_harmonics must be >= 0, got {self.pitch_harmonics}")
        if self.pitch_harmonics and not self.source_filter:
            raise ValueError('pitch_harmonics > 0 needs the source-filter mode (excitation="lpc")')
        if not (math.isfinite(self.long_term) and 0.0 <= self.long_term < 1.0):
            raise ValueError(f"long_term must be in [0, 1) (a stable comb), got {self.long_term}")
        if self.long_term and not self.source_filter:
            raise ValueError('long_term > 0 needs the source-filter mode (excitation="lpc")')
        if not (math.isfinite(self.input_noise) and self.input_noise >= 0.0):
            raise ValueError(f"input_noise must be >= 0 (mu-law classes), got {self.input_noise}")
        if self.input_noise and not self.source_filter:
            raise ValueError('input_noise > 0 needs the source-filter mode (excitation="lpc")')

    @property
    def source_filter(self) -> bool:
        """True in the source-filter mode (``excitation="lpc"``)."""
        return self.excitation == "lpc"

    @property
    def uses_pitch(self) -> bool:
        """True when the model reads the fundamental's phase and the voicing (sine source or long-term predictor)."""
        return self.pitch_harmonics > 0 or self.long_term > 0

    @property
    def lpc_row_width(self) -> int:
        """Columns of a sample's predictor row in generation: the LPC order, + 2 (lag, gain) for the long-term predictor."""
        return self.lpc.order + (2 if self.long_term else 0)

    @property
    def long_term_lags(self) -> tuple[int, int]:
        """(shortest, longest) pitch lag in samples of the long-term predictor: the F0 range of ``pitch``
        at the mel's sample rate; the shortest stays above the low-pass's half length."""
        sr = self.lpc_mel.sample_rate
        return max(LONG_TERM_HALF + 1, int(math.floor(sr / self.pitch.f0_max))), int(math.ceil(sr / self.pitch.f0_min))

    @property
    def long_term_ring(self) -> int:
        """Past LPC-excitation samples a stream keeps for the long-term predictor (0 when off)."""
        return self.long_term_lags[1] + 2 * LONG_TERM_HALF + 2 if self.long_term else 0

    @property
    def dilations(self) -> list[int]:
        return stacked_dilations(self.layers, self.stacks)

    @property
    def receptive_field(self) -> int:
        """Past samples that p(x_t | ...) sees: x_{t-rf} .. x_{t-1} (+ order + 1 in the source-filter mode,
        + the longest lag + 7 with the long-term predictor)."""
        rf = receptive_field([self.kernel_size] * self.layers, self.dilations)
        long_term = self.long_term_lags[1] + LONG_TERM_HALF if self.long_term else 0
        return rf + (self.lpc.order + 1 + long_term if self.source_filter else 0)

    @property
    def hop_length(self) -> int:
        """Samples per conditioning frame: the product of ``upsample_scales``."""
        return math.prod(self.upsample_scales)
