"""hakobu's help screens, drawn here instead of by typer's rich help.

typer's rich help module (`typer.rich_utils`) imports `rich.markdown` (markdown-it),
`rich.syntax` (pygments) and `rich.traceback` when it loads, whatever the markup mode:
about 0.18 s, more than the whole start-up budget of `hakobu --help` (bench/startup.py).
This draws the same screen (usage, the docstring, the Arguments and Options panels, the
commands by `rich_help_panel`) with rich's console, table and panel only. The one piece of
Markdown hakobu's docstrings use, `code` spans, is styled here; a single line break inside
a paragraph is a space, as in Markdown.

`HelpGroup` is the root group's class (cli/app.py); it hands the same renderer to every
command and group below it, so no command module has to name a class, and with it the
conversion of plain parameter values without pydantic (cli/plain_params.py).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Iterator
from types import MethodType
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

try:  # typer's private coercion names; with a typer without them, its own coercion runs
    from hakobu.cli.plain_params import install as install_plain_params
    from hakobu.cli.plain_params import with_plain_coercion
except ImportError:  # pragma: no cover (typer 0.29 has them)

    def install_plain_params(command: Any) -> None:
        pass

    def with_plain_coercion(params: list[Any]) -> list[Any]:
        return params


if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

ARGUMENTS = "Arguments"
OPTIONS = "Options"
COMMANDS = "Commands"
_CODE_SPAN = re.compile(r"`([^`]+)`")
# get_help_record's option column ends with the value's type: "-c, --config <path>".
_TYPE_SUFFIX = re.compile(r"^(?P<names>.*?)(?:\s+(?P<type><[^ ]+(?: range)?>))?$")
# ... and its help column with click's extras: "Path to hakobu.toml.  [default: x]".
_EXTRAS = re.compile(r"^(?P<help>.*?)\s*(?P<extras>\[[^\]]*\])?$", re.DOTALL)


class HelpGroup(TyperGroup):
    """The root group: draws its help here, and gives every command below it the same."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            self.adopt(command)

    def adopt(self, command: Any) -> None:
        """Give `command` (and its subcommands) hakobu's help and plain value conversion."""
        install_help(command)
        install_plain_params(command)

    def get_params(self, ctx: typer.Context) -> list[Any]:
        # The root's own flags (--help, --install-completion, ...) as well.
        return with_plain_coercion(super().get_params(ctx))

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        print_help(self, ctx)


def install_help(command: Any) -> None:
    # typer builds the tree with its own classes (TyperCommand, TyperGroup, or a command
    # module's subclass such as DashCommand); only their help drawing changes.
    command.format_help = MethodType(_format_help, command)
    for sub in getattr(command, "commands", {}).values():
        install_help(sub)


def _format_help(command: Any, ctx: typer.Context, formatter: Any) -> None:
    print_help(command, ctx)


def print_help(command: Any, ctx: typer.Context) -> None:
    """Print `command`'s help screen to stdout (colours and width as rich detects them)."""
    from rich.console import Console

    # emoji=False: ":secret:" in an ARN is text, and rich need not load its emoji table.
    Console(highlight=False, emoji=False).print(*help_screen(command, ctx))


def help_screen(command: Any, ctx: typer.Context) -> list[RenderableType]:
    from rich.padding import Padding
    from rich.text import Text

    line = command.get_usage(ctx).removeprefix("Usage: ")
    usage = Text.assemble(("Usage: ", "yellow"), (line, "bold"))
    parts: list[RenderableType] = [Padding(usage, 1)]
    if command.help:
        parts.append(Padding(_description(command.help), (0, 1, 1, 1)))
    parts += [_panel(name, table) for name, table in _parameter_tables(command, ctx)]
    if isinstance(command, TyperGroup):
        parts += [_panel(name, table) for name, table in _command_tables(command, ctx)]
    return parts


def _description(help_text: str) -> Text:

    first, *rest = _paragraphs(help_text)
    text = prose(first)
    for paragraph in rest:
        text.append("\n\n")
        text.append_text(prose(paragraph, style="dim"))
    return text


def _paragraphs(help_text: str) -> list[str]:
    body = inspect.cleandoc(help_text).partition("\f")[0]
    return [" ".join(part.split("\n")).strip() for part in body.split("\n\n") if part.strip()]


def prose(text: str, style: str = "") -> Text:
    """`text` with its `code` spans styled (and their backticks dropped), nothing else read
    as markup: help quotes TOML sections like [environments.staging] literally."""
    from rich.text import Text

    result = Text(style=style)
    last = 0
    for span in _CODE_SPAN.finditer(text):
        result.append(text[last : span.start()])
        result.append(span.group(1), style="bold cyan")
        last = span.end()
    result.append(text[last:])
    return result


def _parameter_tables(command: Any, ctx: typer.Context) -> Iterator[tuple[str, Table]]:
    panels: dict[str, list[tuple[str, str]]] = {ARGUMENTS: [], OPTIONS: []}
    for param in command.get_params(ctx):
        record = None if getattr(param, "hidden", False) else param.get_help_record(ctx)
        if record is None:
            continue
        default = ARGUMENTS if param.param_type_name == "argument" else OPTIONS
        panels.setdefault(getattr(param, "rich_help_panel", None) or default, []).append(record)
    for name, records in panels.items():
        if records:
            yield name, _parameter_table(records)


def _parameter_table(records: Iterable[tuple[str, str]]) -> Table:
    from rich.text import Text

    table = _grid(3)
    for left, right in records:
        names = _TYPE_SUFFIX.match(left)
        helped = _EXTRAS.match(right)
        assert names and helped  # both patterns match any string
        help_text = prose(" ".join(helped["help"].split()))
        if helped["extras"]:
            style = "dim red" if "required" in helped["extras"] else "dim"
            help_text.append(("\n" if help_text.plain else "") + helped["extras"], style=style)
        table.add_row(
            Text(names["names"], style="bold cyan"),
            Text(names["type"] or "", style="bold yellow"),
            help_text,
        )
    return table


def _command_tables(group: TyperGroup, ctx: typer.Context) -> Iterator[tuple[str, Table]]:
    from rich.text import Text

    panels: dict[str, list[Any]] = {COMMANDS: []}
    # A lazy group (cli/lazy.py) lists its commands from their registrations, unbuilt.
    lookup = getattr(group, "summary", group.get_command)
    for name in group.list_commands(ctx):
        command = lookup(ctx, name)
        if command is not None and not command.hidden:
            panel = getattr(command, "rich_help_panel", None) or COMMANDS
            panels.setdefault(panel, []).append(command)
    # One width for the name column in every panel, so the descriptions line up.
    width = max((len(c.name or "") for cs in panels.values() for c in cs), default=0)
    for panel, commands in panels.items():
        if not commands:
            continue
        table = _grid(2)
        table.columns[0].width = width
        for command in commands:
            summary = _paragraphs(command.short_help or command.help or "") or [""]
            table.add_row(Text(command.name or "", style="bold cyan"), prose(summary[0]))
        yield panel, table


def _grid(columns: int) -> Table:
    """Names (and types) kept on one line each; the last column, the help, wraps."""
    from rich.table import Table

    table = Table.grid(padding=(0, 1), expand=True)
    for _ in range(columns - 1):
        table.add_column(no_wrap=True)
    table.add_column(ratio=10)
    return table


def _panel(title: str, table: Table) -> RenderableType:
    from rich.panel import Panel
    from rich.text import Text

    # A Text title: a str one would be read as markup (and for emoji codes).
    return Panel(table, title=Text(title), title_align="left", border_style="dim")
