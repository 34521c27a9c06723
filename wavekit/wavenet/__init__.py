"""Conditional WaveNet: config, model, conditioning and incremental generation."""

from wavekit.wavenet.conditioning import SpeakerEmbedding, UpsampleNetwork
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.incremental import IncrementalWaveNet, generate
from wavekit.wavenet.model import WaveNet

__all__ = ["IncrementalWaveNet", "SpeakerEmbedding", "UpsampleNetwork", "WaveNet", "WaveNetConfig", "generate"]
