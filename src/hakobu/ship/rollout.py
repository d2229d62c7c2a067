"""Follow an ECS rollout to its end, and say why it ended.

A rollout succeeded only when the deployment of OUR task definition is PRIMARY and its
`rolloutState` is COMPLETED. Counts and botocore's `services_stable` waiter are not
evidence: after the deployment circuit breaker rolled back, the service is stable again,
on the old revision. A rollout failed when our deployment's `rolloutState` is FAILED or our
task definition is no longer PRIMARY; the result then carries the reason ECS gave, the
service's events since the start and the recently stopped tasks of our revision with their
stop reasons and exit codes.

While waiting, only what changed is passed to `on_update`: new service events, changed
deployment lines and changed target-health lines (each target-health reason code is
explained in words from `TARGET_REASONS`). Nothing here prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal

from botocore.exceptions import ClientError

from hakobu.aws.arn import last_part
from hakobu.aws.ecs import service_description, target_group_arns
from hakobu.aws.ecs import stopped_tasks as described_stopped_tasks
from hakobu.aws.elbv2 import target_health
from hakobu.aws.errors import is_throttling
from hakobu.aws.polling import Waiter, call_patiently, poll_until

Outcome = Literal["COMPLETED", "FAILED", "TIMEOUT", "DETACHED"]

# ELB target health reason codes, in words (AWS's documented meanings), with what to check.
TARGET_REASONS: dict[str, str] = {
    "Elb.RegistrationInProgress": (
        "the target is being registered with the load balancer; wait for it"
    ),
    "Elb.InitialHealthChecking": (
        "the load balancer is still sending the first health checks needed to decide the "
        "target's health (healthy threshold x interval); wait for it"
    ),
    "Elb.InternalError": (
        "the health checks failed because of an internal error of the load balancer; "
        "it usually clears by itself, otherwise contact AWS support"
    ),
    "Target.ResponseCodeMismatch": (
        "the health-check path answered with a status other than 200; check "
        "health_check_path and that the app answers it without a redirect (e.g. force_ssl) "
        "and without authentication"
    ),
    "Target.Timeout": (
        "the health check timed out: the app did not answer in time; check that it listens "
        "on 0.0.0.0 at the container port, that the ECS security group lets the load "
        "balancer in on that port, and that the app boots before the grace period ends"
    ),
    "Target.FailedHealthChecks": (
        "the load balancer could not connect to the target, or its answer was malformed; "
        "check that the app is running and listening on the container port, and the "
        "container's logs"
    ),
    "Target.NotRegistered": (
        "the target is not registered with the target group; ECS registers the service's "
        "tasks by itself, so a task that is not yet (or no longer) running shows this"
    ),
    "Target.NotInUse": (
        "the target group is not used by any load balancer, or the target is in an "
        "Availability Zone the load balancer does not serve; check the listener and the "
        "subnets of the load balancer"
    ),
    "Target.DeregistrationInProgress": (
        "the target is being deregistered (an old or stopped task) and its deregistration "
        "delay has not expired; expected during a rollout"
    ),
    "Target.InvalidState": (
        "the target is stopped or terminated; its task has stopped, look at the stopped "
        "tasks and their logs"
    ),
    "Target.IpUnusable": (
        "the target's IP address is reserved for use by a load balancer; the task must "
        "run with another IP address"
    ),
    "Target.HealthCheckDisabled": (
        "health checks are disabled for the target group; enable them so a broken release "
        "is detected"
    ),
}


# --- what on_update receives ------------------------------------------------------------


@dataclass(frozen=True)
class EventLine:
    """One service event, e.g. "(service rails-app-service) has reached a steady state."."""

    id: str
    created_at: datetime
    message: str

    def text(self) -> str:
        return f"{self.created_at:%H:%M:%S} {self.message}"


@dataclass(frozen=True)
class DeploymentLine:
    """One deployment of the service as ECS describes it."""

    id: str
    status: str  # PRIMARY (the one being rolled out), ACTIVE (older, draining), INACTIVE
    rollout_state: str | None  # IN_PROGRESS, COMPLETED, FAILED
    rollout_state_reason: str | None
    task_definition: str  # family:revision
    desired: int
    pending: int
    running: int
    ours: bool  # runs the task definition this rollout put in place

    def text(self) -> str:
        state = self.rollout_state or "-"
        return (
            f"{self.status:<7} {self.task_definition} desired {self.desired} "
            f"pending {self.pending} running {self.running} {state}"
        )


@dataclass(frozen=True)
class TargetLine:
    """The health of one target (task IP and port) in the service's target group."""

    target: str  # ip:port
    state: str  # initial, healthy, unhealthy, unused, draining, unavailable
    reason: str | None
    description: str | None

    @property
    def explanation(self) -> str | None:
        return TARGET_REASONS.get(self.reason or "")

    def text(self) -> str:
        line = f"target {self.target} {self.state}"
        if self.reason:
            line += f" ({self.reason})"
        if self.description:
            line += f": {self.description}"
        if self.explanation:
            line += f" - {self.explanation}"
        return line


