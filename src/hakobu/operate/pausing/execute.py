"""Carrying out a pause or a resume plan: each step one or a few calls through `aws/`,
the Terraform step handed in (`Reshape`), progress reported through `Progress`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hakobu.aws import ecs as ecs_ops
from hakobu.aws import rds as rds_ops
from hakobu.aws.clients import ClientSource
from hakobu.aws.polling import Waiter
from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.operate.edge_pausing import suspend_autoscaling
from hakobu.operate.pausing.plan import (
    AVAILABLE,
    DatabaseAction,
    PausePlan,
    ResumePlan,
    database_label,
    is_cluster,
)
from hakobu.operate.pausing.record import remove_record, save_record
from hakobu.operate.pausing.wait import (
    Health,
    StatusHandler,
    follows_runtime,
    wait_for_database,
    wait_until_healthy,
    wait_until_no_tasks,
)
from hakobu.operate.scaling import update_request
from hakobu.operate.schedule_pausing import set_schedules
from hakobu.provision.blueprint.service import runs_placeholder


def scale_to_zero(ecs: Any, env: Environment, processes: Iterable[str] = ()) -> None:
    """web, and each of `processes` (the workers the pause recorded), to no task."""
    names = Names.of(env)
    for service in [names.service, *(names.process(name) for name in processes)]:
        ecs_ops.send_service_update(ecs, update_request(names.cluster, service, 0))


def stop_database(
    rds: Any,
    identifier: str,
    action: DatabaseAction,
    waiter: Waiter,
    on_status: StatusHandler | None = None,
    cluster: bool = False,
) -> None:
    if action == "wait-then-stop":
        wait_for_database(rds, identifier, AVAILABLE, waiter, on_status, cluster)
    if action in ("stop", "wait-then-stop"):
        rds_ops.stop(rds, identifier, cluster)


def start_database(
    rds: Any,
    identifier: str,
    action: DatabaseAction,
    waiter: Waiter,
    on_status: StatusHandler | None = None,
    cluster: bool = False,
) -> None:
    if action == "none":
        return
    if action == "wait-stopped-then-start":
        wait_for_database(rds, identifier, "stopped", waiter, on_status, cluster)
    if action in ("start", "wait-stopped-then-start"):
        rds_ops.start(rds, identifier, cluster)
    wait_for_database(rds, identifier, AVAILABLE, waiter, on_status, cluster)


# --- running a plan -------------------------------------------------------------------


class Progress(Protocol):
    """How the CLI shows a pause or resume going on."""

    def step(self, text: str) -> None: ...

    def database(self, status: str, elapsed: float) -> None: ...

    def health(self, health: Health, elapsed: float) -> None: ...

    def tasks(self, left: int, elapsed: float) -> None: ...


# Applies the deep-paused (True) or the normal (False) document through Terraform, with
# the same plan / apply pipeline and progress view as `hakobu up`.
Reshape = Callable[[bool], None]


def execute_pause(
    env: Environment,
    aws: ClientSource,
    plan: PausePlan,
    path: Path,
    reshape: Reshape,
    progress: Progress,
    waiter: Callable[[], Waiter],
) -> None:
    """Record the pause first (a failure half-way can still be resumed), then: no tasks,
    the deep-paused shape, the DB stopped; in a sandbox that runs them, each waited for."""
    save_record(path, plan.record)
    names = Names.of(env)
    follow = follows_runtime(aws)
    if suspend_autoscaling(env, aws, suspended=True):  # or it would start tasks again
        progress.step("Suspended auto scaling")
    if plan.scale_to_zero:
        services = [names.service, *(names.process(name) for name in plan.record.processes)]
        progress.step(f"Scaling {', '.join(services)} to 0 tasks")
        scale_to_zero(aws.client("ecs"), env, plan.record.processes)
        if follow:
            progress.step("Waiting until the tasks are drained and stopped")
            wait_until_no_tasks(aws.client("ecs"), env, waiter(), progress.tasks)
    if plan.apply_paused_shape:
        progress.step("Removing the NAT Gateway(s) and the ALB (Terraform)")
        reshape(True)
    # After Terraform's step: its apply renders the schedules ENABLED.
    if disabled := set_schedules(env, aws, enabled=False):
        progress.step(f"Disabled the schedule(s) {', '.join(disabled)}")
    if plan.database != "none":
        cluster = is_cluster(env)
        progress.step(f"Stopping {database_label(env)}")
        rds = aws.client("rds")
        stop_database(rds, names.db_instance, plan.database, waiter(), progress.database,
                      cluster)  # fmt: skip
        if follow:
            wait_for_database(rds, names.db_instance, "stopped", waiter(), progress.database,
                              cluster)  # fmt: skip


def execute_resume(
    env: Environment,
    aws: ClientSource,
    plan: ResumePlan,
    path: Path,
    reshape: Reshape,
    progress: Progress,
    waiter: Callable[[], Waiter],
) -> Health | Unfollowed:
    """The DB first (the tasks need it), then the NAT Gateways and the ALB, then the
    service as recorded; the record goes once the service is back. Then, where tasks
    really run, wait until the app is healthy; else say why not."""
    names = Names.of(env)
    ecs = aws.client("ecs")
    if plan.database != "none":
        progress.step(f"Starting {database_label(env)}")
        start_database(aws.client("rds"), names.db_instance, plan.database, waiter(),
                       progress.database, is_cluster(env))  # fmt: skip
    if plan.apply_normal_shape:
        progress.step("Re-creating the NAT Gateway(s) and the ALB (Terraform)")
        reshape(False)
    progress.step(f"Scaling {names.service} back to {plan.record.desired_count} task(s)")
    ecs_ops.send_service_update(ecs, plan.service_request)
    for request in plan.process_requests:
        progress.step(f"Scaling {request['service']} back to {request['desiredCount']} task(s)")
        ecs_ops.send_service_update(ecs, request)
    if suspend_autoscaling(env, aws, suspended=False):
        progress.step("Resumed auto scaling")
    if enabled := set_schedules(env, aws, enabled=True):
        progress.step(f"Enabled the schedule(s) {', '.join(enabled)}")
    remove_record(path)
    if not aws.runs_tasks:
        return NO_ENGINE
    if runs_placeholder(ecs_ops.task_definition(ecs, plan.record.task_definition)):
        return NOTHING_DEPLOYED  # its tasks cannot start: waiting would only time out
    progress.step("Waiting until the app is healthy")
    return wait_until_healthy(
        ecs, aws.client("elbv2"), env, plan.record.task_definition, waiter(), progress.health
    )


@dataclass(frozen=True)
class Unfollowed:
    """Why a resume did not wait for the app's health."""

    reason: str


NO_ENGINE = Unfollowed(
    "the sandbox runs no containers here (no podman or docker found), so the app's "
    "health cannot be seen: the desired count is back, nothing more is claimed"
)
NOTHING_DEPLOYED = Unfollowed(
    "nothing is deployed yet: the service runs the revision `hakobu up` registers, whose "
    "placeholder image runs no app (`hakobu deploy` ships one)"
)
