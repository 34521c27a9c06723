"""Training data for the Tacotron 2 acoustic model over a preprocessed corpus.

Reads the output of ``wavekit preprocess`` (``manifest.jsonl`` rows with a
``text``, ``items/<id>.npz`` with the unnormalised log-mel, ``stats.json``)
and yields ``{"text": (N,) int64 symbol ids ending in EOS, "mel": (n_mels,
frames) float32 normalised log-mel}``. :func:`collate_tts` pads a list of
items into the batch ``Tacotron2.loss`` takes: ``text (B, N)``,
``text_lengths (B,)``, ``mel (B, n_mels, F)``, ``mel_lengths (B,)``.

Registered as the data builder of model kind "tacotron2". Its checkpoint
extras are the symbol table (``"symbols"``) and the same ``"audio"`` entry a
vocoder trained on the corpus stores, so ``wavekit synthesize`` can check
that acoustic model and vocoder agree on the features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from wavekit.audio.datasets import load_corpus
from wavekit.audio.stats import FeatureStats
from wavekit.config import to_dict
from wavekit.errors import ConfigError, DataError, TextError
from wavekit.registry import DataBundle, register_data
from wavekit.tts.frontend import SymbolTable, make_symbol_table


@dataclass
class TtsDataConfig:
    """Where the corpus is and how text is read.

    root: output folder of ``wavekit preprocess`` (its manifest rows need ``text``).
    frontend: "auto" (phonemes when espeak-ng is installed), "phonemes" or "characters".
    voice: espeak-ng voice for phonemes.
    max_frames: drop training items longer than this many frames (0 = keep all).
    """

    root: str = ""
    train_split: str = "train"
    valid_split: str = "dev"
    frontend: str = "auto"
    voice: str = "en-us"
    max_frames: int = 0

    def __post_init__(self) -> None:
        if self.frontend not in ("auto", "phonemes", "characters"):
            raise ValueError(f"frontend must be 'auto', 'phonemes' or 'characters', got {self.frontend!r}")
        if self.max_frames < 0:
            raise ValueError(f"max_frames must be >= 0, got {self.max_frames}")


class TtsDataset(Dataset):
    """(symbols, normalised log-mel) pairs of one split; text is encoded once, up front."""

    def __init__(self, root: str | Path, split: str, table: SymbolTable, max_frames: int = 0) -> None:
        corpus = load_corpus(root)
        self.root, self.table, self.stats = corpus.root, table, corpus.stats
        rows = [r for r in corpus.rows if r.get("split") == split]
        if not rows:
            raise DataError(f"split {split!r} of {corpus.root} has no items; preprocess with --valid-count to make one")
        self.rows, self.symbols = [], []
        for r in rows:
            if max_frames and int(r.get("frames", 0)) > max_frames:
                continue
            if not str(r.get("text") or "").strip():
                raise DataError(
                    f"{corpus.root}/manifest.jsonl: item {r.get('id')!r} has no text; a TTS corpus needs a "
                    "'text' column in the source manifest"
                )
            try:
                ids = table.encode(r["text"])
            except TextError as e:
                raise DataError(f"{corpus.root}: item {r.get('id')!r}: {e}") from None
            self.rows.append(r)
            self.symbols.append(torch.tensor(ids, dtype=torch.int64))
        if not self.rows:
            raise DataError(f"no items of split {split!r} in {corpus.root} are at most max_frames={max_frames} long")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        path = self.root / self.rows[index]["file"]
        try:
            with np.load(path) as z:
                mel = z["mel"].astype(np.float32)
        except (OSError, ValueError, KeyError) as e:
            raise DataError(f"cannot read item {path} ({e}); preprocess the corpus again") from None
        mel = self.stats.normalize(mel).astype(np.float32)
        return {"text": self.symbols[index], "mel": torch.from_numpy(np.ascontiguousarray(mel))}


def collate_tts(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Pad items into {"text": (B, N), "text_lengths": (B,), "mel": (B, n_mels, F), "mel_lengths": (B,)}.

    Text is padded with id 0, mel with zeros (padded frames are masked out of the loss).
    """
    if not items:
        raise ValueError("collate_tts needs at least one item")
    text = torch.nn.utils.rnn.pad_sequence([it["text"] for it in items], batch_first=True)
    frames = max(int(it["mel"].shape[1]) for it in items)
    mel = torch.stack([torch.nn.functional.pad(it["mel"], (0, frames - it["mel"].shape[1])) for it in items])
    return {
        "text": text,
        "text_lengths": torch.tensor([len(it["text"]) for it in items], dtype=torch.int64),
        "mel": mel,
        "mel_lengths": torch.tensor([int(it["mel"].shape[1]) for it in items], dtype=torch.int64),
    }


def audio_extra(mel_config: Any, stats: FeatureStats) -> dict[str, Any]:
    """The ``checkpoint["audio"]`` entry: mel settings and feature statistics (as a vocoder stores them)."""
    return {"mel": to_dict(mel_config), "stats": stats.to_dict()}


def build_tts_data(data_cfg: TtsDataConfig, model_cfg: Any) -> DataBundle:
    """Datasets, collate function and checkpoint extras for training Tacotron 2 on ``data_cfg.root``."""
    if not data_cfg.root:
        raise ConfigError("data.root is not set; point it at the output folder of `wavekit preprocess`")
    corpus = load_corpus(data_cfg.root)
    n_mels = int(getattr(model_cfg, "n_mels", corpus.mel.n_mels))
    if n_mels != corpus.mel.n_mels:
        raise ConfigError(
            f"model.n_mels is {n_mels} but the corpus {corpus.root} has {corpus.mel.n_mels} mel bands; "
            f"set model.n_mels={corpus.mel.n_mels}"
        )
    try:
        table = make_symbol_table(data_cfg.frontend, data_cfg.voice)
    except TextError as e:
        raise ConfigError(f"data.frontend: {e}") from None
    n_symbols = int(getattr(model_cfg, "n_symbols", len(table)))
    if n_symbols < len(table):
        raise ConfigError(
            f"model.n_symbols is {n_symbols} but the {table.mode} symbol table has {len(table)} symbols; "
            f"set model.n_symbols={len(table)} or more"
        )
    train = TtsDataset(data_cfg.root, data_cfg.train_split, table, data_cfg.max_frames)
    valid = TtsDataset(data_cfg.root, data_cfg.valid_split, table) if data_cfg.valid_split else None
    return DataBundle(
        train=train,
        valid=valid,
        collate=collate_tts,
        checkpoint_extra={"symbols": table.to_dict(), "audio": audio_extra(corpus.mel, corpus.stats)},
    )


register_data("tacotron2", TtsDataConfig, build_tts_data)
