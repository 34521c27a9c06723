"""Audio front end: file I/O, mu-law, log-mel features and statistics, preprocessing, datasets.

See :mod:`wavekit.audio.features` for the exact mel definition and
:mod:`wavekit.audio.preprocess` for the on-disk layout of a preprocessed corpus.
"""

from wavekit.audio.datasets import AudioDataset, Corpus, collate_audio, load_corpus
from wavekit.audio.features import MelConfig, log_mel_spectrogram, mel_filter_bank
from wavekit.audio.io import load_wav, save_wav
from wavekit.audio.mulaw import mulaw_decode, mulaw_encode
from wavekit.audio.preprocess import PreprocessSummary, preprocess_corpus
from wavekit.audio.stats import FeatureStats

__all__ = [
    "AudioDataset",
    "Corpus",
    "FeatureStats",
    "MelConfig",
    "PreprocessSummary",
    "collate_audio",
    "load_corpus",
    "load_wav",
    "log_mel_spectrogram",
    "mel_filter_bank",
    "mulaw_decode",
    "mulaw_encode",
    "preprocess_corpus",
    "save_wav",
]
