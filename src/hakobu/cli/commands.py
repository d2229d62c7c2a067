"""Every `hakobu` command. Importing the command modules registers their commands, in
the order `hakobu --help` lists them: provision, ship, operate, then the sandbox.

The whole app, for tests and tools that build it with typer (`typer.main.get_command`,
`CliRunner`). `hakobu` itself runs `cli/lazy.py`'s root group, which imports only the
module of the command that runs (`COMMAND_MODULES` there lists the same commands in the
same order; tests/cli/test_lazy_group.py keeps them equal)."""

# ruff: noqa: I001  (the import order is the help's order)
from hakobu.cli.app import app
from hakobu.cli import provisioning
from hakobu.cli import deploying
from hakobu.cli import ci_commands
from hakobu.cli import status_commands
from hakobu.cli import doctor_commands
from hakobu.cli import logs_commands
from hakobu.cli import session_commands
from hakobu.cli import process_commands
from hakobu.cli import scale_commands
from hakobu.cli import edge_commands
from hakobu.cli import secrets_commands
from hakobu.cli import pause_commands
from hakobu.cli import cost_commands
from hakobu.cli import diagram_commands
from hakobu.cli import sandbox_commands

__all__ = [
    "app",
    "ci_commands",
    "cost_commands",
    "deploying",
    "diagram_commands",
    "doctor_commands",
    "edge_commands",
    "logs_commands",
    "pause_commands",
    "process_commands",
    "provisioning",
    "sandbox_commands",
    "scale_commands",
    "secrets_commands",
    "session_commands",
    "status_commands",
]
