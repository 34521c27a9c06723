"""Training data over a preprocessed corpus (the output of ``wavekit preprocess``).

``AudioDataset(root, split)`` yields dicts ``{"wav": (T,) float32 in [-1, 1],
"c": (n_mels, T // hop) float32 normalised log-mel, "g": () int64 speaker
id}``. With ``crop_samples`` every item is a random crop of that many samples
whose start is a multiple of the hop, together with exactly the frames that
describe it (``crop_samples // hop``); items shorter than the crop are padded
at the end with digital silence (zeros, and the normalised log-mel of
silence, ``log(log_floor)``) -- the model is then trained on that silence
too. The crop position is a pure function of ``(seed, epoch, index)``, so a
resumed run sees the same crops; call :meth:`AudioDataset.set_epoch` once
per epoch. ``collate_audio`` stacks items into a batch dict for
``WaveNet.loss(wav=..., c=..., g=...)``.

With ``with_pitch=True`` every item also has, for exactly its (cropped)
``"wav"``, computed from the real audio (:mod:`wavekit.audio.pitch`):

* ``"phase"`` (T,) float32: the instantaneous phase of the fundamental in
  cycles, in [0, 1) (:func:`~wavekit.audio.pitch.fundamental_phase` of the F0
  track of :func:`~wavekit.audio.pitch.f0_from_waveform`);
* ``"voicing"`` (T,) float32 in [0, 1]: pyin's voicing decision per sample
  (:func:`~wavekit.audio.pitch.voicing_per_sample`).

They are computed on the crop plus up to ``ceil(n_fft / hop)`` hops of the
item's real audio on each side, then cut, so crop edges are as good as the
middle; they depend only on the crop. Padding (short items) is phase 0,
voicing 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from wavekit.audio.features import MelConfig
from wavekit.audio.pitch import PitchConfig, fundamental_phase, voicing_per_sample
from wavekit.audio.pitch_tracks import ensure_tracks, load_track, track_path
from wavekit.audio.preprocess import PCM_SCALE
from wavekit.audio.stats import FeatureStats
from wavekit.config import from_dict
from wavekit.errors import ConfigError, DataError

_PITCH = PitchConfig()


@dataclass
class Corpus:
    """The index of a preprocessed corpus: settings, statistics, speakers and manifest rows."""

    root: Path
    mel: MelConfig
    stats: FeatureStats
    speakers: dict[str, int]
    rows: list[dict[str, Any]]


def load_corpus(root: str | Path) -> Corpus:
    """Read ``meta.json``, ``stats.json``, ``speakers.json`` and ``manifest.jsonl`` of ``root``."""
    root = Path(root).expanduser()
    need = ("meta.json", "stats.json", "speakers.json", "manifest.jsonl")
    missing = [n for n in need if not (root / n).is_file()]
    if missing:
        raise DataError(
            f"{root} is not a preprocessed corpus (missing {', '.join(missing)}); "
            f"run `wavekit preprocess SRC {root}` first"
        )
    try:
        meta = json.loads((root / "meta.json").read_text())
        stats = json.loads((root / "stats.json").read_text())
        speakers = json.loads((root / "speakers.json").read_text())
        rows = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as e:
        raise DataError(f"{root}: a corpus index file is corrupt ({e}); preprocess again into a new folder") from None
    try:
        mel = from_dict(MelConfig, meta.get("mel"), prefix="mel")
    except ConfigError as e:
        raise DataError(f"{root}/meta.json: bad mel settings ({e})") from None
    return Corpus(root, mel, FeatureStats.from_dict(stats), speakers, rows)


class AudioDataset(Dataset):
    """Items of one split of a preprocessed corpus, optionally randomly cropped (see module docstring).

    Args:
        root: output folder of ``wavekit preprocess``.
        split: "train", "dev" or "test".
        crop_samples: crop length in samples (a multiple of the hop), or None for whole items.
        normalize: return normalised log-mel (what models consume) instead of raw log-mel.
        seed: seed of the crop positions.
        with_mel / with_speaker: include "c" / "g" in the items.
        with_pitch: include "phase" and "voicing" (module docstring), with F0 searched in ``pitch``'s range.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        crop_samples: int | None = None,
        normalize: bool = True,
        seed: int = 0,
        with_mel: bool = True,
        with_speaker: bool = True,
        with_pitch: bool = False,
        pitch: PitchConfig = _PITCH,
    ) -> None:
        self.corpus = load_corpus(root)
        self.mel_config = self.corpus.mel
        self.stats = self.corpus.stats
        hop = self.mel_config.hop_length
        if crop_samples is not None and (crop_samples <= 0 or crop_samples % hop):
            raise ValueError(f"crop_samples must be a positive multiple of the hop length {hop}, got {crop_samples}")
        if self.stats.n_mels != self.mel_config.n_mels:
            raise DataError(f"{root}: stats.json has {self.stats.n_mels} bands but meta.json says {self.mel_config.n_mels}")
        self.rows = [r for r in self.corpus.rows if r.get("split") == split]
        if not self.rows:
            raise DataError(
                f"split {split!r} of {self.corpus.root} has no items; "
                "preprocess with --valid-count/--test-count to make one"
            )
        self.split, self.crop_samples, self.normalize, self.seed = split, crop_samples, normalize, seed
        self.with_mel, self.with_speaker = with_mel, with_speaker
        self.with_pitch, self.pitch = with_pitch, pitch
        self._tracks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if with_pitch:  # the F0 track of every item, once (wavekit.audio.pitch_tracks)
            ensure_tracks(self.corpus.root, [r["file"] for r in self.rows], self.mel_config, pitch)
        self.epoch = 0
        silence = np.full((self.mel_config.n_mels, 1), self.mel_config.silence_value, dtype=np.float32)
        self.silence_frame = (self.stats.normalize(silence) if normalize else silence)[:, 0].astype(np.float32)

    def set_epoch(self, epoch: int) -> None:
        """Choose the crops of epoch ``epoch`` (crops depend only on seed, epoch and index)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.rows)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Whole item ``index``: float32 audio (T,) and its (normalised if so configured) log-mel."""
        row = self.rows[index]
        path = self.corpus.root / row["file"]
        try:
            with np.load(path) as z:
                wav = z["wav"].astype(np.float32) / PCM_SCALE
                mel = z["mel"].astype(np.float32)
        except (OSError, ValueError, KeyError) as e:
            raise DataError(f"cannot read item {path} ({e}); preprocess the corpus again") from None
        if self.normalize:
            mel = self.stats.normalize(mel).astype(np.float32)
        return wav, mel

    def crop_start(self, index: int, frames: int) -> int:
        """First frame of the crop of item ``index`` (with ``frames`` frames) in the current epoch (0 without crops)."""
        if self.crop_samples is None:
            return 0
        crop_frames = self.crop_samples // self.mel_config.hop_length
        if frames <= crop_frames:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(0, frames - crop_frames + 1))

    def track(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """F0 (frames,) and voicing (frames,) of the whole item ``index`` (stored beside the corpus)."""
        if index not in self._tracks:
            self._tracks[index] = load_track(track_path(self.corpus.root, self.rows[index]["file"], self.pitch))
        return self._tracks[index]

    def pitch_of(self, index: int, wav: np.ndarray, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(phase, voicing), each (end - begin,) float32, of samples ``[begin, end)`` of the whole item ``wav``.

        ``begin`` must be a multiple of the hop; the phase is computed with up to
        ``ceil(n_fft / hop)`` hops of real context on each side, then cut; F0 and
        voicing are the item's track (:meth:`track`) over those frames.
        """
        hop = self.mel_config.hop_length
        context = -(-self.mel_config.n_fft // hop) * hop
        lo = max(0, begin - context)
        seg = wav[lo : min(len(wav), end + context)]
        f0_all, voiced_all = self.track(index)
        frames = slice(lo // hop, lo // hop + len(seg) // hop)
        f0, voiced = f0_all[frames], voiced_all[frames]
        phase = fundamental_phase(seg, f0, voiced, self.mel_config)
        voicing = voicing_per_sample(voiced, len(seg), hop)
        cut = slice(begin - lo, end - lo)
        phase32 = phase[cut].astype(np.float32)
        phase32[phase32 >= 1.0] = 0.0  # float64 just below 1 can round up to 1 in float32
        return phase32, voicing[cut]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        whole, mel = self.load(index)
        wav = whole
        hop = self.mel_config.hop_length
        begin, end, short = 0, len(whole), 0
        if self.crop_samples is not None:
            crop_frames = self.crop_samples // hop
            start = self.crop_start(index, mel.shape[1])
            begin, end = start * hop, min(len(whole), (start + crop_frames) * hop)
            wav = whole[begin:end]
            mel = mel[:, start : start + crop_frames]
            short = crop_frames - mel.shape[1]
            if short > 0:
                wav = np.concatenate([wav, np.zeros(short * hop, dtype=np.float32)])
                mel = np.concatenate([mel, np.repeat(self.silence_frame[:, None], short, axis=1)], axis=1)
        item = {"wav": torch.from_numpy(np.ascontiguousarray(wav))}
        if self.with_pitch:
            phase, voicing = self.pitch_of(index, whole, begin, end)
            pad = len(wav) - len(phase)
            item["phase"] = torch.from_numpy(np.pad(phase, (0, pad)))
            item["voicing"] = torch.from_numpy(np.pad(voicing, (0, pad)))
        if self.with_mel:
            item["c"] = torch.from_numpy(np.ascontiguousarray(mel))
        if self.with_speaker:
            item["g"] = torch.tensor(int(self.rows[index]["speaker_id"]), dtype=torch.int64)
        return item


def collate_audio(items: Sequence[dict[str, torch.Tensor]], c_pad: Any = None) -> dict[str, torch.Tensor]:
    """Stack items into {"wav": (B, T), "c": (B, n_mels, F), "g": (B,)} ("c"/"g" only if the items have them).

    Items with "phase" and "voicing" (``with_pitch``) give those as (B, T) too.
    Items of different lengths are padded at the end to the longest: audio,
    phase and voicing with zeros, mel with ``c_pad`` (a (n_mels,) frame, e.g. ``dataset.silence_frame``;
    zeros if None). The hop is inferred from the items, which must all share it.
    """
    if not items:
        raise ValueError("collate_audio needs at least one item")
    longest = max(int(it["wav"].shape[-1]) for it in items)
    batch: dict[str, torch.Tensor] = {}
    for key in ("wav", "phase", "voicing"):
        if key in items[0]:
            batch[key] = torch.stack([torch.nn.functional.pad(it[key], (0, longest - it[key].shape[-1])) for it in items])
    if "c" in items[0]:
        frames = max(int(it["c"].shape[-1]) for it in items)
        n_mels = items[0]["c"].shape[0]
        pad = torch.zeros(n_mels) if c_pad is None else torch.as_tensor(np.asarray(c_pad), dtype=items[0]["c"].dtype)
        cs = []
        for it in items:
            c = it["c"]
            if c.shape[-1] < frames:
                c = torch.cat([c, pad.to(c.dtype)[:, None].expand(n_mels, frames - c.shape[-1])], dim=1)
            cs.append(c)
        batch["c"] = torch.stack(cs)
    if "g" in items[0]:
        batch["g"] = torch.stack([it["g"] for it in items]).reshape(-1)
    return batch
