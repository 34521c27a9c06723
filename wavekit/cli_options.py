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
