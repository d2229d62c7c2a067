"""hakobu status: the service, deployments, targets, events, stopped tasks, DB, URL.

One screen for what the guide's "メンテナンス" section asks four commands for (and its
"トラブルシューティング" a fifth). The data comes from `hakobu.operate.status.gather_status`; this
module only renders it as text, as JSON, or refreshed in place with `--watch`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hakobu.cli.app import (
    ConfigOpt,
    EnvArg,
    JsonOpt,
    SandboxOpt,
    app,
    environment,
    err,
    out,
    sandbox_banner,
    target,
)
from hakobu.core.config import CONFIG_FILE
from hakobu.core.errors import HakobuError

if TYPE_CHECKING:  # imported when the command runs: `hakobu --help` need not pay for it
    from hakobu.operate.status import StatusReport

WatchOpt = Annotated[
    bool,
    typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C."),
]
IntervalOpt = Annotated[
    float,
    typer.Option("--interval", min=1.0, help="Seconds between refreshes with --watch."),
]
STATE_STYLES = {
    "healthy": "green",
    "unhealthy": "red",
    "initial": "yellow",
    "draining": "yellow",
    "unused": "dim",
    "unavailable": "red",
}
VERDICT_STYLES = {
    "steady": "bold green",
    "rolling out": "bold yellow",
    "rollout failed": "bold red",
    "below desired count": "bold red",
    "scaled to zero": "bold",
}


@app.command(rich_help_panel="Operate")
def status(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    watch: WatchOpt = False,
    interval: IntervalOpt = 5.0,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """The service, its deployments, target health, events, stopped tasks, DB and URL.

    One screen instead of the guide's describe-services, describe-target-health,
    list-tasks / describe-tasks and describe-db-instances. `--watch` refreshes it.
    """
    from hakobu.operate.status import StatusClients, gather_status

    env = environment(config, env_name)
    aws = target(env, sandbox)
    clients = StatusClients.of(aws)  # made once: a --watch refresh reuses them

    def gather() -> StatusReport:
        return gather_status(aws, env, clients=clients)

    if watch:
        if not as_json:
            sandbox_banner(aws.sandbox)
        _watch(gather, interval, as_json)
        return
    report = gather()
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
        return
    out.print(screen(report))
    sandbox_banner(aws.sandbox)


# --- watching ---------------------------------------------------------------------------


def _watch(
    gather: Callable[[], StatusReport],
    interval: float,
    as_json: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Refresh every `interval` s until Ctrl-C, which ends the command with exit code 0."""
    reports = _reports(gather, interval, sleep)
    try:
        if as_json:
            _watch_json(reports)
        elif out.is_terminal:
            _watch_live(reports, interval)
        else:
            _watch_plain(reports, interval)
    except KeyboardInterrupt:
        # stdout stays pure JSON Lines with --json.
        (err if as_json else out).print("Stopped watching.")


Refreshes = Iterator[tuple["StatusReport", str | None]]


def _reports(
    gather: Callable[[], StatusReport], interval: float, sleep: Callable[[float], None]
) -> Refreshes:
    """The first report (its failure is an error: there is nothing to show yet), then one
    per interval; when AWS fails for a moment, the last report and what went wrong (a
    watch outlives a dropped connection or a throttled call)."""
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


def _watch_json(reports: Refreshes) -> None:
    """One envelope per line (JSON Lines), for scripts that follow a rollout."""
    for report, problem in reports:
        if problem:
            err.print(problem)
        else:
            print(json.dumps(report.as_json()), flush=True)


def _watch_live(reports: Refreshes, interval: float) -> None:
    from rich.live import Live

    with Live(console=out, auto_refresh=False) as live:
        for report, problem in reports:
            live.update(Group(screen(report), _footer(report, interval, problem)), refresh=True)


def _watch_plain(reports: Refreshes, interval: float) -> None:
    """Without a terminal (a pipe, a CI log) nothing can be redrawn: print each screen."""
    for report, problem in reports:
        if problem:
            out.print(Text(problem, style="red"))
            continue
        out.print(screen(report))
        out.print(_footer(report, interval))
        out.rule()


def _footer(report: StatusReport, interval: float, problem: str | None = None) -> Text:
    text = Text(
        f"Updated {_clock(report.gathered_at)}, every {interval:g} s. Ctrl-C stops watching.",
        style="dim",
    )
    if problem:
        text.append(f"\n{problem}", style="red")
    return text


# --- rendering --------------------------------------------------------------------------


