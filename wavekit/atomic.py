"""Atomic file writes: write a temporary file beside the target, then rename.

The one implementation every writer in wavekit uses (audio, features,
checkpoints, configs, plots, reports, manifests), so an interrupted job never
leaves a half-written file under a final name. Imports nothing heavy (no
torch), so light scripts can use it too.

A failed write (disk full, permission denied, read-only disk, a file where a
folder should be) raises :class:`wavekit.errors.OutputError` naming the target;
the temporary file is removed. Temporary names carry the writer's process id
(``.<name>.wk<pid>-<random><suffix>``), so :func:`clean_stale_temps` can remove
those a killed process left behind, and only those.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from wavekit.errors import WRITE_ONLY_ERRNOS, OutputError, output_error

_TEMP_RE = re.compile(r"^\..+\.wk(\d+)-[a-z0-9_]{8}")


def current_umask() -> int:
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _raise_output(exc: OSError, path: Path) -> None:
    err = output_error(exc, path)
    if err is None:
        raise exc
    raise err from None


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    The temporary file lives in the destination folder (so ``os.replace`` is a
    rename on the same file system), keeps ``path``'s suffix unless ``suffix``
    is given (writers that infer the format from it keep working), gets the
    usual permissions (mkstemp creates 0600), and is removed if the body raises.
    Write failures become :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.wk{os.getpid()}-",
                                   suffix=suffix or path.suffix or ".tmp")
    except OSError as e:
        _raise_output(e, path)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, path)
    except OSError as e:
        tmp_path.unlink(missing_ok=True)
        _raise_output(e, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes, suffix: str | None = None) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path, suffix=suffix) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def check_writable_dir(path: str | Path) -> Path:
    """Create folder ``path`` if needed and prove it writable (a probe file); OutputError otherwise.

    Call it before expensive work, so a read-only or misnamed output folder
    fails in a second, not after hours of computing.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=f".probe.wk{os.getpid()}-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        _raise_output(e, path)
    return path


def check_free_space(folder: str | Path, need_bytes: int, what: str) -> None:
    """OutputError when the disk of ``folder`` has less than ``need_bytes`` free (``what`` names the output)."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell; the writes themselves will say
    if need_bytes > free:
        raise OutputError(
            f"not enough space on the disk holding {folder}: {what} need about {_size(need_bytes)}, "
            f"{_size(free)} are free; free some space or choose an output folder on another disk"
        )


def _size(n: int) -> str:
    """``224 KB``, ``1.5 MB``, ``3.0 GB``: two significant figures or so."""
    unit, scale = next((u, s) for u, s in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)) if n >= s or u == "KB")
    return f"{n / scale:.0f} {unit}" if n >= 10 * scale else f"{n / scale:.1f} {unit}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temporary files in ``folder`` (not below) that dead processes left; returns them.

    Only names written by :func:`atomic_path` are touched, and only when the
    process id in the name is no longer running (SIGKILL, power loss).
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TEMP_RE.match(p.name)
        if m and not _alive(int(m.group(1))) and p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


@contextlib.contextmanager
def output_errors(path: str | Path, advice: str = "") -> Iterator[None]:
    """Turn write failures in the block into one :class:`OutputError` (naming the file, else ``path``).

    ``advice`` is appended (e.g. how to resume); OutputErrors raised inside
    get it too.
    """
    tail = f"; {advice}" if advice else ""
    try:
        yield
    except OutputError as e:
        raise OutputError(f"{e}{tail}") from None
    except OSError as e:
        # a permission error on a file outside ``path`` is a read (an input): not ours to rename
        inside = e.filename is None or Path(os.path.abspath(e.filename)).is_relative_to(os.path.abspath(path))
        err = output_error(e, e.filename or path) if (e.errno in WRITE_ONLY_ERRNOS or inside) else None
        if err is None:
            raise
        raise OutputError(f"{err}{tail}") from None
