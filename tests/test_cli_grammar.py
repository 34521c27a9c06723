"""One CLI grammar: every command's --help shows an example; a model is -c/--checkpoint, a file output
-o/--output, a folder output -o/--outdir (the older --out still accepted, with a note); usage errors exit 2."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from wavekit.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


COMMANDS = sorted(_commands(cli), key=lambda item: item[0])


def test_the_walk_finds_the_documented_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"preprocess", "train", "vocode", "synthesize", "generate", "bench", "info", "image train",
            "image sample", "eval speech", "eval copy-synthesis"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_commands_help_shows_an_example(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"wavekit {' '.join(path)} --help has no example"


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_models_outputs_and_folders_are_spelled_one_way(path, cmd):
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = set(param.opts) | set(param.secondary_opts)
        if "--checkpoint" in names:
            assert "-c" in names, f"{' '.join(path)}: --checkpoint without -c"
        if "-o" in names:
            assert names & {"--output", "--outdir"}, f"{' '.join(path)}: -o is {sorted(names)}"
        assert "--out" not in names, f"{' '.join(path)}: a visible --out (use -o/--outdir or -o/--output)"
        if "--outdir" in names:
            assert "-o" in names


@pytest.mark.parametrize("path", [("train",), ("image", "train")])
def test_folder_output_usage_errors_exit_2_and_the_old_spelling_still_works(path, tmp_path):
    runner = CliRunner()
    conf = str(tmp_path / "missing.yaml")
    missing = runner.invoke(cli, [*path, "--config", conf])
    assert missing.exit_code == 2 and "-o/--outdir" in missing.output
    twice = runner.invoke(cli, [*path, "--config", conf, "-o", str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert twice.exit_code == 2 and "once" in twice.output
    old = runner.invoke(cli, [*path, "--config", conf, "--out", str(tmp_path / "a")])
    assert "--out is deprecated" in old.output
    assert old.exit_code == 1 and "config file not found" in old.output  # got past the option: a user error
