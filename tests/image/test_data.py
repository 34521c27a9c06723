"""Image data loaders, level options, and downloads (on local stand-ins in the real formats)."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from wavekit.errors import ConfigError, DataError
from wavekit.image import GatedPixelCNNConfig, PixelCNNConfig
from wavekit.image import data as D
from wavekit.image.pipeline import ImageDataConfig, build


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_digits_bundle_splits_and_batches() -> None:
    b = build(ImageDataConfig(dataset="digits", use_labels=False), PixelCNNConfig(levels=17))
    assert len(b.train) + len(b.valid) == 1797 and len(b.valid) == 180
    batch = b.collate([b.train[i] for i in range(5)])
    assert set(batch) == {"x"} and batch["x"].shape == (5, 1, 8, 8) and batch["x"].dtype == torch.long
    assert int(b.train.images.max()) == 16
    b2 = build(ImageDataConfig(dataset="digits", binarize=True, use_labels=True),
               GatedPixelCNNConfig(levels=2, num_classes=10))
    assert set(int(v) for v in b2.train.images.unique()) == {0, 1} and b2.train[0]["y"].shape == ()
    with pytest.raises(ConfigError, match="model.levels"):
        build(ImageDataConfig(dataset="digits"), PixelCNNConfig(levels=256))


def test_level_reduction_and_binarize() -> None:
    x = np.arange(256)
    r = D.reduce_levels(x, 256, 4)
    assert list(np.bincount(r)) == [64, 64, 64, 64]
    assert list(D.binarize(np.arange(17), 17)) == [0] * 9 + [1] * 8
    with pytest.raises(DataError):
        D.reduce_levels(x, 256, 300)


def test_fashion_mnist_idx(fashion_mnist_dir: Path) -> None:
    x, y = D.load_idx_pair(fashion_mnist_dir, "test")
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,) and x.max() == 255 and set(np.unique(y)) == set(range(10))


def test_idx_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(DataError, match="t10k-images"):
        D.read_idx(bad)
    with pytest.raises(DataError, match="not found"):
        D.read_idx(tmp_path / "missing.gz")


def test_npz_and_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (6, 8, 8, 3)).astype(np.uint8)
    np.savez(tmp_path / "d.npz", x=imgs, y=np.arange(6))
    x, y = D.load_npz(tmp_path / "d.npz")
    assert x.shape == (6, 3, 8, 8) and np.array_equal(x.transpose(0, 2, 3, 1), imgs) and list(y) == list(range(6))
    for k in range(4):
        (tmp_path / "imgs" / f"c{k % 2}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(imgs[k, :, :, 0]).save(tmp_path / "imgs" / f"c{k % 2}" / f"{k}.png")
    fx, fy = D.load_image_folder(tmp_path / "imgs")
    assert fx.shape == (4, 1, 8, 8) and sorted(fy) == [0, 0, 1, 1]
    assert any(np.array_equal(fx[i, 0], imgs[0, :, :, 0]) for i in range(4))
    with pytest.raises(DataError):
        D.load_image_folder(tmp_path / "nothing-here")


def test_mnist_download_with_checksums_from_local_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(1)
    files = {}
    for prefix, n in (("train", 5), ("t10k", 3)):
        _write_idx(mirror / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(mirror / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    for p in mirror.iterdir():
        files[p.name] = _sha(p)
    cache = tmp_path / "cache"
    x, y = D.load_mnist("test", cache, base_url=mirror.as_uri() + "/", files=files)
    assert x.shape == (3, 1, 28, 28) and y.shape == (3,)
    assert (cache / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    wrong = dict(files, **{"t10k-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(DataError, match="checksum"):
        D.load_mnist("test", tmp_path / "cache2", base_url=mirror.as_uri() + "/", files=wrong)
    assert not (tmp_path / "cache2" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_cifar10_download_from_local_mirror(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    archive = tmp_path / "cifar-10-python.tar.gz"
    data = {}
    with tarfile.open(archive, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            d = {"data": rng.integers(0, 256, (2, 3072)).astype(np.uint8), "labels": list(rng.integers(0, 10, 2))}
            data[name] = d
            blob = pickle.dumps(d)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    x, y = D.load_cifar10("train", tmp_path / "cache", base_url=tmp_path.as_uri() + "/",
                          files={archive.name: _sha(archive)})
    assert x.shape == (10, 3, 32, 32) and y.shape == (10,)
    assert np.array_equal(x[0], data["data_batch_1"]["data"][0].reshape(3, 32, 32))