@dataclass(frozen=True)
class RolloutUpdate:
    """What changed since the previous poll; only non-empty updates are emitted."""

    elapsed: float
    events: tuple[EventLine, ...] = ()
    deployments: tuple[DeploymentLine, ...] = ()
    targets: tuple[TargetLine, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.deployments or self.targets)

    def lines(self) -> list[str]:
        return [
            *(e.text() for e in self.events),
            *(d.text() for d in self.deployments),
            *(t.text() for t in self.targets),
        ]


# --- the result -------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerExit:
    name: str
    exit_code: int | None
    reason: str | None


@dataclass(frozen=True)
class StoppedTask:
    """A task of our revision that stopped during the rollout, and why."""

    task_arn: str
    task_definition: str  # family:revision
    stopped_reason: str | None
    stop_code: str | None
    stopped_at: datetime | None
    containers: tuple[ContainerExit, ...] = ()

    def text(self) -> str:
        line = f"task {last_part(self.task_arn)} ({self.task_definition}) stopped"
        if self.stop_code:
            line += f" [{self.stop_code}]"
        if self.stopped_reason:
            line += f": {self.stopped_reason}"
        for container in self.containers:
            details = []
            if container.exit_code is not None:
                details.append(f"exit code {container.exit_code}")
            if container.reason:
                details.append(container.reason)
            if details:
                line += f"; {container.name}: {', '.join(details)}"
        return line


@dataclass
class RolloutResult:
    outcome: Outcome
    reason: str | None
    events: list[str]
    stopped_tasks: list[StoppedTask]
    elapsed: float

    @property
    def succeeded(self) -> bool:
        return self.outcome == "COMPLETED"


# --- following --------------------------------------------------------------------------

STOPPED_TASKS_SHOWN = 5
# After the rollout failed, how long the stopped-task look-up may wait out throttling.
_COLLECT_SECONDS = 60.0


