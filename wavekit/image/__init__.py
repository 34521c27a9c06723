"""Autoregressive image models on the shared core: PixelRNN, PixelCNN, Gated PixelCNN, PixelCNN++."""

from wavekit.image.base import ImageModel
from wavekit.image.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from wavekit.image.pixelcnn import PixelCNN, PixelCNNConfig
from wavekit.image.pixelcnnpp import PixelCNNPlusPlus, PixelCNNPlusPlusConfig
from wavekit.image.pixelrnn import PixelRNN, PixelRNNConfig

__all__ = [
    "ImageModel",
    "PixelCNN",
    "PixelCNNConfig",
    "GatedPixelCNN",
    "GatedPixelCNNConfig",
    "PixelCNNPlusPlus",
    "PixelCNNPlusPlusConfig",
    "PixelRNN",
    "PixelRNNConfig",
]
