"""Image data: sklearn digits, Fashion-MNIST / MNIST (IDX), CIFAR-10, .npz, image folders.

Every loader returns ``(images, labels)``: images uint8-valued int64 numpy
array (N, C, H, W) in 0..levels-1, labels int64 (N,) or None. Options:
``levels`` (reduce 256 or 17 levels to fewer, by integer binning) and
``binarize`` (threshold at half range, giving 2 levels).

MNIST and CIFAR-10 download when a user has network, into a cache folder,
each file checked against its published SHA-256 (a mismatch is an error and
the file is removed); ``base_url`` can point at a local mirror (``file://``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from wavekit.atomic import atomic_path
from wavekit.errors import DataError

FASHION_ROOT = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_CACHE = Path(os.environ.get("WAVEKIT_CACHE", Path.home() / ".cache" / "wavekit"))

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"
CIFAR_FILES = {"cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"}


# --- level handling -------------------------------------------------------
def reduce_levels(x: np.ndarray, from_levels: int, to_levels: int) -> np.ndarray:
    """Map integer levels 0..from_levels-1 onto 0..to_levels-1 by equal-width bins."""
    if not 2 <= to_levels <= from_levels:
        raise DataError(f"levels must be between 2 and {from_levels}, got {to_levels}")
    return (x.astype(np.int64) * to_levels) // from_levels


def binarize(x: np.ndarray, from_levels: int) -> np.ndarray:
    """1 where the value is in the upper half of the range, else 0."""
    return (x.astype(np.int64) * 2 >= from_levels).astype(np.int64)


# --- file formats -----------------------------------------------------------
def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally .gz): the MNIST / Fashion-MNIST format."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as f:
            data = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("bad magic")
        shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
        arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        return arr.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as e:
        raise DataError(f"{p}: not a readable IDX file of unsigned bytes ({e}); re-download it") from None


def load_idx_pair(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``train``/``test`` images (N, 1, 28, 28) 0..255 and labels from an MNIST-layout folder."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    images = read_idx(root / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(root / f"{prefix}-labels-idx1-ubyte.gz")
    if images.ndim != 3 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{root}: images {images.shape} and labels {labels.shape} do not match")
    return images[:, None].astype(np.int64), labels.astype(np.int64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8x8 digits: (1797, 1, 8, 8) with 17 levels (0..16), labels 0..9."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    return d.images.astype(np.int64).reshape(-1, 1, 8, 8), d.target.astype(np.int64)


def load_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """``x`` (N, H, W) or (N, C, H, W) or (N, H, W, C with C in 1, 3) integers, optional ``y``."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    how = "save it with numpy.savez(path, x=images, y=labels) (integer pixels 0..255, integer labels)"
    try:
        with np.load(p, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise DataError(f"{p}: not an .npz archive (a single array); {how}")
            if "x" not in z:
                raise DataError(f"{p}: needs an array named 'x' (found {', '.join(z.files) or 'none'}); {how}")
            x, y = z["x"], (z["y"] if "y" in z else None)
    except DataError:
        raise
    except ValueError as e:
        if "Object arrays" in str(e):
            raise DataError(f"{p}: holds pickled Python objects, which wavekit will not load; {how}") from None
        # numpy falls back to unpickling a file it cannot parse; its advice (allow_pickle) is never passed on
        reason = "neither a zip archive nor a .npy array" if "pickle" in str(e) else str(e)
        raise DataError(f"{p}: not a readable .npz file ({reason}); {how}") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise DataError(f"{p}: not a readable .npz file, truncated or corrupt ({type(e).__name__}: {e}); {how}") from None
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_) or x.shape[1] not in (1, 3):
        raise DataError(f"{p}: 'x' must be integer images (N, C, H, W) with 1 or 3 channels, got {x.dtype} {x.shape}; {how}")
    if x.shape[0] < 2 or x.shape[2] < 1 or x.shape[3] < 1:
        raise DataError(f"{p}: 'x' holds {x.shape[0]} images of {x.shape[2]}x{x.shape[3]}; "
                        "training needs at least 2 (one is held out)")
    lo, hi = int(x.min()), int(x.max())
    if lo < 0 or hi > 255:
        raise DataError(f"{p}: pixel values must be 0..255, found {lo}..{hi}; shift or rescale the images")
    if y is not None and (y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or int(y.min()) < 0):
        raise DataError(f"{p}: 'y' must be {x.shape[0]} integer labels >= 0 (one per image), "
                        f"got {y.dtype} {y.shape}; {how}")
    return x.astype(np.int64), (None if y is None else y.astype(np.int64))


def load_image_folder(path: str | Path, channels: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """PNG/JPEG files of one size under ``path`` (subfolders become class labels, sorted)."""
    from PIL import Image

    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
    if not files:
        raise DataError(f"{root}: no image files (.png, .jpg, .bmp) found")
    classes = sorted({p.parent.relative_to(root).as_posix() for p in files})
    images, labels = [], []
    for f in files:
        try:
            img = np.asarray(Image.open(f).convert("L" if channels == 1 else "RGB"))
        except OSError as e:
            raise DataError(f"{f}: cannot read image ({e})") from None
        images.append(img[None] if channels == 1 else img.transpose(2, 0, 1))
        labels.append(classes.index(f.parent.relative_to(root).as_posix()))
    if len({im.shape for im in images}) != 1:
        raise DataError(f"{root}: images differ in size; resize them to one size first")
    return np.stack(images).astype(np.int64), (np.array(labels) if len(classes) > 1 else None)


# --- downloads ----------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, checksum: str) -> Path:
    """Fetch ``url`` to ``dest`` (atomically) unless a file with the right SHA-256 is there."""
    if dest.is_file() and sha256(dest) == checksum:
        return dest
    with atomic_path(dest, suffix=".part") as tmp:
        try:
            urllib.request.urlretrieve(url, tmp)
        except OSError as e:
            raise DataError(f"cannot download {url} ({e}); check the network or put the file at {dest}") from None
        got = sha256(tmp)
        if got != checksum:
            raise DataError(f"{url}: checksum mismatch (sha256 {got}, expected {checksum}); not kept")
    return dest


def load_mnist(split: str, cache_dir: Path = DEFAULT_CACHE, base_url: str = MNIST_URL,
               files: dict[str, str] = MNIST_FILES) -> tuple[np.ndarray, np.ndarray]:
    """MNIST ``train``/``test``, downloaded to ``cache_dir/mnist`` on first use."""
    root = Path(cache_dir) / "mnist"
    for name, checksum in files.items():
        download(base_url + name, root / name, checksum)
    return load_idx_pair(root, split)


def load_cifar10(split: str, cache_dir: Path = DEFAULT_CACHE, base_url: str = CIFAR_URL,
                 files: dict[str, str] = CIFAR_FILES) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 ``train``/``test`` (N, 3, 32, 32), downloaded to ``cache_dir/cifar10`` on first use."""
    (name, checksum), = files.items()
    archive = download(base_url + name, Path(cache_dir) / "cifar10" / name, checksum)
    wanted = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    xs, ys = [], []
    with tarfile.open(archive, "r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers()}
        for batch in wanted:
            if batch not in members:
                raise DataError(f"{archive}: {batch} missing; delete the file to re-download")
            f = tar.extractfile(members[batch])
            if f is None:  # a directory or link, not a file
                raise DataError(f"{archive}: {batch} is not a file; delete the archive to re-download")
            d = pickle.load(f, encoding="latin1")  # noqa: S301 (checksummed)
            xs.append(np.asarray(d["data"], dtype=np.int64).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d["labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)
