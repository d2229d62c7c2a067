"""Waiting while a pause or a resume takes effect: until no task of the service is left,
the DB instance has a status, the app is healthy. Each raises `HakobuError` after its
waiter's timeout, naming what is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.aws import elbv2 as elbv2_ops
from hakobu.aws.clients import ClientSource
from hakobu.aws.ecs import service_description
from hakobu.aws.polling import Waiter, poll_until
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.operate.pausing.plan import database_status
from hakobu.operate.status import revision_of, target_line
from hakobu.ship.rollout import TargetLine

StatusHandler = Callable[[str, float], None]  # (status, elapsed seconds)


def follows_runtime(aws: ClientSource) -> bool:
    """Whether a pause waits until the containers and the DB server are down: in a sandbox
    whose runtime runs them (seconds), not on AWS (see the package's docstring)."""
    return aws.sandbox and aws.runs_tasks


def wait_until_no_tasks(
    ecs: Any, env: Environment, waiter: Waiter, on_count: Callable[[int, float], None]
) -> None:
    """Poll until no task of the service holds a container (drained and stopped);
    `HakobuError` after the waiter's timeout."""
    names = Names.of(env)
    left: list[int] = []

    def gone() -> bool | None:
        left[:] = [len(ecs_ops.unstopped_task_arns(ecs, names.cluster, names.service))]
        on_count(left[0], waiter.elapsed)
        return True if left[0] == 0 else None

    if poll_until(gone, waiter) is None:
        raise HakobuError(
            f"{names.service} still has {left[0]} task(s) after {waiter.elapsed:.0f} s",
            f"look at them with `hakobu status {env.name} --sandbox`; the pause is recorded, "
            f"so `hakobu pause {env.name} --sandbox` carries on",
        )


def wait_for_database(
    rds: Any,
    identifier: str,
    wanted: str,
    waiter: Waiter,
    on_status: StatusHandler | None = None,
    cluster: bool = False,
) -> str:
    """Poll until the DB instance (or Aurora cluster) is `wanted`; `HakobuError` after the
    waiter's timeout."""
    seen: list[str] = []

    def reached() -> str | None:
        status = database_status(rds, identifier, cluster) or "missing"
        seen.append(status)
        if on_status is not None:
            on_status(status, waiter.elapsed)
        if status == "missing":
            raise _not_reached(identifier, status, wanted, waiter)
        return status if status == wanted else None

    found = poll_until(reached, waiter)
    if found is None:
        raise _not_reached(identifier, seen[-1], wanted, waiter)
    return found


def _not_reached(identifier: str, status: str, wanted: str, waiter: Waiter) -> HakobuError:
    return HakobuError(
        f"the DB instance {identifier} is {status!r}, not {wanted!r}, after {waiter.elapsed:.0f} s",
        f"look at it with `aws rds describe-db-instances --db-instance-identifier "
        f"{identifier}`, then run the command again",
    )


# --- health after a resume ------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """The service after a resume: healthy when every wanted task runs our revision and
    each target group has that many healthy targets (counts alone are not enough)."""

    desired: int
    running: int
    pending: int
    revision: str  # the PRIMARY deployment's family:revision
    expected: str
    deployments: int
    targets: tuple[TargetLine, ...]
    target_groups: int

    @property
    def healthy_targets(self) -> int:
        return sum(1 for t in self.targets if t.state == "healthy")

    @property
    def healthy(self) -> bool:
        counts = self.running == self.desired and self.pending == 0
        ours = self.deployments == 1 and self.revision == self.expected
        wanted = self.desired * self.target_groups
        return counts and ours and self.healthy_targets >= wanted

    def text(self) -> str:
        line = f"{self.revision}: running {self.running}/{self.desired}, pending {self.pending}"
        if self.target_groups:
            line += f", targets healthy {self.healthy_targets}/{self.desired * self.target_groups}"
        return line


def judge_health(
    service: dict[str, Any], health_pages: list[dict[str, Any]], expected: str
) -> Health:
    deployments = service.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    return Health(
        desired=int(service.get("desiredCount", 0)),
        running=int(service.get("runningCount", 0)),
        pending=int(service.get("pendingCount", 0)),
        revision=revision_of(primary.get("taskDefinition", service.get("taskDefinition", ""))),
        expected=revision_of(expected),
        deployments=len(deployments),
        targets=tuple(
            target_line(t)
            for page in health_pages
            for t in page.get("TargetHealthDescriptions", [])
        ),
        target_groups=len(health_pages),
    )


def wait_until_healthy(
    ecs: Any,
    elbv2: Any,
    env: Environment,
    expected: str,
    waiter: Waiter,
    on_change: Callable[[Health, float], None] | None = None,
) -> Health:
    """Poll the service and its targets until `judge_health` says healthy; `HakobuError`
    naming what is missing (with each target's reason in words) after the timeout."""
    names = Names.of(env)
    last: list[Health] = []

    def healthy() -> Health | None:
        service = service_description(ecs, names.cluster, names.service)
        pages = [elbv2_ops.target_health(elbv2, arn) for arn in ecs_ops.target_group_arns(service)]
        health = judge_health(service, pages, expected)
        if on_change is not None and health not in last:
            on_change(health, waiter.elapsed)
        last[:] = [health]
        return health if health.healthy else None

    found = poll_until(healthy, waiter)
    if found is not None:
        return found
    health = last[-1]
    reasons = "; ".join(t.text() for t in health.targets if t.state != "healthy")
    raise HakobuError(
        f"the app is not healthy after {waiter.elapsed:.0f} s ({health.text()}"
        + (f"; {reasons}" if reasons else "")
        + ")",
        f"the pause is over; follow it with `hakobu status {env.name} --watch`, and "
        f"look at `hakobu logs {env.name}`",
    )
