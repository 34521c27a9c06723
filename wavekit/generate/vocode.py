"""Vocoding: mel ``.npy`` files, audio files (copy synthesis) or folders -> waveforms.

Every input goes through one :class:`~wavekit.generate.engine.GenerationEngine`,
so many files are generated together in its batch slots; each finished
waveform is written atomically (``wavekit.audio.save_wav``) as soon as it is
done, so an interrupted run keeps its finished files.

A mel ``.npy`` must hold the *normalised* log-mel (n_mels, frames) of the
checkpoint (``checkpoint["audio"]``: band count, and the FeatureStats used in
training). An audio file is analysed with the checkpoint's MelConfig and
normalised with its FeatureStats (copy synthesis).

A multi-speaker vocoder (global conditioning, ``gin_channels > 0``) needs a
speaker: an id ``0..n_speakers-1`` or a name from ``checkpoint["speakers"]``
(the ``{name: id}`` map the WaveNet data builder stores); see
:func:`resolve_speaker`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wavekit.atomic import check_free_space, check_writable_dir, clean_stale_temps
from wavekit.audio.features import MelConfig, log_mel_spectrogram
from wavekit.audio.io import AUDIO_SUFFIXES, load_wav, save_wav
from wavekit.audio.stats import FeatureStats
from wavekit.checkpoint import extra_of, model_of
from wavekit.config import from_dict
from wavekit.errors import (
    CheckpointError,
    ConfigError,
    FeatureError,
    OutputError,
    WavekitError,
)
from wavekit.generate.engine import GenerationEngine, Request

MEL_SUFFIX = ".npy"
# A normalised mel has per-band values around 0 with unit spread; a raw natural-log mel
# (floor 1e-5) sits far below (silence is log(1e-5) = -11.5). Mean squares above this
# while the checkpoint's statistics would bring them near 1 mean "not normalised".
_UNNORMALISED_MEAN_SQUARE = 9.0


@dataclass
class AudioSettings:
    """The vocoder's feature settings from ``checkpoint["audio"]`` (either may be None if absent)."""

    mel: MelConfig | None
    stats: FeatureStats | None


def audio_settings(model: Any) -> AudioSettings:
    """The checkpoint's ``"audio"`` entry of a :class:`~wavekit.checkpoint.LoadedModel` (or a ``wavekit.load`` model)."""
    audio = extra_of(model).get("audio")
    if not isinstance(audio, dict):
        return AudioSettings(None, None)
    try:
        mel = from_dict(MelConfig, audio["mel"]) if "mel" in audio else None
    except ConfigError as e:
        raise CheckpointError(f"the checkpoint's audio.mel settings are invalid: {e}") from None
    stats = FeatureStats.from_dict(audio["stats"]) if "stats" in audio else None
    return AudioSettings(mel, stats)


def speaker_names(model: Any) -> dict[str, int]:
    """The checkpoint's ``{speaker name: id}`` map (empty when it records none)."""
    names = extra_of(model).get("speakers")
    return {str(k): int(v) for k, v in names.items()} if isinstance(names, dict) else {}


def resolve_speaker(model: Any, speaker: str | int | None) -> int | None:
    """The speaker id to condition on, checked against the model; CheckpointError for a mismatch.

    ``speaker`` is None, an id (int, or a string of digits) or a name from
    ``checkpoint["speakers"]`` (a name wins over an id spelled the same).
    A model without global conditioning takes None only; one with it needs
    an id in ``0..n_speakers-1``.
    """
    cfg = model_of(model).config
    names = speaker_names(model)
    known = f" or a name ({', '.join(sorted(names, key=names.get))})" if names else ""
    if not cfg.gin_channels:
        if speaker is not None:
            raise CheckpointError(f"this model has no speaker conditioning (gin_channels=0): drop --speaker {speaker}")
        return None
    ids = f"an id 0..{cfg.n_speakers - 1}{known}"
    if speaker is None:
        raise CheckpointError(f"this model is conditioned on {cfg.n_speakers} speakers: pass --speaker with {ids}")
    if isinstance(speaker, str) and speaker in names:
        sid = names[speaker]
    elif isinstance(speaker, int) or (isinstance(speaker, str) and speaker.strip().lstrip("-").isdigit()):
        sid = int(speaker)
    else:
        raise CheckpointError(f"unknown speaker {speaker!r}: pass --speaker with {ids}")
    if not 0 <= sid < cfg.n_speakers:
        raise CheckpointError(f"speaker id {sid} is out of range: pass --speaker with {ids}")
    return sid


