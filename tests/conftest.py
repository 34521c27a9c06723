"""Shared fixtures: offline data locations (skip with the install command if absent)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

FILLETS_ROOT = Path(os.environ.get("WAVEKIT_FILLETS", "/usr/share/games/fillets-ng"))
FASHION_ROOT = Path(os.environ.get("WAVEKIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
INSTALL_HINT = "run `make data` as root (or: sudo apt-get install -y {pkg})"

# One intra-op thread for the whole suite: the models under test are tiny and
# step-by-step (per-sample generation, recurrent decoders), where a second BLAS
# thread only adds hand-off cost, badly so when the cores are busy. Subprocess
# tests (recipes, torchrun) choose their own threads.
torch.set_num_threads(1)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Re-pin before every test and its fixtures (session ones included): numba's
    OpenMP layer can reset torch's thread count after a parallel kernel call."""
    torch.set_num_threads(1)


def fillets_speech_files() -> list[Path]:
    """Czech speech files of fillets-ng, sorted; empty if the package is absent."""
    if not FILLETS_ROOT.is_dir():
        return []
    return sorted(p for p in FILLETS_ROOT.rglob("*.ogg") if "/sound/" in str(p) and "/cs/" in str(p))


@pytest.fixture(scope="session")
def fillets_files() -> list[Path]:
    files = fillets_speech_files()
    if not files:
        pytest.skip("fillets-ng Czech speech not installed; " + INSTALL_HINT.format(pkg="fillets-ng-data-cs"))
    return files


@pytest.fixture(scope="session")
def espeak_bin() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed; " + INSTALL_HINT.format(pkg="espeak-ng"))
    return exe


@pytest.fixture(scope="session")
def fashion_mnist_dir() -> Path:
    if not (FASHION_ROOT / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST not installed; " + INSTALL_HINT.format(pkg="dataset-fashion-mnist"))
    return FASHION_ROOT


@pytest.fixture
def cuda_device() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return torch.device("cuda")
