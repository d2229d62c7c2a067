"""The root group `hakobu` runs: it imports and builds only the command that is invoked.

typer builds a click command for every registered command before it runs any one: it
inspects the signature of all of them and evaluates their string annotations (about a
fifth of `hakobu CMD --help`'s start-up, bench/startup.py). `LazyGroup` knows each
command's name and the module that registers it (`COMMAND_MODULES`, in the order
`hakobu --help` lists them); asked for a command, it imports that module and has typer
build that command alone, from the same registration on `hakobu.cli.app.app`.
`hakobu --help` imports every command module to list them, but builds none: each line
comes from the registration (name, panel, docstring) as typer would have it.

`hakobu.cli.commands.app` (every module imported) stays the whole app for tests and
tools that want typer's own full build; tests/cli/test_lazy_group.py keeps the two equal.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import typer
from typer._click.exceptions import UsageError  # typer 0.26+ carries its own click
from typer.main import (
    get_command_from_info,
    get_command_name,
    get_group_from_info,
    solve_typer_info_defaults,
)
from typer.models import CommandInfo, DefaultPlaceholder, TyperInfo

from hakobu.cli.app import app
from hakobu.cli.help import HelpGroup

# Every command, in the order typer registers them (commands, then groups, each in the
# import order of hakobu.cli.commands): the help's order within each panel.
COMMAND_MODULES: dict[str, str] = {
    "init": "provisioning", "plan": "provisioning", "up": "provisioning",
    "outputs": "provisioning", "destroy": "provisioning", "eject": "provisioning",
    "deploy": "deploying", "rollback": "deploying", "releases": "deploying",
    "images": "deploying", "status": "status_commands", "doctor": "doctor_commands",
    "logs": "logs_commands", "exec": "session_commands", "console": "session_commands",
    "run": "session_commands", "scale": "scale_commands", "alarms": "edge_commands",
    "pause": "pause_commands", "resume": "pause_commands", "cost": "cost_commands",
    "diagram": "diagram_commands", "ci": "ci_commands", "iam": "ci_commands",
    "db": "session_commands", "schedules": "process_commands", "domain": "edge_commands",
    "secrets": "secrets_commands", "sandbox": "sandbox_commands",
}  # fmt: skip


@dataclass(frozen=True)
class Summary:
    """What the root help lists of a command, read from its registration unbuilt."""

    name: str
    help: str
    short_help: str | None
    hidden: bool
    rich_help_panel: str | None


class LazyGroup(HelpGroup):
    """`hakobu`: commands imported and built on first use, one at a time."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMAND_MODULES)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            command = build(cmd_name)
            self.adopt(command)
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            from difflib import get_close_matches

            # typer suggests a close name from the commands built so far (none here).
            close = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            wanted = getattr(self, "suggest_commands", True)
            if close and wanted and "Did you mean" not in error.message:
                names = ", ".join(repr(name) for name in close)
                error.message = f"{error.message.rstrip('.')}. Did you mean {names}?"
            raise

    def summary(self, ctx: typer.Context, cmd_name: str) -> Summary | None:
        info = registration(cmd_name)
        if isinstance(info, CommandInfo):
            doc = inspect.cleandoc(info.help) if info.help else inspect.getdoc(info.callback)
            return Summary(
                cmd_name, doc or "", info.short_help, info.hidden, _value(info.rich_help_panel)
            )
        if isinstance(info, TyperInfo):
            solved = solve_typer_info_defaults(info)
            return Summary(
                cmd_name, solved.help or "", solved.short_help, solved.hidden,
                solved.rich_help_panel,
            )  # fmt: skip
        return None


def root_group() -> LazyGroup:
    """The `hakobu` group with its root options (and typer's completion options), and no
    command built yet."""
    shell = copy.copy(app)
    shell.registered_commands, shell.registered_groups = [], []
    shell.info = copy.copy(app.info)
    shell.info.cls = LazyGroup
    group = typer.main.get_command(shell)
    assert isinstance(group, LazyGroup)
    return group


def registration(name: str) -> CommandInfo | TyperInfo | None:
    """The command or group `name` as its module registered it on `app`."""
    module = COMMAND_MODULES.get(name)
    if module is None:
        return None
    importlib.import_module(f"hakobu.cli.{module}")
    for info in app.registered_commands:
        if (info.name or get_command_name(info.callback.__name__)) == name:  # type: ignore[union-attr]
            return info
    for group in app.registered_groups:
        if group.name == name:
            return group
    return None


def build(name: str) -> Any:
    """Typer's click command for `name`, built as `typer.main.get_group` would build it."""
    info = registration(name)
    options = {
        "pretty_exceptions_short": app.pretty_exceptions_short,
        "rich_markup_mode": app.rich_markup_mode,
    }
    if isinstance(info, CommandInfo):
        return get_command_from_info(info, **options)
    assert isinstance(info, TyperInfo), f"{name} is in COMMAND_MODULES but not registered"
    return get_group_from_info(info, suggest_commands=app.suggest_commands, **options)


def _value(value: Any) -> Any:
    return value.value if isinstance(value, DefaultPlaceholder) else value
