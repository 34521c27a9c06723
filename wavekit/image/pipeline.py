"""The image data pipeline: dataset configs, splits and batches for the image models.

Also registers the image models and their data builder with :mod:`wavekit.registry`.

Batches are ``{"x": (B, C, H, W) long}`` plus ``"y": (B,) long`` when
``use_labels`` is set (class-conditional Gated PixelCNN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from wavekit.config import to_dict
from wavekit.errors import ConfigError
from wavekit.image import data as image_data
from wavekit.image.gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig
from wavekit.image.pixelcnn import PixelCNN, PixelCNNConfig
from wavekit.image.pixelcnnpp import PixelCNNPlusPlus, PixelCNNPlusPlusConfig
from wavekit.image.pixelrnn import PixelRNN, PixelRNNConfig
from wavekit.registry import DataBundle, register_data, register_model

DATASETS = ("digits", "fashion_mnist", "mnist", "cifar10", "npz", "folder")


@dataclass
class ImageDataConfig:
    dataset: str = "digits"
    path: str = ""  # npz file / image folder / Fashion-MNIST folder (default: Debian's)
    levels: int = 0  # 0: the dataset's own (digits 17, others 256)
    binarize: bool = False
    valid_fraction: float = 0.1  # for datasets without a test split
    seed: int = 0
    use_labels: bool = False
    cache_dir: str = ""  # downloads (mnist, cifar10); default ~/.cache/wavekit
    limit: int = 0  # use only the first N training images (0: all)

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError("valid_fraction must be in (0, 1)")
        if self.dataset in ("npz", "folder") and not self.path:
            raise ValueError(f"dataset {self.dataset!r} needs data.path")


class ImageDataset(Dataset):
    """Items ``{"x": (C, H, W) long[, "y": () long]}``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images)).long()
        self.labels = None if labels is None else torch.from_numpy(labels).long()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        item = {"x": self.images[i]}
        if self.labels is not None:
            item["y"] = self.labels[i]
        return item


def collate(items: list[dict]) -> dict:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def load_splits(cfg: ImageDataConfig):
    """((train_x, train_y), (valid_x, valid_y), native_levels) as numpy arrays."""
    cache = Path(cfg.cache_dir) if cfg.cache_dir else image_data.DEFAULT_CACHE
    if cfg.dataset in ("fashion_mnist", "mnist", "cifar10"):
        if cfg.dataset == "fashion_mnist":
            root = Path(cfg.path) if cfg.path else image_data.FASHION_ROOT
            tr, te = image_data.load_idx_pair(root, "train"), image_data.load_idx_pair(root, "test")
        elif cfg.dataset == "mnist":
            tr, te = image_data.load_mnist("train", cache), image_data.load_mnist("test", cache)
        else:
            tr, te = image_data.load_cifar10("train", cache), image_data.load_cifar10("test", cache)
        return tr, te, 256
    x: np.ndarray
    y: np.ndarray | None
    if cfg.dataset == "digits":
        x, y = image_data.load_digits()
        native = 17
    elif cfg.dataset == "npz":
        x, y = image_data.load_npz(cfg.path)
        top = int(x.max())
        native = 256 if top > 16 else 17 if top > 1 else 2  # 8-bit, digits-like or binary
    else:
        x, y = image_data.load_image_folder(cfg.path)
        native = 256
    order = np.random.default_rng(cfg.seed).permutation(len(x))
    n_valid = max(1, int(round(cfg.valid_fraction * len(x))))
    va_idx, tr_idx = order[:n_valid], order[n_valid:]
    pick = (lambda a, idx: None if a is None else a[idx])
    return (x[tr_idx], pick(y, tr_idx)), (x[va_idx], pick(y, va_idx)), native


def dataset_levels(cfg: ImageDataConfig, native: int) -> int:
    return 2 if cfg.binarize else (cfg.levels or native)


def prepare(images: np.ndarray, cfg: ImageDataConfig, native: int) -> np.ndarray:
    if cfg.binarize:
        return image_data.binarize(images, native)
    if cfg.levels and cfg.levels != native:
        return image_data.reduce_levels(images, native, cfg.levels)
    return images


def build(cfg: ImageDataConfig, model_cfg) -> DataBundle:
    (tx, ty), (vx, vy), native = load_splits(cfg)
    levels = dataset_levels(cfg, native)
    if model_cfg.levels != levels:
        raise ConfigError(f"model.levels is {model_cfg.levels} but the data has {levels} levels; set model.levels={levels}")
    if model_cfg.image_channels != tx.shape[1]:
        raise ConfigError(f"model.image_channels is {model_cfg.image_channels} but the images have {tx.shape[1]}")
    if cfg.use_labels and (ty is None or getattr(model_cfg, "num_classes", 0) <= int(ty.max())):
        raise ConfigError("data.use_labels needs labelled data and model.num_classes > the largest label")
    if cfg.limit:
        tx, ty = tx[: cfg.limit], (None if ty is None else ty[: cfg.limit])
    keep = (lambda y: y if cfg.use_labels else None)
    extra = {"image": {"data": to_dict(cfg), "levels": levels, "height": int(tx.shape[2]), "width": int(tx.shape[3])}}
    return DataBundle(
        ImageDataset(prepare(tx, cfg, native), keep(ty)), ImageDataset(prepare(vx, cfg, native), keep(vy)), collate, extra
    )


KINDS = {
    "pixelcnn": (PixelCNNConfig, PixelCNN),
    "gated_pixelcnn": (GatedPixelCNNConfig, GatedPixelCNN),
    "pixelcnnpp": (PixelCNNPlusPlusConfig, PixelCNNPlusPlus),
    "pixelrnn": (PixelRNNConfig, PixelRNN),
}
for _kind, (_cfg, _cls) in KINDS.items():
    register_model(_kind, _cfg, _cls)
    register_data(_kind, ImageDataConfig, build)