def check_sampling(slots: int, temperature: float) -> None:
    """ConfigError for batch slots < 1 or a negative / NaN temperature (options of vocode and generate)."""
    if slots < 1:
        raise ConfigError(f"--slots must be at least 1, got {slots}")
    if not temperature >= 0:
        raise ConfigError(f"--temperature must be >= 0 (0 = most likely value), got {temperature}")


def collect_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders (their ``.npy`` and audio files, sorted) and check that every file exists."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in (MEL_SUFFIX, *AUDIO_SUFFIXES))
            if not found:
                raise WavekitError(f"folder {p} holds no .npy mel or audio ({', '.join(AUDIO_SUFFIXES)}) files")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise WavekitError(f"input not found: {p}")
    return out


def load_mel(path: Path, settings: AudioSettings, cin_channels: int) -> np.ndarray:
    """The normalised mel (cin_channels, frames) float32 for one input file; FeatureError naming it."""
    if path.suffix.lower() == MEL_SUFFIX:
        try:
            mel = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise FeatureError(f"{path}: not a readable .npy array ({e})") from None
        mel = np.asarray(mel)
        if mel.ndim == 3 and mel.shape[0] == 1:
            mel = mel[0]
        if mel.ndim != 2 or not np.issubdtype(mel.dtype, np.floating):
            raise FeatureError(f"{path}: a mel must be a float array (n_mels, frames), got {mel.dtype} {mel.shape}")
        if mel.shape[0] != cin_channels:
            raise FeatureError(
                f"{path}: mel has {mel.shape[0]} bands but the checkpoint expects {cin_channels} "
                f"(shape {mel.shape}, expected ({cin_channels}, frames)); compute it with the checkpoint's mel settings"
            )
        if mel.shape[1] == 0:
            raise FeatureError(f"{path}: mel has no frames (shape {mel.shape}); give at least one frame")
        _check_normalised(path, mel, settings.stats)
    elif path.suffix.lower() in AUDIO_SUFFIXES:
        if settings.mel is None or settings.stats is None:
            raise CheckpointError(
                f"cannot analyse {path}: the checkpoint does not record its mel settings and statistics "
                "(checkpoint['audio']); pass normalised mel .npy files instead"
            )
        if settings.mel.n_mels != cin_channels:
            raise CheckpointError(f"the checkpoint's mel has {settings.mel.n_mels} bands but the model reads {cin_channels}")
        wav = load_wav(path, settings.mel.sample_rate)
        mel = settings.stats.normalize(log_mel_spectrogram(wav, settings.mel))
        if mel.shape[1] == 0:
            raise FeatureError(f"{path}: too short for one mel frame ({len(wav)} samples)")
    else:
        raise FeatureError(f"{path}: unknown input type; give mel .npy files or audio ({', '.join(AUDIO_SUFFIXES)})")
    if not np.all(np.isfinite(mel)):
        raise FeatureError(f"{path}: mel contains NaN or infinite values; recompute the features")
    if mel.shape[1] == 0:
        raise FeatureError(f"{path}: mel has no frames")
    return np.ascontiguousarray(mel, dtype=np.float32)


