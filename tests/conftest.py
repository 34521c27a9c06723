"""Shared fixtures: offline data locations (skip with the install command if absent).

Also what the suite needs under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``):
test files kept whole on one worker, the slow ones handed out first, and numba compiles
serialized across the workers (see the section at the end).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
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


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test that takes the ``cuda_device`` fixture is a CUDA test: ``pytest -m cuda`` selects it
    (scripts/device_check.sh runs exactly those on the GPU machine)."""
    if "cuda_device" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.cuda)


@pytest.fixture
def cuda_device() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return torch.device("cuda")


# ----------------------------------------------------------------- pytest-xdist (make test: -n 2 --dist loadgroup)

TESTS = Path(__file__).resolve().parent
# Files whose tests share nothing costly (each builds its own tmp experiment): one unit per test, so
# the recipe runs spread over the workers instead of queueing on one.
SPLIT_FILES = {"recipes/test_recipes_e2e.py"}
# Session fixtures too costly to build on every worker: the files using one run as one unit.
SHARED_FIXTURES = ("trained_tts",)
# Files whose tests run numba kernels in a child process (`wavekit vocode`, egs/): they first put the
# vocoder's kernels in numba's on-disk cache from this process, so no child compiles them beside a
# worker that is compiling (see _serialize_numba_compiles).
CHILD_NUMBA_FILES = {"recipes/test_recipes_e2e.py", "test_egs.py", "generate/test_generate_faults.py"}


def _rel(path: os.PathLike) -> str:
    """A test file's path relative to tests/ (as given when outside it)."""
    p = Path(path).resolve()
    return p.relative_to(TESTS).as_posix() if p.is_relative_to(TESTS) else str(p)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``: group tests by file (module and session fixtures built once; files
    sharing a SHARED_FIXTURES fixture merged), the long units first and the short ones filling in at
    the end (see ``order``); each file's tests keep their order."""
    if getattr(config.option, "dist", "no") != "loadgroup":
        return
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(_rel(item.path), []).append(item)
    for rel, file_items in by_file.items():
        if rel in SPLIT_FILES:
            continue
        shared = sorted({f for item in file_items for f in SHARED_FIXTURES if f in getattr(item, "fixturenames", ())})
        group = shared[0] if shared else rel
        for item in file_items:
            item.add_marker(pytest.mark.xdist_group(group))

    def order(rel: str) -> int:
        """The Tacotron group first (~1 min of training before any numba use, while the other worker
        compiles the vocoder kernels for the first speech recipe), then the recipes, other slow files."""
        file_items = by_file[rel]
        if any(f in getattr(i, "fixturenames", ()) for i in file_items for f in SHARED_FIXTURES):
            return 0
        if rel in SPLIT_FILES:
            return 1
        return 2 if any(i.get_closest_marker("slow") for i in file_items) else 3

    items[:] = [item for rel in sorted(by_file, key=order) for item in by_file[rel]]


def _warm_librosa_numba() -> None:
    """Compile (or load) librosa's own numba functions that the suite uses, once, before any worker starts.

    librosa caches them beside its sources in the venv, and its gufuncs (``localmin`` in pyin, ...)
    do not compile through ``Dispatcher.compile``, so the lock below cannot order them: two workers
    compiling them at once on a fresh venv wrote a cache that made every later ``pyin`` crash
    (segmentation fault). Run in the xdist controller (or a plain run) it leaves only cache loads.
    """
    import librosa
    import numpy as np

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = (0.1 * rng.standard_normal(4096)).astype(dtype)
        librosa.pyin(x, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=256)
        librosa.pyin(x, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=256, resolution=0.2,
                     n_thresholds=30)
        librosa.yin(x, fmin=60, fmax=500, sr=16000, frame_length=1024, hop_length=256)
        librosa.lpc(x, order=16)
        librosa.util.localmax(x)
        librosa.util.localmin(x)


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controller, or a run without xdist
        _warm_librosa_numba()


def _numba_lock_path() -> Path:
    """One lock file per checkout (numba caches next to the sources), shared by the workers."""
    return Path(tempfile.gettempdir()) / f"wavekit-numba-{hashlib.sha1(str(TESTS).encode()).hexdigest()[:12]}.lock"


def _serialize_numba_compiles() -> None:
    """One numba compile (or cache load) at a time across the xdist workers of this checkout.

    numba's on-disk cache is not safe for two processes saving different signatures of one function
    at once: both read the same index, pick the same data file name, and the last index and the last
    data file written may come from different processes (the index then maps a signature to another
    signature's code). Under the lock a worker that waited finds the other's result in the cache and
    loads it instead of compiling the same kernel again. Compiles nested in a compile (a kernel's
    callees) run under the lock already held.
    """
    from numba.core.dispatcher import Dispatcher

    original = Dispatcher.compile
    guard = threading.RLock()
    depth = 0
    fd = os.open(_numba_lock_path(), os.O_RDWR | os.O_CREAT, 0o666)

    def compile(self, sig):  # noqa: ANN001 (numba's signature)
        nonlocal depth
        with guard:
            if depth == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            depth += 1
            try:
                return original(self, sig)
            finally:
                depth -= 1
                if depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    Dispatcher.compile = compile


if os.environ.get("PYTEST_XDIST_WORKER"):
    _serialize_numba_compiles()


@pytest.fixture(autouse=True)
def _child_numba_cache(request: pytest.FixtureRequest) -> None:
    """The tests of CHILD_NUMBA_FILES start with the vocoder kernels in numba's cache."""
    if _rel(request.node.path) in CHILD_NUMBA_FILES:
        request.getfixturevalue("numba_vocoder_cached")


@pytest.fixture(scope="session")
def numba_vocoder_cached(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`wavekit vocode` run once in this process (compiles under the lock above, or loads the cache),
    so that the vocoder kernels of a child `wavekit vocode` are in numba's cache before it starts."""
    import numpy as np
    from click.testing import CliRunner

    from wavekit.cli import cli
    from wavekit.config import to_dict
    from wavekit.train.checkpoint import save_checkpoint
    from wavekit.wavenet import WaveNet, WaveNetConfig

    base = tmp_path_factory.mktemp("numba_warm")
    cfg = WaveNetConfig(layers=2, stacks=1, residual_channels=4, gate_channels=8, skip_channels=4,
                        cin_channels=80, upsample_scales=[4, 4, 4, 4], gin_channels=4, n_speakers=2)
    with torch.random.fork_rng():  # leaves the global generator as the tests left it
        torch.manual_seed(0)
        model = WaveNet(cfg)
    save_checkpoint(base / "v.pt", {"kind": "wavenet", "config": to_dict(cfg), "model": model.state_dict()})
    np.save(base / "m.npy", np.zeros((80, 2), np.float32))
    for slots in ("8", "1"):
        res = CliRunner().invoke(cli, ["vocode", "-c", str(base / "v.pt"), str(base / "m.npy"), "-o",
                                       str(base / f"out{slots}"), "--slots", slots, "--speaker", "1"])
        assert res.exit_code == 0, res.output
