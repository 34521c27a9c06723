"""Audio front end: file I/O, mu-law, log-mel features and statistics, linear prediction, the
postfilter (pitch comb, mel consistency), preprocessing, datasets.

See :mod:`wavekit.audio.features` for the exact mel definition and
:mod:`wavekit.audio.preprocess` for the on-disk layout of a preprocessed corpus.
"""

from wavekit.audio.datasets import AudioDataset, Corpus, collate_audio, load_corpus
from wavekit.audio.features import MelConfig, istft, log_mel_spectrogram, mel_filter_bank, stft
from wavekit.audio.io import load_wav, save_wav
from wavekit.audio.lpc import (
    LPCConfig,
    deemphasis,
    levinson_durbin,
    lpc_envelope_db,
    lpc_from_mel,
    lpc_from_waveform,
    mel_to_linear,
    preemphasis,
)
from wavekit.audio.mulaw import mulaw_decode, mulaw_encode
from wavekit.audio.pitch_comb import PitchCombConfig, pitch_comb
from wavekit.audio.postfilter import Postfilter, PostfilterConfig, mel_postfilter, postfilter
from wavekit.audio.preprocess import PreprocessSummary, preprocess_corpus
from wavekit.audio.stats import FeatureStats

__all__ = [
    "AudioDataset",
    "Corpus",
    "FeatureStats",
    "LPCConfig",
    "MelConfig",
    "PitchCombConfig",
    "Postfilter",
    "PostfilterConfig",
    "PreprocessSummary",
    "collate_audio",
    "deemphasis",
    "istft",
    "levinson_durbin",
    "load_corpus",
    "load_wav",
    "log_mel_spectrogram",
    "lpc_envelope_db",
    "lpc_from_mel",
    "lpc_from_waveform",
    "mel_filter_bank",
    "mel_postfilter",
    "mel_to_linear",
    "mulaw_decode",
    "mulaw_encode",
    "pitch_comb",
    "postfilter",
    "preemphasis",
    "preprocess_corpus",
    "save_wav",
    "stft",
]
