"""Training data for WaveNet vocoders: a preprocessed corpus (``wavekit preprocess``) as a DataBundle.

Registered as the data builder of model kind "wavenet". Batches are
``{"wav": (B, T), "c": (B, n_mels, T // hop), "g": (B,)}`` ("c" only when
the model has local conditioning, ``cin_channels > 0``; "g" only when it has
global conditioning, ``gin_channels > 0``, and ``use_speaker`` is on). In the
source-filter mode (``excitation="lpc"``) every batch also carries
``"mel_stats"`` (2, n_mels): the corpus' per-band mean and std, which the model
keeps to turn the normalised mel back into the log-mel its LPC is computed from.
With ``pitch_harmonics > 0`` or ``long_term > 0`` the batches also carry ``"phase"`` and ``"voicing"``
(B, T): the fundamental's phase (cycles) and the voicing of the recorded
speech, the model's sine source (:mod:`wavekit.audio.pitch`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from wavekit.audio.datasets import AudioDataset, collate_audio, load_corpus
from wavekit.config import to_dict
from wavekit.errors import ConfigError
from wavekit.registry import DataBundle, register_data


@dataclass
class WaveNetDataConfig:
    """Where the corpus is and how to cut it.

    root: output folder of ``wavekit preprocess``.
    crop_samples: training crop length in samples; a multiple of the corpus hop.
    train_split / valid_split: manifest splits to train on and evaluate on ("" = no evaluation).
    use_speaker: feed speaker ids when the model has global conditioning.
    normalize: feed normalised log-mel (the model contract; keep on).
    seed: seed of the crop positions.
    """

    root: str = ""
    crop_samples: int = 8192
    train_split: str = "train"
    valid_split: str = "dev"
    use_speaker: bool = True
    normalize: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.crop_samples <= 0:
            raise ValueError(f"crop_samples must be positive, got {self.crop_samples}")


def build_wavenet_data(data_cfg: WaveNetDataConfig, model_cfg: Any) -> DataBundle:
    """Datasets, collate function and checkpoint extras for training ``model_cfg`` on ``data_cfg.root``."""
    if not data_cfg.root:
        raise ConfigError("data.root is not set; point it at the output folder of `wavekit preprocess`")
    corpus = load_corpus(data_cfg.root)
    mel = corpus.mel
    if data_cfg.crop_samples % mel.hop_length:
        raise ConfigError(
            f"data.crop_samples ({data_cfg.crop_samples}) must be a multiple of the corpus hop length ({mel.hop_length})"
        )
    cin = int(getattr(model_cfg, "cin_channels", 0) or 0)
    gin = int(getattr(model_cfg, "gin_channels", 0) or 0)
    if cin > 0 and cin != mel.n_mels:
        raise ConfigError(
            f"model.cin_channels is {cin} but the corpus {corpus.root} has {mel.n_mels} mel bands; "
            f"set model.cin_channels={mel.n_mels}"
        )
    scales = getattr(model_cfg, "upsample_scales", None)
    if cin > 0 and scales and math.prod(scales) != mel.hop_length:
        raise ConfigError(
            f"model.upsample_scales {list(scales)} multiply to {math.prod(scales)}, "
            f"but the corpus hop length is {mel.hop_length}; make them multiply to the hop"
        )
    if getattr(model_cfg, "source_filter", False) and model_cfg.lpc_mel != mel:
        raise ConfigError(
            f"model.lpc_mel {to_dict(model_cfg.lpc_mel)} differs from the mel settings of the corpus {corpus.root} "
            f"{to_dict(mel)}; set model.lpc_mel to the corpus' mel settings"
        )
    use_speaker = data_cfg.use_speaker and gin > 0
    n_speakers = int(getattr(model_cfg, "n_speakers", 0) or 0)
    if use_speaker and n_speakers < len(corpus.speakers):
        raise ConfigError(
            f"model.n_speakers is {n_speakers} but the corpus {corpus.root} has {len(corpus.speakers)} speakers; "
            f"set model.n_speakers={len(corpus.speakers)}"
        )
    common: dict[str, Any] = dict(
        crop_samples=data_cfg.crop_samples, normalize=data_cfg.normalize, seed=data_cfg.seed,
        with_mel=cin > 0, with_speaker=use_speaker,
    )
    if getattr(model_cfg, "uses_pitch", False):  # the sine source's or long-term predictor's phase and voicing
        common.update(with_pitch=True, pitch=model_cfg.pitch)
    train = AudioDataset(data_cfg.root, split=data_cfg.train_split, **common)
    valid = AudioDataset(data_cfg.root, split=data_cfg.valid_split, **common) if data_cfg.valid_split else None
    return DataBundle(
        train=train,
        valid=valid,
        collate=functools.partial(
            _collate, c_pad=train.silence_frame,
            mel_stats=_stats_tensor(corpus.stats, data_cfg.normalize) if getattr(model_cfg, "source_filter", False) else None,
        ),
        checkpoint_extra={
            "audio": {"mel": to_dict(mel), "stats": corpus.stats.to_dict()},
            "speakers": dict(corpus.speakers),
        },
    )


def _stats_tensor(stats: Any, normalize: bool) -> torch.Tensor:
    """(2, n_mels): the mean and std that normalised the batches' mel (0 and 1 when not normalised)."""
    mean, std = np.asarray(stats.mean), np.asarray(stats.std)
    if not normalize:
        mean, std = np.zeros_like(mean), np.ones_like(std)
    return torch.from_numpy(np.stack([mean, std]).astype(np.float32))


def _collate(items: list[dict], c_pad: Any, mel_stats: torch.Tensor | None) -> dict[str, torch.Tensor]:
    batch = collate_audio(items, c_pad=c_pad)
    if mel_stats is not None:
        batch["mel_stats"] = mel_stats
    return batch


register_data("wavenet", WaveNetDataConfig, build_wavenet_data)
