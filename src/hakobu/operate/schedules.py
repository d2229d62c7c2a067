"""`hakobu schedules`: each schedule's expression, time zone, next run and last result; and
`hakobu schedules run NAME`, which starts one now and follows it like `hakobu run`.

The next run is computed locally from the expression (core.cron), in the schedule's time
zone. The last result is read from ECS: scheduled tasks carry the task group
`schedule:NAME` (set by the schedule's target, and by `schedules run`); ECS keeps stopped
tasks for about an hour, so an older run shows as unknown (its output is in `hakobu logs`).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.scheduler import schedule as scheduler_schedule
from hakobu.core.config import Environment
from hakobu.core.config.processes import ScheduleSettings
from hakobu.core.cron import next_run
from hakobu.core.errors import ConfigError
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.operate.sessions import RunResult
from hakobu.ship import tasks
from hakobu.ship.deploy import DeployEvents

GROUP_PREFIX = "schedule:"  # as the blueprint's schedules set it
STARTED_BY = "hakobu-schedule"


@dataclass(frozen=True)
class LastRun:
    task_id: str
    revision: str
    status: str  # RUNNING, PENDING, STOPPED
    exit_code: int | None
    reason: str | None
    started_at: str | None

    def text(self) -> str:
        if self.status != "STOPPED":
            return f"{self.status.lower()} (task {self.task_id}, {self.revision})"
        result = f"exit {self.exit_code}" if self.exit_code is not None else self.reason or "?"
        return f"{result} (task {self.task_id}, {self.revision})"


@dataclass(frozen=True)
class ScheduleView:
    name: str
    aws_name: str
    expression: str
    timezone: str
    command: list[str]
    state: str  # ENABLED / DISABLED as Scheduler has it, or "not applied"
    next_run: datetime | None
    last: LastRun | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aws_name": self.aws_name,
            "expression": self.expression,
            "timezone": self.timezone,
            "command": self.command,
            "state": self.state,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "last_exit_code": self.last.exit_code if self.last else None,
            "last_run": self.last.text() if self.last else None,
        }


def list_schedules(
    target: Target, env: Environment, now: datetime | None = None
) -> list[ScheduleView]:
    """Every schedule of hakobu.toml, with what Scheduler and ECS say about it."""
    names = Names.of(env)
    now = now or datetime.now(UTC)
    scheduler, ecs = target.client("scheduler"), target.client("ecs")
    tasks = ecs_ops.family_tasks(ecs, names.cluster, names.schedule_family)
    views = []
    for settings in env.settings.schedules:
        applied = scheduler_schedule(scheduler, names.schedule(settings.name))
        state = str(applied.get("State", "ENABLED")) if applied else "not applied (run hakobu up)"
        enabled = applied is not None and state == "ENABLED"
        views.append(
            ScheduleView(
                name=settings.name,
                aws_name=names.schedule(settings.name),
                expression=settings.expression,
                timezone=settings.timezone,
                command=list(settings.command),
                state=state,
                next_run=next_run(settings.expression, settings.timezone, now) if enabled else None,
                last=_last_run(tasks, settings.name),
            )
        )
    return views


def _last_run(tasks: list[dict[str, Any]], name: str) -> LastRun | None:
    for task in tasks:  # newest first
        if task.get("group") != GROUP_PREFIX + name:
            continue
        outcome = ecs_ops.task_outcome(task)
        created = task.get("createdAt")
        return LastRun(
            task_id=ecs_ops.task_id(task["taskArn"]),
            revision=str(task.get("taskDefinitionArn", "")).rsplit("/", 1)[-1],
            status=str(task.get("lastStatus", "?")),
            exit_code=outcome.exit_code,
            reason=outcome.stopped_reason or outcome.container_reason,
            started_at=created.isoformat() if isinstance(created, datetime) else None,
        )
    return None


def find(env: Environment, name: str) -> ScheduleSettings:
    for settings in env.settings.schedules:
        if settings.name == name:
            return settings
    known = ", ".join(s.name for s in env.settings.schedules) or "none is declared"
    raise ConfigError(
        "schedules",
        f"no schedule named {name!r} in [[schedules]]",
        f"use one of: {known}",
    )


def run_schedule(
    target: Target,
    env: Environment,
    name: str,
    events: DeployEvents,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Start schedule `name` now, as Scheduler would: the schedule family's newest revision
    (the deployed release), its command, where web's tasks run; follow it to its exit."""
    settings = find(env, name)
    names = Names.of(env)
    ecs = target.client("ecs")
    revision = ecs_ops.task_definition(ecs, names.schedule_family)["taskDefinitionArn"]
    service = ecs_ops.service_description(ecs, names.cluster, names.service)
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    request = ecs_ops.release_task_request(
        names.cluster, revision, names.container, settings.command, network, STARTED_BY
    )
    # The group is how `hakobu schedules` finds the run as this schedule's last result.
    request["group"] = GROUP_PREFIX + name
    task_arn = ecs_ops.run_task(ecs, request)
    events.step(
        "Started",
        f"{name}: {shlex.join(settings.command)} as task {ecs_ops.task_id(task_arn)} of "
        f"{revision.rsplit('/', 1)[-1]}",
    )
    if not target.runs_tasks:
        return RunResult(task_arn, revision, None, [])
    outcome, lines = tasks.follow(ecs, target.client("logs"), names, task_arn, events, sleep)
    return RunResult(task_arn, revision, outcome, lines)
