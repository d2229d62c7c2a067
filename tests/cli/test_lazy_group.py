"""The root group `hakobu` runs (cli/lazy.py) against typer's full build of the whole app.

`hakobu` imports and builds only the command it runs; these tests pin that this changes
nothing a user sees: the same commands in the same order, every help screen the same
text as typer's full build draws, a mistyped command still gets its suggestion, and a
command's help loads no other command module (in a real process).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from hakobu.cli.commands import app
from hakobu.cli.help import help_screen
from hakobu.cli.lazy import COMMAND_MODULES, root_group
from tests.conftest import run_hakobu

# Runs hakobu's entry point on argv, then prints the hakobu.cli modules it loaded.
_MODULES_AFTER = """
import sys
from hakobu.cli import main
sys.argv = ["hakobu", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
print(" ".join(sorted(m for m in sys.modules if m.startswith("hakobu.cli."))))
"""


def _drawn(command: Any, ctx: typer.Context) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None, emoji=False)
    console.print(*help_screen(command, ctx))
    return console.file.getvalue()  # type: ignore[attr-defined]


def _contexts(group: Any, path: list[str]) -> tuple[Any, typer.Context]:
    """The command at `path` under `group`, and its context (parents as click makes them)."""
    ctx = typer.Context(group, info_name="hakobu")
    command = group
    for word in path:
        command = command.get_command(ctx, word)
        ctx = typer.Context(command, info_name=word, parent=ctx)
    return command, ctx


def _every_path(full: Any) -> list[list[str]]:
    paths = [[]]
    for name, command in full.commands.items():
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


def test_lists_the_commands_typer_registers_in_their_order_and_modules() -> None:
    full = typer.main.get_command(app)
    lazy = root_group()
    ctx = typer.Context(lazy, info_name="hakobu")

    assert lazy.list_commands(ctx) == list(full.commands)  # type: ignore[attr-defined]
    for name, command in full.commands.items():  # type: ignore[attr-defined]
        callback = command.callback if command.callback else None
        module = getattr(callback, "__module__", "")
        if not module.startswith("hakobu.cli."):  # a group: its first subcommand's module
            first = next(iter(command.commands.values()))
            module = first.callback.__module__
        assert module == f"hakobu.cli.{COMMAND_MODULES[name]}", name


def test_every_help_screen_is_the_text_of_typers_full_build() -> None:
    full = typer.main.get_command(app)
    paths = _every_path(full)
    assert len(paths) > 40  # the root, 29 commands, the groups' subcommands

    for path in paths:
        lazy = root_group()  # a fresh group each time: nothing built before
        expected = _drawn(*_contexts(full, path))
        assert _drawn(*_contexts(lazy, path)) == expected, " ".join(["hakobu", *path])


def test_builds_only_the_command_it_runs(tmp_path: Path) -> None:
    lazy = root_group()
    with contextlib.suppress(SystemExit):
        lazy.main(["init", "--help"], prog_name="hakobu", standalone_mode=False)
    assert list(lazy.commands) == ["init"]

    done = subprocess.run(
        [sys.executable, "-c", _MODULES_AFTER, "cost", "--help"],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.splitlines()[-1].split())
    command_modules = {f"hakobu.cli.{module}" for module in COMMAND_MODULES.values()}
    assert loaded & command_modules == {"hakobu.cli.cost_commands"}


def test_a_mistyped_command_is_still_named_with_the_close_ones(tmp_path: Path) -> None:
    done = run_hakobu("stat", cwd=tmp_path)
    assert done.code == 2, done.output
    assert "No such command 'stat'. Did you mean 'status'?" in done.stderr

    done = run_hakobu("sandbox", "stt", cwd=tmp_path)
    assert "Did you mean 'start', 'status'?" in done.stderr, done.stderr
    assert "Traceback" not in done.output
