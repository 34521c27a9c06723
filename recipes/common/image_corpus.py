#!/usr/bin/env python3
"""Download (with checksums), prepare and stand in for the MNIST and CIFAR-10 image recipes.

* ``download``: fetch the dataset's files (MNIST: four IDX ``.gz``; CIFAR-10:
  ``cifar-10-python.tar.gz``) into ``OUT/`` and check each one's sha256
  (the published ones, or those in ``--checksums`` for a mirror / stand-in).
  ``--source`` is a URL folder or a local folder holding the files.
* ``prepare``: turn them into ``OUT/train.npz`` and ``OUT/test.npz``
  (``x`` uint8 (N, C, H, W), ``y`` labels) that ``data.dataset: npz`` reads.
* ``standin``: write small files in exactly the real formats (IDX ``.gz``;
  the CIFAR ``cifar-10-batches-py/`` pickles in a ``.tar.gz``), made from
  scikit-learn's digits, plus ``SHA256SUMS``, so the recipe runs offline.

Usage:
  python recipes/common/image_corpus.py download --dataset mnist --out exp/mnist/downloads [--source DIR_OR_URL]
  python recipes/common/image_corpus.py prepare --dataset mnist --root exp/mnist/downloads --out exp/mnist/data
  python recipes/common/image_corpus.py standin --dataset cifar10 --out /tmp/cifar_standin
"""

from __future__ import annotations

import argparse
import gzip
import io
import pickle
import shutil
import struct
import sys
import tarfile
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recipes/ for `common`

from common.corpus import Archive, fetch_archive, read_checksums, run_main, sha256_file  # noqa: E402
from wavekit.image import data as image_data  # noqa: E402

FILES = {"mnist": (image_data.MNIST_URL, image_data.MNIST_FILES), "cifar10": (image_data.CIFAR_URL, image_data.CIFAR_FILES)}
CIFAR_DIR = "cifar-10-batches-py"


def download(dataset: str, out: Path, source: str | None, checksums: Path | None) -> list[Path]:
    base, files = FILES[dataset]
    sums = read_checksums(checksums) if checksums else {}
    out.mkdir(parents=True, exist_ok=True)
    got = []
    for name, sha in files.items():
        dest = out / name
        expected = sums.get(name, sha)
        if dest.is_file() and sha256_file(dest) == expected:
            print(f"{name}: already here, checksum ok")
            got.append(dest)
            continue
        path = fetch_archive(Archive(name, base + name, sha, "", name), out, source=source, sha256=expected)
        if path.resolve() != dest.resolve():
            shutil.copyfile(path, dest)
        print(f"{name}: checksum ok")
        got.append(dest)
    return got


def prepare(dataset: str, root: Path, out: Path, limit: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        if dataset == "mnist":
            x, y = image_data.load_idx_pair(root, split)
        else:
            (name, _), = image_data.CIFAR_FILES.items()
            # the archive was verified by `download`; give the loader its actual checksum so it reads it in place
            x, y = image_data.load_cifar10(split, _cifar_cache(root), base_url="file:///nonexistent/",
                                           files={name: sha256_file(root / name)})
        if limit and split == "train":
            x, y = x[:limit], y[:limit]
        tmp = out / f".{split}.tmp.npz"
        np.savez(tmp, x=x.astype(np.uint8), y=y.astype(np.int64))
        tmp.replace(out / f"{split}.npz")
        print(f"wrote {out / f'{split}.npz'}: {x.shape[0]} images {tuple(x.shape[1:])}")


def _cifar_cache(root: Path) -> Path:
    """A cache folder whose ``cifar10/`` links to the archive in ``root`` (load_cifar10's layout)."""
    cache = root / ".cache"
    (cache / "cifar10").mkdir(parents=True, exist_ok=True)
    (name, _), = image_data.CIFAR_FILES.items()
    link = cache / "cifar10" / name
    if not link.exists():
        link.symlink_to((root / name).resolve())
    return cache


# ---------------------------------------------------------------- stand-ins


def _digit_images(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits upscaled to ``size`` x ``size``, 0..255 uint8, with labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.random.default_rng(seed).permutation(len(d.images))[:n]
    scale = size // 8
    img = np.kron(d.images[idx], np.ones((scale, scale)))
    pad = (size - img.shape[1]) // 2
    img = np.pad(img, ((0, 0), (pad, size - img.shape[1] - pad), (pad, size - img.shape[2] - pad)))
    return np.clip(img * 16, 0, 255).astype(np.uint8), d.target[idx].astype(np.uint8)


def _idx_bytes(arr: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _write_gz(path: Path, payload: bytes) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(payload)


def standin(dataset: str, out: Path, n_train: int, n_test: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if dataset == "mnist":
        for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
            x, y = _digit_images(n, 28, seed)
            for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
                path = out / f"{prefix}-{kind}-ubyte.gz"
                _write_gz(path, _idx_bytes(arr))
                written.append(path)
    else:
        archive = out / "cifar-10-python.tar.gz"
        batches = {f"data_batch_{i}": (n_train // 5, i) for i in range(1, 6)} | {"test_batch": (n_test, 9)}
        with tarfile.open(archive, "w:gz") as tar:
            for name, (n, seed) in batches.items():
                x, y = _digit_images(n, 32, seed)
                rgb = np.stack([x, x[:, ::-1], 255 - x], axis=1)  # three different channels
                blob = pickle.dumps({"data": rgb.reshape(n, -1), "labels": y.tolist()})
                info = tarfile.TarInfo(f"{CIFAR_DIR}/{name}")
                info.size, info.mtime = len(blob), 946684800
                tar.addfile(info, io.BytesIO(blob))
        written.append(archive)
    (out / "SHA256SUMS").write_text("".join(f"{sha256_file(p)}  {p.name}\n" for p in written))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("download")
    d.add_argument("--dataset", choices=sorted(FILES), required=True)
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--source", default=None, help="URL folder or local folder holding the files (default: the official URL)")
    d.add_argument("--checksums", type=Path, default=None, help="sha256sum-style file overriding the checksums")
    p = sub.add_parser("prepare")
    p.add_argument("--dataset", choices=sorted(FILES), required=True)
    p.add_argument("--root", type=Path, required=True, help="folder the download step filled")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--limit", type=int, default=0, help="keep only the first N training images (0: all)")
    s = sub.add_parser("standin")
    s.add_argument("--dataset", choices=sorted(FILES), required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--train", type=int, default=200)
    s.add_argument("--test", type=int, default=50)
    args = ap.parse_args(argv)
    if args.cmd == "download":
        download(args.dataset, args.out, args.source, args.checksums)
    elif args.cmd == "prepare":
        prepare(args.dataset, args.root, args.out, args.limit)
    else:
        for path in standin(args.dataset, args.out, args.train, args.test):
            print(f"wrote {path}")
        print(f"checksums in {args.out / 'SHA256SUMS'}")
    return 0


if __name__ == "__main__":
    run_main(main)