def _check_normalised(path: Path, mel: np.ndarray, stats: FeatureStats | None) -> None:
    if stats is None or stats.n_mels != mel.shape[0] or not np.all(np.isfinite(mel)):
        return
    raw = float(np.mean(np.square(mel, dtype=np.float64)))
    normalised = float(np.mean(np.square(stats.normalize(mel.astype(np.float64)))))
    if raw > _UNNORMALISED_MEAN_SQUARE and normalised < raw:
        raise FeatureError(
            f"{path}: mel looks unnormalised (mean square {raw:.1f}; the checkpoint's feature statistics "
            "would make it about {:.1f}); normalise it with the checkpoint's FeatureStats "
            "(checkpoint['audio']['stats']) or vocode the audio file instead".format(normalised)
        )


def vocode_files(
    model: Any,
    inputs: Sequence[str | Path],
    outdir: str | Path,
    *,
    slots: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
    device: str | None = None,
    speaker: str | int | None = None,
    skip_existing: bool = False,
    on_samples: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Vocode every input into ``outdir/<stem>.wav``; returns the paths written, in input order.

    Input i uses seed ``seed + i`` (i counts every input, skipped or not, so
    a resumed run writes what an uninterrupted one would). ``speaker``: see
    :func:`resolve_speaker` (every input gets the same one). ``skip_existing``:
    leave inputs whose wav already exists alone. All inputs are checked
    before any generation starts, so a bad file fails fast. ``device``: where
    the engine runs (default the model's; "cuda": the torch step replayed as
    a CUDA graph). ``model``: a :class:`~wavekit.checkpoint.LoadedModel`
    (or a model from ``wavekit.load``).
    """
    net = model_of(model)
    cfg = net.config
    if cfg.cin_channels == 0:
        raise CheckpointError("this WaveNet has no local conditioning (cin_channels=0): use `wavekit generate`")
    check_sampling(slots, temperature)
    sid = resolve_speaker(model, speaker)
    settings = audio_settings(model)
    sample_rate = settings.mel.sample_rate if settings.mel is not None else 16000
    files = collect_inputs(inputs)
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise WavekitError(f"output folder {outdir} is a file; pass a folder to -o/--outdir")
    targets = [outdir / f"{p.stem}.wav" for p in files]
    seen: dict[Path, Path] = {}
    for p, t in zip(files, targets):
        if t in seen:
            raise WavekitError(f"{seen[t]} and {p} would both be written to {t}; rename one or vocode them separately")
        seen[t] = p
    todo = [i for i, t in enumerate(targets) if not (skip_existing and t.is_file())]
    if not todo:
        return []
    mels = {i: load_mel(files[i], settings, cfg.cin_channels) for i in todo}
    check_writable_dir(outdir)  # before any audio is generated: a read-only or misnamed folder fails now
    clean_stale_temps(outdir)
    hop = settings.mel.hop_length if settings.mel is not None else math.prod(cfg.upsample_scales or [1])
    check_free_space(outdir, sum(44 + 2 * hop * m.shape[1] for m in mels.values()), f"the {len(mels)} wav file(s)")
    engine = GenerationEngine(net, slots=slots, device=device)
    for i, mel in mels.items():
        engine.submit(Request(mel=mel, speaker=sid, temperature=temperature, seed=seed + i, key=i))
    written: dict[int, Path] = {}
    for i, wav in engine.run(progress=on_samples):
        try:
            save_wav(targets[i], wav, sample_rate)
        except OutputError as e:
            raise OutputError(f"{e}; the {len(written)} file(s) finished so far are kept: "
                              "rerun with --skip-existing to vocode only the rest") from None
        written[i] = targets[i]
        if on_file is not None:
            on_file(targets[i])
    return [written[i] for i in sorted(written)]


def realtime_factor(seconds: float, samples: int, sample_rate: int) -> float:
    """Seconds of compute per second of audio."""
    return seconds / max(samples / sample_rate, 1e-12)


class RateMeter:
    """Samples/s and real-time factor since creation, for progress bars."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.start = time.perf_counter()
        self.samples = 0

    def add(self, n: int) -> dict[str, str]:
        self.samples += n
        dt = time.perf_counter() - self.start
        return {"samples/s": f"{self.samples / max(dt, 1e-9):.0f}", "RTF": f"{realtime_factor(dt, self.samples, self.sample_rate):.2f}"}
