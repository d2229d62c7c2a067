"""How `hakobu status` looks: the headline, the overview, deployments, targets, stopped
tasks and events, as one renderable (imported when the command runs)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hakobu.cli.common import clock
from hakobu.operate.status import MISSING, DatabaseStatus, StatusReport

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


def screen(report: StatusReport) -> RenderableType:
    """The whole status as one renderable (printed once, or redrawn by --watch)."""
    parts: list[RenderableType] = [_headline(report), _overview(report)]
    parts += [_section("Deployments"), _deployments(report)]
    if report.processes:
        parts += [_section("Processes beside web"), _processes(report)]
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
    _add_row(table, "database", _database_line(db) if db else "no DB instance: run hakobu up")
    return table


def _database_line(db: DatabaseStatus) -> str:
    """An instance on one line; an Aurora cluster, then its capacity and each instance."""
    if db.kind != "cluster":
        return f"{db.identifier}  {db.status}  {db.engine} {db.engine_version}  {db.instance_class}"
    lines = [f"{db.identifier}  {db.status}  {db.engine} {db.engine_version}  (cluster)"]
    if db.capacity:
        low, high = db.capacity
        pauses = ": pauses itself when idle" if low == 0 else ""
        lines.append(f"  Serverless v2 {low:g}-{high:g} ACUs{pauses}{_capacity_now(db)}")
    lines += [f"  {m.role} {m.identifier}  {m.status}  {m.instance_class}" for m in db.instances]
    if not db.instances:
        lines.append("  no instance: run hakobu up")
    return "\n".join(lines)


def _capacity_now(db: DatabaseStatus) -> str:
    if db.current_acu is None:
        return ""
    if db.paused_itself:
        # The resume delay: AWS's Aurora user guide, "Scaling to zero ACUs" (docs/design.md).
        return "; now paused (0 ACU): the next connection resumes it in ~15 s"
    return f"; now {db.current_acu:g} ACUs"


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
            clock(d.created_at),
            line.rollout_state_reason or "",
        )
    return table


def _processes(report: StatusReport) -> Table:
    table = _table("process", "service", "desired", "running", "pending", "revision", "rollout")
    table.add_column("last events", style="dim")
    for p in report.processes:
        service = p.service
        rollout = p.rollout_state or "-"
        if service.status == MISSING:
            rollout = "no service yet: run hakobu up"
        _add_row(
            table,
            p.process,
            service.name,
            str(service.desired),
            str(service.running),
            str(service.pending),
            service.task_definition,
            rollout,
            "\n".join(f"{clock(e.created_at)} {e.message}" for e in p.events) or "-",
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
            clock(task.stopped_at),
            "; ".join(p for p in why if p) or "-",
        )
    return table


def _events(report: StatusReport) -> Table | Text:
    if not report.events:
        return Text("  none")
    table = _table(show_header=False)
    for event in report.events:
        _add_row(table, clock(event.created_at), event.message)
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


def footer(report: StatusReport, interval: float, problem: str | None = None) -> Text:
    text = Text(
        f"Updated {clock(report.gathered_at)}, every {interval:g} s. Ctrl-C stops watching.",
        style="dim",
    )
    if problem:
        text.append(f"\n{problem}", style="red")
    return text