def screen(report: StatusReport) -> RenderableType:
    """The whole status as one renderable (printed once, or redrawn by --watch)."""
    parts: list[RenderableType] = [_headline(report), _overview(report)]
    parts += [_section("Deployments"), _deployments(report)]
    parts += _targets(report)
    if report.stopped_tasks:
        parts += [_section("Stopped tasks (newest first)"), _stopped(report)]
    title = f"Last {len(report.events)} events" if report.events else "Events"
    parts += [_section(title), _events(report)]
    return Group(*parts)


def _headline(report: StatusReport) -> Text:
    return Text.assemble(
        (report.service.name, "bold"),
        f" ({report.environment}, {report.region})  ",
        (report.verdict, VERDICT_STYLES.get(report.verdict, "bold")),
    )


def _overview(report: StatusReport) -> Table:
    service, db, lb = report.service, report.database, report.load_balancer
    table = _table(show_header=False)
    _add_row(
        table,
        "service",
        f"{service.status}  desired {service.desired}  running {service.running}  "
        f"pending {service.pending}  ({service.task_definition})",
    )
    _add_row(
        table,
        "url",
        f"{lb.url}  (load balancer {lb.state})" if lb else "no load balancer: run hakobu up",
    )
    _add_row(
        table,
        "database",
        f"{db.identifier}  {db.status}  {db.engine} {db.engine_version}  {db.instance_class}"
        if db
        else "no DB instance: run hakobu up",
    )
    return table


def _deployments(report: StatusReport) -> Table | Text:
    if not report.deployments:
        return Text("  none")
    table = _table(
        "status", "revision", "rollout", "desired", "pending", "running", "image tag", "since"
    )
    table.add_column("reason", style="dim")
    for d in report.deployments:
        line = d.line
        _add_row(
            table,
            line.status,
            line.task_definition,
            line.rollout_state or "-",
            str(line.desired),
            str(line.pending),
            str(line.running),
            d.image_tag or "-",
            _clock(d.created_at),
            line.rollout_state_reason or "",
        )
    return table


def _targets(report: StatusReport) -> list[RenderableType]:
    parts: list[RenderableType] = []
    for group in report.target_groups:
        parts.append(_section(f"Targets of {group.name}"))
        if not group.targets:
            parts.append(
                Text(
                    "  no targets registered: ECS registers the service's tasks once they run",
                    style="dim",
                )
            )
            continue
        table = _table("target", "state", "reason")
        for t in group.targets:
            reason = " ".join(p for p in (t.reason, t.description) if p) or "-"
            _add_row(table, t.target, Text(t.state, style=STATE_STYLES.get(t.state, "")), reason)
            if t.explanation:
                _add_row(table, "", "", Text(f"→ {t.explanation}", style="dim"))
        parts.append(table)
    return parts


def _stopped(report: StatusReport) -> Table:
    table = _table("task", "revision", "stopped", "why")
    for task in report.stopped_tasks:
        why = [f"[{task.stop_code}]" if task.stop_code else "", task.stopped_reason or ""]
        for c in task.containers:
            exit_code = f"exit code {c.exit_code}" if c.exit_code is not None else ""
            details = ", ".join(p for p in (exit_code, c.reason or "") if p)
            if details:
                why.append(f"{c.name}: {details}")
        _add_row(
            table,
            task.task_arn.rsplit("/", 1)[-1],
            task.task_definition,
            _clock(task.stopped_at),
            "; ".join(p for p in why if p) or "-",
        )
    return table


def _events(report: StatusReport) -> Table | Text:
    if not report.events:
        return Text("  none")
    table = _table(show_header=False)
    for event in report.events:
        _add_row(table, _clock(event.created_at), event.message)
    return table


def _add_row(table: Table, *cells: str | Text) -> None:
    # AWS text holds brackets ("codes: [301]", "[rails-app]") that are not Rich markup.
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells))


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold")


def _table(*columns: str, show_header: bool = True) -> Table:
    table = Table(box=None, pad_edge=False, show_header=show_header, padding=(0, 1))
    for column in columns or ("", ""):
        table.add_column(column, overflow="fold")
    return table


def _clock(moment: datetime | None) -> str:
    """Local wall-clock time, with the date when it is not today."""
    if moment is None:
        return "-"
    local = moment.astimezone()
    same_day = local.date() == datetime.now().astimezone().date()
    return f"{local:%H:%M:%S}" if same_day else f"{local:%Y-%m-%d %H:%M}"
