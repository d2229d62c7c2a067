"""hakobu logs: the app's CloudWatch Logs, filtered, followed."""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, JsonOpt, SandboxOpt
from hakobu.cli.context import CommandContext, Consoles

if TYPE_CHECKING:  # imported when the command runs: `hakobu --help` need not pay for them
    from rich.text import Text

    from hakobu.operate import logs as logtail
    from hakobu.operate.logs import LogLine

# operate/logs.py's DEFAULT_SINCE and EXIT_INTERRUPTED, here so that declaring the
# options imports nothing (tests/cli/test_common.py keeps them equal).
DEFAULT_SINCE = "10m"
EXIT_INTERRUPTED = 130

# One colour per task, so interleaved lines of several tasks are easy to tell apart.
TASK_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")


class LinePrinter:
    """Writes log lines to stdout: JSON, plain text, or text with coloured task ids."""

    def __init__(self, consoles: Consoles, as_json: bool, flush: bool) -> None:
        self.consoles = consoles
        self.as_json = as_json
        self.flush = flush  # when following, a pipe (`| grep`) must get each line at once
        self.count = 0

    def __call__(self, line: LogLine) -> None:
        from hakobu.operate import logs as logtail

        self.count += 1
        out = self.consoles.out
        if not self.as_json and out.is_terminal:
            out.print(_styled(line), soft_wrap=True, markup=False, highlight=False)
            return
        text = logtail.json_line(line) if self.as_json else logtail.format_line(line)
        self.consoles.write(text + "\n", flush=self.flush)


def _styled(line: LogLine) -> Text:
    from rich.text import Text

    from hakobu.operate import logs as logtail

    task = logtail.short_task_id(line.stream)
    style = TASK_STYLES[zlib.crc32(task.encode()) % len(TASK_STYLES)]
    stamp = logtail.timestamp_text(line.timestamp)
    return Text.assemble((task, style), " ", (stamp, "dim"), " ", line.message)


def _notes(ctx: CommandContext) -> Callable[[str], None]:
    def note(text: str) -> None:
        ctx.err.print(text, style="dim", markup=False, highlight=False, soft_wrap=True)

    return note


@app.command(rich_help_panel="Operate")
def logs(
    env_name: EnvArg = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Start this long ago (30s, 5m, 1h, 2d, 1w) or at an ISO 8601 time.",
        ),
    ] = DEFAULT_SINCE,
    pattern: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help='A CloudWatch Logs filter pattern: ERROR, "Completed 500", {$.level = "error"}.',
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option("--task", help="Only this task: its id, the id's first characters or ARN."),
    ] = None,
    process: Annotated[
        str | None,
        typer.Option(
            "--process", "-p", help="Only this process: web, or a [processes.NAME] (worker)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """The app's logs from CloudWatch Logs, oldest first, each line with its task and time.

    Like `aws logs tail /ecs/<app> --since 10m`, for every task at once; with --follow, new
    lines arrive through CloudWatch Logs Live Tail (or by polling where it is unavailable).
    Ctrl-C ends --follow with exit code 130, as it does for `aws logs tail --follow`.
    """
    from hakobu.operate import logs as logtail

    ctx = CommandContext(config, env_name, sandbox)
    note = _notes(ctx)
    printer = LinePrinter(ctx.consoles, as_json, flush=follow)
    try:
        # --since first: a bad value costs no config load, no emulator and no AWS call.
        start = logtail.parse_since(since, datetime.now(UTC))
        query = logtail.show_logs(
            ctx.env,
            lambda: ctx.target,
            start,
            printer,
            note,
            pattern=pattern,
            task=task,
            process=process,
            follow=follow,
        )
        if follow:
            raise typer.Exit(EXIT_INTERRUPTED)  # following returns only after Ctrl-C
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        _quiet_stdout()  # the reader (`| head`) has what it wanted
        return
    if printer.count == 0:
        note(_nothing_found(query, since))


def _nothing_found(query: logtail.LogQuery, since: str) -> str:
    matching = f" matching {query.pattern!r}" if query.pattern else ""
    return f"No log events in {query.group} since {since}{matching}."


def _quiet_stdout() -> None:
    # Python flushes stdout again at exit; pointing it at /dev/null keeps that quiet.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
