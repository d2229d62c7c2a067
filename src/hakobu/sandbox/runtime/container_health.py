"""Container health checks as ECS runs them: the task definition's `healthCheck`.

ECS (through the container agent) runs the command every `interval` seconds; a run longer
than `timeout` fails; `retries` failures in a row make the container UNHEALTHY; failures
during `startPeriod` do not count, while a pass then already makes it HEALTHY. The task's
health is that of its essential containers with a health check: UNHEALTHY if one is,
HEALTHY if all are, UNKNOWN otherwise. The checks themselves run through the container
engine (`engine.health_check`), the same way on docker and podman.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hakobu.sandbox.runtime.model import HealthSettings

FAILED_CHECKS = "Task failed container health checks"


@dataclass
class Tracker:
    settings: HealthSettings
    command: list[str]
    started_at: float
    status: str = "UNKNOWN"
    failures: int = 0
    next_at: float = 0.0
    checking: bool = False

    def __post_init__(self) -> None:
        # As docker's HEALTHCHECK (which ECS uses): the first check one interval after start.
        self.next_at = self.started_at + self.settings.interval_s

    def due(self, now: float) -> bool:
        return not self.checking and now >= self.next_at

    def record(self, passed: bool, now: float) -> None:
        self.checking = False
        self.next_at = now + self.settings.interval_s
        if passed:
            self.status, self.failures = "HEALTHY", 0
        elif now - self.started_at >= self.settings.start_period_s:
            self.failures += 1
            if self.failures >= self.settings.retries:
                self.status = "UNHEALTHY"


def task_health(statuses: Iterable[str]) -> str:
    found = list(statuses)
    if "UNHEALTHY" in found:
        return "UNHEALTHY"
    if found and all(status == "HEALTHY" for status in found):
        return "HEALTHY"
    return "UNKNOWN"