def follow_rollout(
    ecs: Any,
    elbv2: Any,
    cluster: str,
    service: str,
    task_definition_arn: str,
    timeout: float,
    on_update: Callable[[RolloutUpdate], None] | None = None,
    poll_seconds: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RolloutResult:
    """Poll the service until the rollout of `task_definition_arn` ends; how it ended.

    Throttling is waited out (with backoff) until `timeout`; Ctrl-C ends the wait with the
    outcome DETACHED (ECS carries on with the rollout). A missing service is a
    `HakobuError`; other AWS errors propagate.
    """
    waiter = Waiter(timeout, poll_seconds, sleep=sleep, clock=clock)
    watch = _Watch(task_definition_arn)
    patient = partial(call_patiently, sleep=sleep, clock=clock, deadline=waiter.deadline)

    def finish(outcome: Outcome, reason: str | None, stopped: list[StoppedTask]) -> RolloutResult:
        return RolloutResult(outcome, reason, watch.event_messages(), stopped, waiter.elapsed)

    def ended() -> tuple[Outcome, str | None] | None:
        try:
            description = patient(lambda: service_description(ecs, cluster, service))
            health = [
                patient(partial(target_health, elbv2, arn))
                for arn in target_group_arns(description)
            ]
        except ClientError as exc:
            if not is_throttling(exc):
                raise
            return "TIMEOUT", (
                f"AWS kept throttling the status calls until the {timeout:.0f} s timeout; "
                "the rollout continues on AWS"
            )
        update = watch.observe(description, health, elapsed=waiter.elapsed)
        if update and on_update is not None:
            on_update(update)
        verdict, reason = judge(
            description.get("deployments", []), task_definition_arn, watch.failure_seen()
        )
        return (verdict, reason) if verdict is not None else None

    try:
        verdict = poll_until(ended, waiter)
    except KeyboardInterrupt:
        return finish(
            "DETACHED",
            "stopped watching (Ctrl-C); the rollout continues on AWS",
            [],
        )
    if verdict is None:
        return finish(
            "TIMEOUT",
            f"the rollout did not finish within {timeout:.0f} s; ECS carries on with "
            "it (and rolls it back if its tasks keep failing)",
            [],
        )
    outcome, reason = verdict
    if outcome != "FAILED":
        return finish(outcome, reason, [])
    try:
        stopped = stopped_tasks(
            ecs,
            cluster,
            service,
            task_definition_arn,
            patient=partial(
                call_patiently, sleep=sleep, clock=clock, deadline=clock() + _COLLECT_SECONDS
            ),
        )
    except KeyboardInterrupt:
        stopped = []
    return finish("FAILED", reason, stopped)


def judge(
    deployments: list[dict[str, Any]], task_definition_arn: str, seen: str | None = None
) -> tuple[Outcome | None, str | None]:
    """COMPLETED or FAILED with ECS's reason, or (None, None) while the rollout goes on.

    `seen` is why ECS failed our deployment as an earlier poll showed it: once a rollback
    has completed, ECS no longer lists the failed deployment."""
    ours = revision_of(task_definition_arn)
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is not None and revision_of(primary.get("taskDefinition", "")) == ours:
        state = primary.get("rolloutState")
        if state == "COMPLETED":
            return "COMPLETED", primary.get("rolloutStateReason")
        if state == "FAILED":
            return "FAILED", primary.get("rolloutStateReason") or f"the rollout of {ours} failed"
        return None, None
    failed = next(
        (
            d
            for d in deployments
            if revision_of(d.get("taskDefinition", "")) == ours
            and d.get("rolloutState") == "FAILED"
        ),
        None,
    )
    now = revision_of(primary.get("taskDefinition", "")) if primary else "no primary deployment"
    reason = (failed or {}).get("rolloutStateReason") or seen
    if failed is not None or reason:
        return (
            "FAILED",
            f"{reason or f'the rollout of {ours} failed'} (the service is back on {now})",
        )
    return "FAILED", (
        f"{ours} is no longer the service's primary deployment, {now} is: the rollout was "
        "rolled back or replaced by another deploy"
    )


def stopped_tasks(
    ecs: Any,
    cluster: str,
    service: str,
    task_definition_arn: str,
    patient: Callable[[Callable[[], Any]], Any] | None = None,
    limit: int = STOPPED_TASKS_SHOWN,
) -> list[StoppedTask]:
    """The most recently stopped tasks of the service that ran `task_definition_arn`."""
    described = described_stopped_tasks(ecs, cluster, service, patient or (lambda fn: fn()))
    ours = revision_of(task_definition_arn)
    mine = [t for t in described if revision_of(t.get("taskDefinitionArn", "")) == ours]
    return [stopped_task(t) for t in mine[:limit]]


# --- internals --------------------------------------------------------------------------


@dataclass
class _Watch:
    """What was already shown: event ids, and the last line of each deployment and target."""

    task_definition_arn: str
    since: datetime | None = None
    started: bool = False
    seen_events: set[str] = field(default_factory=set)
    new_events: list[EventLine] = field(default_factory=list)
    deployments: dict[str, DeploymentLine] = field(default_factory=dict)
    targets: dict[str, TargetLine] = field(default_factory=dict)

    def observe(
        self,
        description: dict[str, Any],
        health: list[dict[str, Any]],
        elapsed: float,
    ) -> RolloutUpdate:
        deployments = description.get("deployments", [])
        first = not self.started
        if first:
            self._start(deployments)
        events = self._events(description.get("events", []), first)
        lines = [self._deployment_line(d) for d in deployments]
        changed = tuple(line for line in lines if self.deployments.get(line.id) != line)
        self.deployments.update((line.id, line) for line in changed)
        targets = [target_line(t) for page in health for t in page["TargetHealthDescriptions"]]
        moved = tuple(t for t in targets if self.targets.get(t.target) != t)
        self.targets.update((t.target, t) for t in moved)
        return RolloutUpdate(elapsed=elapsed, events=events, deployments=changed, targets=moved)

    def event_messages(self) -> list[str]:
        return [e.message for e in self.new_events]

    def failure_seen(self) -> str | None:
        """Why ECS failed our deployment, from its last described state or, if no poll
        caught it FAILED, the service event ECS writes ("(deployment ecs-svc/...)
        deployment failed: tasks failed to start.")."""
        for line in self.deployments.values():
            if line.ours and line.rollout_state == "FAILED" and line.rollout_state_reason:
                return line.rollout_state_reason
        ours = {line.id for line in self.deployments.values() if line.ours}
        for event in reversed(self.new_events):
            for deployment in ours:
                marker = f"(deployment {deployment}) deployment failed: "
                if marker in event.message:
                    return _failure_reason(event.message.split(marker, 1)[1])
        return None

    def _start(self, deployments: list[dict[str, Any]]) -> None:
        """Events from the creation of our deployment on are this rollout's."""
        self.started = True
        ours = revision_of(self.task_definition_arn)
        created = [
            d["createdAt"]
            for d in deployments
            if revision_of(d.get("taskDefinition", "")) == ours and d.get("createdAt")
        ]
        self.since = min(created) if created else None

    def _events(self, raw: Iterable[dict[str, Any]], first: bool) -> tuple[EventLine, ...]:
        fresh = []
        for event in raw:
            if event["id"] in self.seen_events:
                continue
            self.seen_events.add(event["id"])
            before_start = self.since is None or event["createdAt"] < self.since
            if first and before_start:
                continue  # history from before this rollout
            fresh.append(EventLine(event["id"], event["createdAt"], event.get("message", "")))
        fresh.sort(key=lambda e: e.created_at)  # AWS lists the newest first
        self.new_events.extend(fresh)
        return tuple(fresh)

    def _deployment_line(self, deployment: dict[str, Any]) -> DeploymentLine:
        return deployment_line(deployment, self.task_definition_arn)


def _failure_reason(event_tail: str) -> str:
    """A "deployment failed: ..." event in the words of the deployment's
    rolloutStateReason, which names the circuit breaker where it was the cause."""
    tail = event_tail.strip()
    if tail.startswith("tasks failed to start"):
        return f"ECS deployment circuit breaker: {tail}"
    return f"ECS failed the deployment: {tail}"


def deployment_line(deployment: Mapping[str, Any], current: str | None) -> DeploymentLine:
    """One deployment of a described service; `ours` when it runs `current`'s revision."""
    revision = revision_of(deployment.get("taskDefinition", ""))
    return DeploymentLine(
        id=deployment.get("id", "?"),
        status=deployment.get("status", "?"),
        rollout_state=deployment.get("rolloutState"),
        rollout_state_reason=deployment.get("rolloutStateReason") or None,
        task_definition=revision,
        desired=deployment.get("desiredCount", 0),
        pending=deployment.get("pendingCount", 0),
        running=deployment.get("runningCount", 0),
        ours=current is not None and revision == revision_of(current),
    )


def target_line(description: Mapping[str, Any]) -> TargetLine:
    """A target health description as one line (reason explained by TARGET_REASONS)."""
    target = description.get("Target", {})
    where = target.get("Id", "?")
    if target.get("Port") is not None:
        where = f"{where}:{target['Port']}"
    health = description.get("TargetHealth", {})
    return TargetLine(
        target=where,
        state=health.get("State", "unknown"),
        reason=health.get("Reason"),
        description=health.get("Description"),
    )


def stopped_task(task: Mapping[str, Any]) -> StoppedTask:
    """A described task reduced to why it stopped and how its containers exited."""
    return StoppedTask(
        task_arn=task["taskArn"],
        task_definition=revision_of(task.get("taskDefinitionArn", "")),
        stopped_reason=task.get("stoppedReason") or None,
        stop_code=task.get("stopCode") or None,
        stopped_at=task.get("stoppedAt"),
        containers=tuple(
            ContainerExit(c.get("name", "?"), c.get("exitCode"), c.get("reason") or None)
            for c in task.get("containers", [])
        ),
    )


def revision_of(task_definition: str) -> str:
    """`family:revision` of a task-definition ARN (or of a `family:revision` string)."""
    return last_part(task_definition)
