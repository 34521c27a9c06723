"""The ``wavekit`` command: a thin click layer over library functions.

Each subcommand lives next to the library code it wraps
(``wavekit/<area>/commands.py``) and is registered here explicitly.
User errors (:class:`wavekit.errors.WavekitError`) print one clear
``Error: ...`` line and exit with status 1; so does a failed write that no
command mapped itself (disk full, permission denied, read-only disk, a file
where a folder should be). Ctrl-C exits with 130 after saying that finished
work is kept and how to continue (``--resume`` for train, ``--skip-existing``
for vocode). None of these shows a traceback, in a shell or under click's
``CliRunner``.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import click

from wavekit import __version__
from wavekit.errors import WRITE_ONLY_ERRNOS, WavekitError, output_error


class WavekitGroup(click.Group):
    """A click group that turns wavekit's user errors into clean CLI failures."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WavekitError as e:
            raise click.ClickException(str(e)) from None
        except OSError as e:  # a file error no command mapped: still one line naming the file
            err = output_error(e) if e.errno in WRITE_ONLY_ERRNOS else None
            if err is not None:
                raise click.ClickException(f"{err}; finished work is kept: rerun the same command afterwards") from None
            if e.errno in (errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR) and e.filename:
                raise click.ClickException(f"{e.strerror}: {e.filename}; check the path and its permissions") from None
            raise
        except KeyboardInterrupt:
            click.echo(f"\ninterrupted: finished work is kept; {_RESUME.get(ctx.invoked_subcommand, _RESUME[None])}",
                       err=True)
            ctx.exit(INTERRUPTED)


INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT); :func:`main` ends the process at once on it."""

_RESUME = {
    None: "rerun the same command to continue",
    "train": "rerun the same command with --resume to continue from the last checkpoint",
    "image": "rerun the same command (image train: with --resume) to continue",
    "vocode": "rerun the same command with --skip-existing to vocode only the rest",
}


@click.group(cls=WavekitGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="wavekit")
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=False,
              help="CPU threads for torch and numba (0 = auto: the free cores; OMP_NUM_THREADS is respected).")
def cli(threads: int) -> None:
    """wavekit: WaveNet vocoder, text to speech and PixelCNN-family image models."""
    from wavekit import threads as thread_settings

    thread_settings.for_command(threads or None)


def _register() -> None:
    # Explicit list: one import and one add_command per command (no discovery magic).
    from wavekit.audio.commands import preprocess
    from wavekit.eval.commands import eval_group
    from wavekit.generate.commands import bench, generate, vocode
    from wavekit.image.commands import image
    from wavekit.train.commands import info, train
    from wavekit.tts.commands import synthesize

    cli.add_command(preprocess)
    cli.add_command(eval_group)
    cli.add_command(train)
    cli.add_command(info)
    cli.add_command(synthesize)
    cli.add_command(vocode)
    cli.add_command(generate)
    cli.add_command(bench)
    cli.add_command(image)


_register()


def main() -> None:
    """Console-script entry point (``wavekit`` and ``python -m wavekit``).

    After Ctrl-C (exit 130) the command has already removed its temporaries and kept its
    finished files, so the process ends with ``os._exit`` rather than a full interpreter
    shutdown: native thread pools (numba's, torch's) torn down while a worker was cut off
    mid-task could abort at exit ("terminate called without an active exception", signal 6)
    instead of exiting 130. Everything else exits normally.
    """
    try:
        cli(prog_name="wavekit")
    except SystemExit as e:
        if e.code != INTERRUPTED:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)
