"""Errors a user can cause.

Every class here derives from :class:`WavekitError`. The CLI catches
``WavekitError``, prints its message (which names the file or setting at
fault and says what to do) and exits non-zero without a traceback.
Programming errors inside wavekit are *not* WavekitErrors and keep their
tracebacks.
"""

from __future__ import annotations

import errno


class WavekitError(Exception):
    """Base class for errors caused by user input (files, configs, shapes)."""


class AudioError(WavekitError):
    """An audio file is missing, unreadable, empty, or otherwise unusable."""


class FeatureError(WavekitError):
    """Features (e.g. a mel spectrogram) have the wrong shape, values or settings."""


class DataError(WavekitError):
    """A data set, manifest or shard folder is missing or malformed."""


class ConfigError(WavekitError):
    """A configuration file or ``--set`` override is invalid (unknown key, wrong type)."""


class CheckpointError(WavekitError):
    """A checkpoint is missing, corrupt, or does not fit the requested use."""


class TextError(WavekitError):
    """Input text cannot be turned into symbols (empty, or no known symbols)."""


class OutputError(WavekitError):
    """A result cannot be written: disk full, permission denied, read-only disk, or a file where a folder should be.

    Never a fault of the input: preprocessing does not reject a file for it,
    and a rerun after fixing the cause finishes the job.
    """


# errno -> what to tell the user; ``{path}`` is the file or folder being written.
_WRITE_FAULTS = {
    errno.ENOSPC: "no space left on the disk holding {path}; free some space or choose an output folder on another disk",
    errno.EDQUOT: "disk quota exceeded writing {path}; free some space or choose an output folder on another disk",
    errno.EFBIG: "{path}: file size limit reached (`ulimit -f` or the file system); raise the limit or write elsewhere",
    errno.EACCES: "permission denied writing {path}; choose an output folder you can write to, or fix its permissions",
    errno.EPERM: "permission denied writing {path}; choose an output folder you can write to, or fix its permissions",
    errno.EROFS: "{path} is on a read-only file system; choose an output folder on a writable disk",
    errno.ENOTDIR: "{path}: part of this path is a file, not a folder; choose another output folder or move that file",
    errno.EEXIST: "{path}: a file is in the way of this folder; choose another output folder or move that file",
    errno.EISDIR: "{path} is a folder; give a file name",
}


# errnos that only a write can cause (a permission or not-a-folder error may also come from a read).
WRITE_ONLY_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def output_error(exc: OSError, path: object = None) -> OutputError | None:
    """The :class:`OutputError` for a failed write (``exc``) of ``path``; None for other OS errors.

    ``path`` defaults to the file the error names. Disk full, quota, file
    size limit, permission, read-only, not-a-folder and is-a-folder errors map.
    """
    template = _WRITE_FAULTS.get(exc.errno) if isinstance(exc, OSError) and exc.errno is not None else None
    if template is None:
        return None
    where = path if path is not None else (exc.filename or "the output")
    return OutputError(template.format(path=where))
