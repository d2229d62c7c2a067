"""ECS's scheduling rules as pure arithmetic, so each can be tested without a container.

Sources (Amazon ECS Developer Guide and API Reference):
- rolling update: `minimumHealthyPercent` is the lower limit on tasks that must stay
  RUNNING and healthy, rounded up; `maximumPercent` the upper limit on RUNNING or PENDING
  tasks, rounded down (ECS never starts a task past it);
- deployment circuit breaker: the failed-task threshold is 0.5 x desired count, rounded up,
  at least 3 and at most 200 (`ServiceDeploymentCircuitBreaker.threshold`);
- stop codes and reasons are those ECS writes (`stopCode`, `stoppedReason`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CIRCUIT_BREAKER_MIN = 3
CIRCUIT_BREAKER_MAX = 200

# ECS's own words, as describe-tasks and describe-services show them.
ESSENTIAL_EXITED = "Essential container in task exited"
STOP_ESSENTIAL_EXITED = "EssentialContainerExited"
STOP_FAILED_TO_START = "TaskFailedToStart"
STOP_SCHEDULER = "ServiceSchedulerInitiated"
STOP_USER = "UserInitiated"
BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."


def circuit_breaker_threshold(desired_count: int) -> int:
    """Failed tasks after which ECS marks a deployment FAILED."""
    return min(CIRCUIT_BREAKER_MAX, max(CIRCUIT_BREAKER_MIN, math.ceil(0.5 * desired_count)))


@dataclass(frozen=True)
class Bounds:
    """How many tasks a rolling update must keep healthy and may run at once."""

    minimum_healthy: int
    maximum_running: int


def bounds(desired: int, minimum_healthy_percent: int, maximum_percent: int) -> Bounds:
    low = math.ceil(desired * minimum_healthy_percent / 100)
    high = math.floor(desired * maximum_percent / 100)
    # With the maximum at the minimum no task could ever be replaced; AWS documents no
    # behaviour for that case, so the sandbox allows one task more rather than stall.
    if desired and high <= low:
        high = low + 1
    return Bounds(minimum_healthy=low, maximum_running=high)


@dataclass(frozen=True)
class Step:
    """What one reconcile pass does: tasks to start for the primary deployment, tasks of
    older deployments to stop, surplus primary tasks to stop (scale-in)."""

    start: int
    stop_old: int
    stop_surplus: int


def rolling_step(
    desired: int,
    limits: Bounds,
    primary_live: int,
    primary_healthy: int,
    old_live: int,
    old_healthy: int,
) -> Step:
    """One step of a rolling update.

    `*_live` counts tasks that are PENDING or RUNNING and not being stopped; `*_healthy`
    those among them that pass their health checks. New tasks start while the total stays
    within the maximum; old tasks stop only while enough healthy tasks remain, so with
    minimumHealthyPercent 100 they stop after new ones are healthy. An unhealthy old task
    costs no healthy capacity and is stopped first.
    """
    total = primary_live + old_live
    start = max(0, min(desired - primary_live, limits.maximum_running - total))
    spare = max(0, primary_healthy + old_healthy - limits.minimum_healthy)
    stop_old = min(old_live, (old_live - old_healthy) + spare)
    return Step(start=start, stop_old=stop_old, stop_surplus=max(0, primary_live - desired))
