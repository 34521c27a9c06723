"""Real faults for the reliability tests (tests/*/test_*_faults.py).

- :func:`small_disk`: a real, tiny file system (a tmpfs mounted for the test,
  resized or made read-only on demand, unmounted afterwards). Needs root (or
  CAP_SYS_ADMIN); skipped with the reason otherwise.
- :func:`unprivileged`: a command prefix that runs a real process which the
  kernel refuses to let write into a folder it does not own: user ``nobody``
  (``setpriv --reuid=65534``) where that user can run this Python, else root
  without the capabilities that bypass file permissions (DAC override). Skipped
  with the reason when neither works.
- :func:`wavekit_cmd` / :func:`child_env`: run ``python -m wavekit`` on the same
  code as the test process, in a subprocess.
- :func:`no_temporaries`: the atomic writer's leftovers in a folder tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wavekit

CODE_ROOT = Path(wavekit.__file__).resolve().parent.parent  # the wavekit under test (a worktree or main)
TESTS = Path(__file__).resolve().parent


class SmallDisk:
    """A tmpfs mounted at ``path``; :meth:`resize` and :meth:`read_only` remount it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _mount(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)

    def resize(self, kib: int) -> None:
        r = self._mount("-o", f"remount,size={kib}k", str(self.path))
        assert r.returncode == 0, r.stderr

    def read_only(self) -> None:
        r = self._mount("-o", "remount,ro", str(self.path))
        assert r.returncode == 0, r.stderr


@contextlib.contextmanager
def small_disk(path: Path, kib: int) -> Iterator[SmallDisk]:
    """Mount a ``kib`` KiB tmpfs at ``path`` (created) for the block; skip the test when mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no `mount` command: cannot make a small file system")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k,mode=0777", "tmpfs", str(path)],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a real full disk (needs root or CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a ``python -m wavekit`` child on the code under test (one thread)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CODE_ROOT), str(TESTS / "train")])
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    return env


def wavekit_cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "wavekit", *map(str, args)]


_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
_NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def unprivileged() -> list[str]:
    """Prefix for a process that file permissions apply to (see module docstring); skips if none works."""
    if os.geteuid() != 0:
        return []  # already an ordinary user
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv not installed: cannot run a process as an unprivileged user")
    probe = [sys.executable, "-c", "import wavekit.atomic"]
    env = child_env(HOME="/tmp")
    for prefix in (_NOBODY, _NO_DAC):
        if subprocess.run(prefix + probe, env=env, capture_output=True, check=False).returncode == 0:
            return prefix
    pytest.skip("neither user nobody nor capability-less root can run this Python")


def world_dir(path: Path) -> Path:
    """``path`` created and made readable by everyone, with every folder above it traversable."""
    path.mkdir(parents=True, exist_ok=True)
    for p in [path, *path.parents]:
        if p == Path("/"):
            break
        with contextlib.suppress(OSError):
            os.chmod(p, os.stat(p).st_mode | 0o555)
    return path


def no_temporaries(root: Path) -> list[Path]:
    """Temporary files of the atomic writer (``.<name>.<random>``) anywhere under ``root``."""
    return [p for p in root.rglob(".*") if p.is_file()]


def wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def children_of(pid: int) -> list[int]:
    """Direct child process ids of ``pid`` (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def error_line(result, code: int = 1) -> str:
    """The one ``Error:`` line of a failed CliRunner ``result``; fails if it crashed (a traceback in a shell)."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crashed with {type(result.exception).__name__}: {result.exception}")
    errors = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    return errors[0]


def process_error_line(proc: subprocess.CompletedProcess, code: int = 1) -> str:
    """The one ``Error:`` line of a failed ``python -m wavekit`` child; fails on a traceback."""
    assert proc.returncode == code, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


def default_sigint() -> None:
    """``preexec_fn`` for a child that Ctrl-C must reach even when pytest itself runs with SIGINT ignored
    (a background job of a non-interactive shell): restore the default action before exec."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
