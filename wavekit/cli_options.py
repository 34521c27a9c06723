"""Click options that every command shares, so each takes a model the same way (``-c/--checkpoint``).

Ground floor: imports click only, so any wing's ``commands.py`` may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def checkpoint_option(help_text: str) -> Callable[[Any], Any]:
    """``-c/--checkpoint FILE`` plus a hidden positional CHECKPOINT (the older form) as ``old_checkpoint``."""

    def decorate(f: Any) -> Any:
        f = click.option("-c", "--checkpoint", "checkpoint", type=click.Path(dir_okay=False), default=None,
                         help=help_text)(f)
        return click.argument("old_checkpoint", required=False, metavar="", type=click.Path(dir_okay=False))(f)

    return decorate


def pick_checkpoint(checkpoint: str | None, old_checkpoint: str | None, *, deprecated: bool = True) -> str:
    """The checkpoint given as ``-c`` or positionally; a usage error (exit 2) if it is missing or given twice.

    ``deprecated``: print a one-line note on stderr when the positional form is used.
    """
    if checkpoint is not None and old_checkpoint is not None:
        raise click.UsageError("give the checkpoint once, as -c/--checkpoint")
    if old_checkpoint is not None:
        if deprecated:
            click.echo("Note: a positional CHECKPOINT is deprecated; pass it as -c/--checkpoint", err=True)
        return old_checkpoint
    if checkpoint is None:
        raise click.UsageError("missing option -c/--checkpoint")
    return checkpoint


def outdir_option(help_text: str, old: str = "--out") -> Callable[[Any], Any]:
    """``-o/--outdir DIR`` (a folder output) plus the older spelling ``old`` (hidden) as ``old_outdir``.

    Resolve the two with :func:`pick_outdir`. A file output is ``-o/--output FILE`` instead.
    """

    def decorate(f: Any) -> Any:
        f = click.option(old, "old_outdir", type=click.Path(file_okay=False), default=None, hidden=True,
                         help="Deprecated spelling of -o/--outdir.")(f)
        return click.option("-o", "--outdir", "outdir", type=click.Path(file_okay=False), default=None,
                            help=f"{help_text}  [required]")(f)

    return decorate


def pick_outdir(outdir: str | None, old_outdir: str | None, *, old: str = "--out") -> str:
    """The folder given as ``-o/--outdir`` or with the older spelling; a usage error (exit 2) if missing or twice."""
    return pick_spelling(outdir, old_outdir, name="-o/--outdir", old=old, what="the output folder")


def pick_spelling(value: str | None, old_value: str | None, *, name: str, old: str, what: str) -> str:
    """A required value given as option ``name`` or its deprecated spelling ``old`` (a note on stderr);
    a usage error (exit 2) if it is missing or given both ways."""
    if value is not None and old_value is not None:
        raise click.UsageError(f"give {what} once, as {name} ({old} is its deprecated spelling)")
    if old_value is not None:
        click.echo(f"Note: {old} is deprecated; pass {what} as {name}", err=True)
        return old_value
    if value is None:
        raise click.UsageError(f"missing option {name}")
    return value


POSTFILTER_HELP = ("Carry the output's own pitch periodicity to the whole band, then match its log-mel to its "
                   "input mel (wavekit.audio.postfilter: a pitch comb, then band levels per frame, the phase kept); "
                   "--no-postfilter writes the network's output as it is.")


def postfilter_option(f: Any) -> Any:
    """``--postfilter/--no-postfilter`` (default on), the one spelling of every vocoding command."""
    return click.option("--postfilter/--no-postfilter", default=True, show_default=True, help=POSTFILTER_HELP)(f)
