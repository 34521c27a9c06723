"""Text to waveform: front end -> Tacotron 2 -> mel -> WaveNet vocoder.

    synth = load_synthesizer("exp/tts/checkpoints/best.pt", "exp/voc/checkpoints/best.pt")
    results = synth.synthesize(["Hello world.", "Good night."])   # batched
    save_wav("hello.wav", results[0].wav, synth.sample_rate)

The acoustic model predicts log-mel normalised with *its* corpus statistics;
before vocoding, the mel is re-expressed in the vocoder's normalisation
(``vocoder_stats.normalize(acoustic_stats.denormalize(mel))``). Mel settings
(band count, rate, hop, window, range) must match exactly; otherwise
:class:`wavekit.errors.FeatureError` says which setting differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from wavekit.audio.features import MelConfig
from wavekit.audio.stats import FeatureStats
from wavekit.checkpoint import extra_of
from wavekit.config import from_dict
from wavekit.errors import CheckpointError, ConfigError, FeatureError, TextError
from wavekit.tts.frontend import SymbolTable
from wavekit.tts.tacotron2 import Tacotron2


@dataclass
class SynthesisResult:
    """One synthesised line: waveform (T,) float32 in [-1, 1], vocoder-normalised mel (n_mels, F),
    alignment (decoder steps, symbols) and the symbols read."""

    text: str
    wav: np.ndarray
    mel: torch.Tensor
    alignment: torch.Tensor
    symbols: list[str]


def audio_entry(model: Any, role: str, path: str | Path) -> tuple[MelConfig, FeatureStats]:
    """The mel settings and feature statistics a checkpoint records (``checkpoint["audio"]``).

    ``model``: a :class:`wavekit.checkpoint.LoadedModel`, or a model from :func:`wavekit.load`.
    """
    audio = extra_of(model).get("audio")
    if not isinstance(audio, dict) or "mel" not in audio or "stats" not in audio:
        raise CheckpointError(
            f"{role} checkpoint {path} does not record its mel settings and statistics (checkpoint['audio']); "
            "train it with `wavekit train` on a preprocessed corpus"
        )
    try:
        mel = from_dict(MelConfig, audio["mel"], prefix="audio.mel")
    except ConfigError as e:
        raise CheckpointError(f"{role} checkpoint {path}: {e}") from None
    return mel, FeatureStats.from_dict(audio["stats"])


def check_features(acoustic_mel: MelConfig, vocoder_mel: MelConfig) -> None:
    """:class:`FeatureError` unless the acoustic model predicts exactly the mel the vocoder reads."""
    if acoustic_mel.n_mels != vocoder_mel.n_mels:
        raise FeatureError(
            f"the acoustic model predicts {acoustic_mel.n_mels} mel bands but the vocoder expects "
            f"{vocoder_mel.n_mels}; use a vocoder trained on features with the same mel settings"
        )
    for name in ("sample_rate", "hop_length", "n_fft", "win_length", "fmin", "fmax", "log_floor"):
        a, v = getattr(acoustic_mel, name), getattr(vocoder_mel, name)
        if a != v:
            raise FeatureError(
                f"mel setting {name} differs: acoustic model {a}, vocoder {v}; "
                "train both on corpora preprocessed with the same mel settings"
            )


class Synthesizer:
    """An acoustic model, its symbol table and statistics, and a vocoder with its statistics."""

    def __init__(
        self,
        acoustic: Tacotron2,
        table: SymbolTable,
        acoustic_audio: tuple[MelConfig, FeatureStats],
        vocoder: Any,
        vocoder_audio: tuple[MelConfig, FeatureStats],
        speaker: int | None = None,
    ) -> None:
        check_features(acoustic_audio[0], vocoder_audio[0])
        if acoustic.config.n_mels != acoustic_audio[0].n_mels:
            raise CheckpointError(
                f"acoustic model has n_mels={acoustic.config.n_mels} but its checkpoint records "
                f"{acoustic_audio[0].n_mels}-band features"
            )
        vcfg = vocoder.config
        if int(getattr(vcfg, "cin_channels", 0) or 0) != vocoder_audio[0].n_mels:
            raise CheckpointError(
                f"the vocoder reads {getattr(vcfg, 'cin_channels', 0)} conditioning channels, not the "
                f"{vocoder_audio[0].n_mels}-band mel; pass a mel-conditioned WaveNet vocoder checkpoint"
            )
        self.acoustic, self.table, self.vocoder = acoustic, table, vocoder
        self.mel_config, self.acoustic_stats = acoustic_audio
        self.vocoder_stats = vocoder_audio[1]
        self.sample_rate = self.mel_config.sample_rate
        self.speaker = speaker
        n_speakers = int(getattr(vcfg, "n_speakers", 0) or 0)
        if int(getattr(vcfg, "gin_channels", 0) or 0) > 0:
            self.speaker = 0 if speaker is None else speaker
            if not 0 <= self.speaker < n_speakers:
                raise ConfigError(f"speaker id {self.speaker} out of range: the vocoder knows {n_speakers} speakers")

    def to_vocoder_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Acoustic-model-normalised mel (n_mels, F) -> the vocoder's normalisation."""
        return self.vocoder_stats.normalize(self.acoustic_stats.denormalize(mel))

    @torch.no_grad()
    def text_to_mel(
        self, texts: list[str], batch_size: int = 8, max_frames: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[torch.Tensor, torch.Tensor, list[str]]]:
        """Per text: vocoder-normalised mel (n_mels, F), alignment (steps, N), symbols.

        Raises :class:`wavekit.errors.TextError` (naming the line) before any work if a text is unusable.
        """
        symbols = []
        for k, t in enumerate(texts):
            try:
                symbols.append(self.table.text_to_symbols(t))
            except TextError as e:
                where = f"line {k + 1}: " if len(texts) > 1 else ""
                raise TextError(f"{where}{e}") from None
        index = {s: i for i, s in enumerate(self.table.symbols)}
        ids = [[index[s] for s in seq] + [1] for seq in symbols]
        out: list[tuple[torch.Tensor, torch.Tensor, list[str]]] = []
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            for k, (mel, align) in enumerate(self.acoustic.infer_batch(chunk, max_frames=max_frames)):
                out.append((self.to_vocoder_mel(mel.float().cpu()), align.float().cpu(), symbols[start + k]))
            if progress is not None:
                progress(len(chunk))
        return out

    @torch.no_grad()
    def vocode(
        self, mels: list[torch.Tensor], temperature: float = 1.0, seed: int | None = 0, batch_size: int = 8,
        progress: Callable[[int], None] | None = None, postfilter: bool = True,
    ) -> list[np.ndarray]:
        """Vocoder-normalised mels (n_mels, F_i) -> float32 waveforms of F_i * hop samples.

        Every line is its own request in the vocoder's generation engine
        (``batch_size`` slots, continuous batching: a finished line frees its
        slot for the next); line i uses seed ``seed + i``, so it sounds the same
        whatever else is synthesised with it. ``progress(1)`` per finished line.
        ``postfilter``: match each waveform's log-mel to its mel (:mod:`wavekit.audio.postfilter`).
        """
        from wavekit.audio.postfilter import Postfilter
        from wavekit.generate.engine import GenerationEngine, Request, stream_seeds

        matcher = Postfilter(self.mel_config, self.vocoder_stats) if postfilter else None
        arrays = [m.detach().float().cpu().numpy() for m in mels]

        param = next(self.vocoder.parameters())
        seeds = stream_seeds(seed, len(mels))
        engine = GenerationEngine(self.vocoder, slots=max(1, min(batch_size, len(mels))), device=param.device)
        for i, m in enumerate(arrays):
            engine.submit(Request(mel=m, speaker=self.speaker, temperature=temperature, seed=seeds[i], key=i))
        wavs: dict[int, np.ndarray] = {}
        for i, wav in engine.run():
            if matcher is not None:
                wav = matcher.apply(wav, arrays[i])
            wavs[i] = np.clip(wav, -1.0, 1.0).astype(np.float32)
            if progress is not None:
                progress(1)
        return [wavs[i] for i in range(len(mels))]

    def synthesize(
        self, texts: list[str], batch_size: int = 8, temperature: float = 1.0, seed: int | None = 0,
        max_frames: int | None = None, progress: Callable[[int], None] | None = None, postfilter: bool = True,
    ) -> list[SynthesisResult]:
        """Texts -> waveforms, batched. ``seed`` makes pre-net dropout and sampling repeatable; ``postfilter``
        as in :meth:`vocode`."""
        if seed is not None:
            torch.manual_seed(seed)
        decoded = self.text_to_mel(texts, batch_size=batch_size, max_frames=max_frames)
        wavs = self.vocode([m for m, _, _ in decoded], temperature=temperature, seed=seed,
                           batch_size=batch_size, progress=progress, postfilter=postfilter)
        return [SynthesisResult(t, w, m, a, s) for t, w, (m, a, s) in zip(texts, wavs, decoded)]


