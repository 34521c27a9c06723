"""The plan of a ``wavekit vocode`` run: every input and option checked once, before anything is generated.

:func:`plan_vocode` is the boundary: it resolves the inputs (folders expanded
to their ``.npy`` mel and audio files), the speaker (id or name), the
checkpoint's audio settings, the output paths, and loads and checks every
mel (band count, frames, finite, normalised) and the output folder (not a
file, writable, enough free space). Every user mistake raises a
:class:`~wavekit.errors.WavekitError` subclass with a message that says what
to do; the CLI prints it as one ``Error:`` line. What comes back, a frozen
:class:`VocodePlan`, is trusted from there on:
:func:`wavekit.generate.vocode.run_plan` hands its requests to the engine as
:class:`~wavekit.generate.engine.CheckedRequest` values, which the engine
does not check again.

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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wavekit.atomic import check_free_space, check_writable_dir, clean_stale_temps
from wavekit.audio.features import MelConfig, log_mel_spectrogram
from wavekit.audio.io import AUDIO_SUFFIXES, load_wav
from wavekit.audio.postfilter import Postfilter
from wavekit.audio.stats import FeatureStats
from wavekit.checkpoint import extra_of, model_of
from wavekit.config import from_dict
from wavekit.errors import CheckpointError, ConfigError, FeatureError, WavekitError
from wavekit.generate.engine import CheckedRequest

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


def resolve_speaker(model: Any, speaker: str | int | None, origin: str | None = None) -> int | None:
    """The speaker id to condition on, checked against the model; CheckpointError for a mismatch.

    ``speaker`` is None, an id (int, or a string of digits) or a name from
    ``checkpoint["speakers"]`` (a name wins over an id spelled the same).
    A model without global conditioning takes None only; one with it needs
    an id in ``0..n_speakers-1``. ``origin``: the checkpoint as the user named
    it, put before the message (the CLI's ``-c``).
    """
    try:
        return _speaker_id(model, speaker)
    except CheckpointError as e:
        if origin is None:
            raise
        raise CheckpointError(f"{origin}: {e}") from None


def _speaker_id(model: Any, speaker: str | int | None) -> int | None:
    cfg = model_of(model).config
    names = speaker_names(model)
    known = f" or a name ({', '.join(sorted(names, key=lambda n: names[n]))})" if names else ""
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


@dataclass(frozen=True)
class EngineSettings:
    """Where a plan runs: ``slots`` >= 1 batch slots of the engine on ``device`` (None: the model's)."""

    slots: int
    device: str | None


def postfilter_for(settings: AudioSettings, bands: int, enabled: bool = True) -> Postfilter | None:
    """The postfilter of a vocoder with these audio ``settings`` and ``bands`` conditioning channels: None when
    ``enabled`` is False, or when the settings lack the mel or the statistics of those bands (no mel to match)."""
    if not enabled or settings.mel is None or settings.stats is None or settings.mel.n_mels != bands:
        return None
    return Postfilter(settings.mel, settings.stats)


@dataclass(frozen=True)
class OutputOptions:
    """What a vocode run writes besides plain samples: ``postfilter`` (match each output's log-mel to its mel,
    :func:`postfilter_for`) and ``raw_outdir`` (also write the network's output before the postfilter there)."""

    postfilter: bool = True
    raw_outdir: str | Path | None = None


@dataclass(frozen=True)
class WriteSettings:
    """How a plan writes: wavs at ``sample_rate``, through ``postfilter`` (None: as generated), and the
    network's output before it to ``raw_targets`` (None: not written), one per input."""

    sample_rate: int
    postfilter: Postfilter | None = None
    raw_targets: tuple[Path, ...] | None = None


@dataclass(frozen=True, eq=False)
class VocodePlan:
    """A checked ``wavekit vocode`` run (made by :func:`plan_vocode`; trusted by whoever runs it).

    ``inputs``: every input file in order, folders expanded; ``targets``: its
    ``outdir/<stem>.wav`` (distinct); ``todo``: the indices to vocode (the rest
    exist and are kept, ``skip_existing``); ``mels``: the checked normalised
    mel (cin_channels, frames) float32 of each ``todo`` input; ``speaker``: the
    resolved id or None; ``hop_length``: the model's samples per frame;
    ``temperature`` >= 0; input i uses seed ``seed + i``; ``engine``: the
    engine's batch slots and device; ``write``: sample rate, postfilter and
    raw outputs of the written files.
    """

    inputs: tuple[Path, ...]
    targets: tuple[Path, ...]
    todo: tuple[int, ...]
    mels: tuple[np.ndarray, ...]
    outdir: Path
    speaker: int | None
    hop_length: int
    temperature: float
    seed: int
    engine: EngineSettings
    write: WriteSettings

    @property
    def sample_rate(self) -> int:
        """Sample rate of the written files."""
        return self.write.sample_rate

    @property
    def kept(self) -> int:
        """Inputs left alone because their wav already exists."""
        return len(self.inputs) - len(self.todo)

    def requests(self) -> list[CheckedRequest]:
        """One engine request per ``todo`` input, keyed by its index: the whole mel, seed ``seed + i``."""
        return [
            CheckedRequest(mel, self.speaker, mel.shape[1] * self.hop_length, self.temperature, self.seed + i, key=i)
            for i, mel in zip(self.todo, self.mels)
        ]


def plan_vocode(
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
    origin: str | None = None,
    output: OutputOptions = OutputOptions(),
) -> VocodePlan:
    """Check a vocode run and resolve everything it needs: the one place its inputs are checked.

    In this order: the model reads a mel; the speaker (:func:`resolve_speaker`;
    ``origin`` names the checkpoint in its errors); slots and temperature; the
    checkpoint's audio settings; the inputs (folders expanded, each file
    present); the output folder is not a file and no two inputs share an
    output name; then, unless every output exists and ``skip_existing``, every
    mel to vocode is loaded and checked (:func:`load_mel`) and the output folder
    is prepared (created, proven writable, stale temporaries of dead runs
    removed) with room for the wav files (and ``output.raw_outdir`` likewise,
    where the network's output before the postfilter goes); ``output``: see
    :class:`OutputOptions`. Raises a
    :class:`~wavekit.errors.WavekitError` subclass for any user mistake.
    ``model``: a :class:`~wavekit.checkpoint.LoadedModel` (or a ``wavekit.load`` model).
    """
    cfg = model_of(model).config
    if cfg.cin_channels == 0:
        raise CheckpointError("this WaveNet has no local conditioning (cin_channels=0): use `wavekit generate`")
    sid = resolve_speaker(model, speaker, origin)
    check_sampling(slots, temperature)
    settings = audio_settings(model)
    sample_rate = settings.mel.sample_rate if settings.mel is not None else 16000
    files = collect_inputs(inputs)
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise WavekitError(f"output folder {out} is a file; pass a folder to -o/--outdir")
    targets = [out / f"{p.stem}.wav" for p in files]
    seen: dict[Path, Path] = {}
    for p, t in zip(files, targets):
        if t in seen:
            raise WavekitError(f"{seen[t]} and {p} would both be written to {t}; rename one or vocode them separately")
        seen[t] = p
    raw = Path(output.raw_outdir) if output.raw_outdir is not None else None
    if raw is not None and raw.resolve() == out.resolve():
        raise WavekitError(f"the raw output folder {raw} is the output folder; pass a different one")
    todo = [i for i, t in enumerate(targets) if not (skip_existing and t.is_file())]
    mels = [load_mel(files[i], settings, cfg.cin_channels) for i in todo]
    if todo:
        samples = sum(m.shape[1] * cfg.hop_length for m in mels)  # what the plan's requests will generate
        for folder in (out, raw) if raw is not None else (out,):
            check_writable_dir(folder)  # before any audio is generated: a read-only or misnamed folder fails now
            clean_stale_temps(folder)
            check_free_space(folder, 44 * len(mels) + 2 * samples, f"the {len(mels)} wav file(s)")
    return VocodePlan(
        inputs=tuple(files), targets=tuple(targets), todo=tuple(todo), mels=tuple(mels), outdir=out, speaker=sid,
        hop_length=cfg.hop_length, temperature=temperature, seed=seed, engine=EngineSettings(slots, device),
        write=WriteSettings(sample_rate, postfilter_for(settings, cfg.cin_channels, output.postfilter),
                            tuple(raw / t.name for t in targets) if raw is not None else None),
    )
