"""hakobu status: the service, deployments, targets, events, stopped tasks, DB, URL.

One screen for what the guide's "メンテナンス" section asks four commands for (and its
"トラブルシューティング" a fifth). The data comes from `hakobu.operate.status.gather_status`; this
module only renders it as text, as JSON, or refreshed in place with `--watch`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, JsonOpt, SandboxOpt
from hakobu.cli.context import CommandContext, Consoles, current_consoles

if TYPE_CHECKING:  # imported when the command runs: `hakobu --help` need not pay for it
    from rich.console import RenderableType

    from hakobu.operate.status import StatusReport

WatchOpt = Annotated[
    bool,
    typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C."),
]
IntervalOpt = Annotated[
    float,
    typer.Option("--interval", min=1.0, help="Seconds between refreshes with --watch."),
]


@app.command(rich_help_panel="Operate")
def status(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    watch: WatchOpt = False,
    interval: IntervalOpt = 5.0,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """The service, its deployments, target health, events, stopped tasks, DB and URL.

    One screen instead of the guide's describe-services, describe-target-health,
    list-tasks / describe-tasks and describe-db-instances. `--watch` refreshes it.
    """
    from hakobu.cli.edge_commands import edge_status
    from hakobu.operate.status import StatusClients, gather_status

    ctx = CommandContext(config, env_name, sandbox)
    env, aws = ctx.env, ctx.target
    clients = StatusClients.of(aws)  # made once: a --watch refresh reuses them

    def gather() -> StatusReport:
        return gather_status(aws, env, clients=clients)

    if watch:
        if not as_json:
            ctx.banner()
        _watch(gather, interval, as_json, consoles=ctx.consoles)
        return
    report = gather()
    edge, edge_json = edge_status(env, aws)  # auto scaling and alarms, when configured
    if as_json:
        ctx.json(report.as_json() | edge_json)
        return
    ctx.out.print(screen(report))
    for part in edge:
        ctx.out.print(part)
    ctx.banner()


# --- watching ---------------------------------------------------------------------------


def _watch(
    gather: Callable[[], StatusReport],
    interval: float,
    as_json: bool,
    sleep: Callable[[float], None] = time.sleep,
    consoles: Consoles | None = None,
) -> None:
    """Refresh every `interval` s until Ctrl-C, which ends the command with exit code 0."""
    io = consoles or current_consoles()
    reports = _reports(gather, interval, sleep)
    try:
        if as_json:
            _watch_json(io, reports)
        elif io.out.is_terminal:
            _watch_live(io, reports, interval)
        else:
            _watch_plain(io, reports, interval)
    except KeyboardInterrupt:
        # stdout stays pure JSON Lines with --json.
        (io.err if as_json else io.out).print("Stopped watching.")


Refreshes = Iterator[tuple["StatusReport", str | None]]


def _reports(
    gather: Callable[[], StatusReport], interval: float, sleep: Callable[[float], None]
) -> Refreshes:
    """The first report (its failure is an error: there is nothing to show yet), then one
    per interval; when AWS fails for a moment, the last report and what went wrong (a
    watch outlives a dropped connection or a throttled call)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from hakobu.core.errors import HakobuError

    report = gather()
    yield report, None
    while True:
        sleep(interval)
        try:
            report = gather()
        except (BotoCoreError, ClientError, HakobuError) as exc:
            yield report, f"refresh failed, showing the last status: {exc}"
        else:
            yield report, None


def _watch_json(io: Consoles, reports: Refreshes) -> None:
    """One envelope per line (JSON Lines), for scripts that follow a rollout."""
    for report, problem in reports:
        if problem:
            io.err.print(problem)
        else:
            io.write(json.dumps(report.as_json()) + "\n", flush=True)


def _watch_live(io: Consoles, reports: Refreshes, interval: float) -> None:
    from rich.console import Group
    from rich.live import Live

    from hakobu.cli.status_screen import footer

    with Live(console=io.out, auto_refresh=False) as live:
        for report, problem in reports:
            live.update(Group(screen(report), footer(report, interval, problem)), refresh=True)


def _watch_plain(io: Consoles, reports: Refreshes, interval: float) -> None:
    """Without a terminal (a pipe, a CI log) nothing can be redrawn: print each screen."""
    from rich.text import Text

    from hakobu.cli.status_screen import footer

    for report, problem in reports:
        if problem:
            io.out.print(Text(problem, style="red"))
            continue
        io.out.print(screen(report))
        io.out.print(footer(report, interval))
        io.out.rule()


def screen(report: StatusReport) -> RenderableType:
    """The whole status as one renderable (cli/status_screen.py draws it)."""
    from hakobu.cli.status_screen import screen as draw

    return draw(report)