def load_synthesizer(
    acoustic_path: str | Path, vocoder_path: str | Path, device: str = "cpu", speaker: int | None = None
) -> Synthesizer:
    """Load both checkpoints (any wavekit checkpoint file) and check they fit together."""
    from wavekit.checkpoint import load

    acoustic = load(acoustic_path, map_location=device)
    if not isinstance(acoustic.model, Tacotron2):
        raise CheckpointError(
            f"--acoustic {acoustic_path} is a {type(acoustic.model).__name__}, not a tacotron2 checkpoint")
    if acoustic.symbols is None:
        raise CheckpointError(f"acoustic checkpoint {acoustic_path} has no symbol table; train it with `wavekit train`")
    table = SymbolTable.from_dict(acoustic.symbols)
    vocoder = load(vocoder_path, map_location=device)
    if not hasattr(vocoder.model, "generate") or isinstance(vocoder.model, Tacotron2):
        raise CheckpointError(
            f"--vocoder {vocoder_path} is a {type(vocoder.model).__name__}, not a WaveNet vocoder checkpoint")
    return Synthesizer(
        acoustic.model, table, audio_entry(acoustic, "acoustic", acoustic_path),
        vocoder.model, audio_entry(vocoder, "vocoder", vocoder_path), speaker=speaker,
    )
