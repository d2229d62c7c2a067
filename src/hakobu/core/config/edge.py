"""The production edge sections of hakobu.toml: [domain], [autoscaling] and [alarms].

Each is optional: without it nothing of it is rendered, priced or drawn. A wrong value
raises `KeyProblem` naming the key and the fix, before any AWS or Terraform call.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from msgspec import Meta

from hakobu.core.config.section import KeyProblem, Section, field

# A DNS host name: labels of letters, digits and inner hyphens, at least two labels.
HOST_NAME_PATTERN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
)
# Enough to catch a typo; SNS sends a confirmation mail that proves the address.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# ECS allows 5000 tasks per service; far past this a web app has a bug or an attack, and a
# scaling policy gone wrong would bill that many tasks.
MAX_TASKS = 100


class DomainSettings(Section):
    """The public host name, served over HTTPS with an ACM certificate."""

    name: str | None = None
    # An existing Route 53 hosted zone, looked up and never created or deleted by hakobu.
    zone: str | None = None
    # "external": the DNS is elsewhere; hakobu prints the records to add.
    dns: Literal["route53", "external"] = "route53"
    cdn: bool = False
    # AWS's managed common rule set and a per-IP rate limit in front of the app.
    waf: bool = False

    def __post_init__(self) -> None:
        if self.name is None:
            what = "cdn = true" if self.cdn else "[domain]"
            raise KeyProblem(
                "name",
                f"{what} needs the public host name",
                'add name = "app.example.com" to [domain] (or remove the section)',
            )
        _check_host("name", self.name)
        if self.zone is not None and self.dns == "external":
            raise KeyProblem(
                "zone",
                'zone and dns = "external" exclude each other',
                "keep zone (a Route 53 hosted zone hakobu writes records in) or "
                'dns = "external" (you add the records elsewhere), not both',
            )
        if self.zone is None and self.dns == "route53":
            raise KeyProblem(
                "zone",
                "hakobu needs to know where the DNS records go",
                'add zone = "<your Route 53 hosted zone>" or dns = "external"',
            )
        if self.zone is not None:
            _check_host("zone", self.zone)
            if self.name != self.zone and not self.name.endswith("." + self.zone):
                raise KeyProblem(
                    "name",
                    f"{self.name!r} is not inside the zone {self.zone!r}",
                    f'use a name ending in ".{self.zone}", or the zone that holds {self.name}',
                )

    @property
    def external(self) -> bool:
        return self.dns == "external"


def _check_host(key: str, value: str) -> None:
    if not HOST_NAME_PATTERN.match(value):
        raise KeyProblem(
            key,
            f"{value!r} is not a DNS host name",
            'use lowercase letters, digits, hyphens and dots, e.g. "app.example.com" '
            "(no scheme, port or path)",
        )


class AutoscalingSettings(Section):
    """Application Auto Scaling target tracking on the ECS service's task count."""

    min: Annotated[int, Meta(ge=1)] = 1
    max: Annotated[int, Meta(ge=1)] = 4
    # Average CPU of the service's tasks, in %: 60 leaves headroom for a burst while new
    # tasks start (about a minute on Fargate).
    cpu_target: int = 60
    # ALB requests per task per minute; off unless set (it depends on the app).
    requests_per_target: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None

    def __post_init__(self) -> None:
        if self.max > MAX_TASKS:
            raise KeyProblem(
                "max",
                f"{self.max} tasks is above hakobu's limit of {MAX_TASKS}",
                f"use max = {MAX_TASKS} or fewer (a runaway policy would bill every task)",
            )
        if self.min > self.max:
            raise KeyProblem(
                "min",
                f"min = {self.min} is above max = {self.max}",
                "make min at most max, e.g. min = 1, max = 4",
            )
        if not 1 <= self.cpu_target <= 100:
            raise KeyProblem(
                "cpu_target",
                f"{self.cpu_target} is not a CPU percentage",
                "use a value from 1 to 100 (60 is a good start)",
            )


# Each alarm's threshold, with why it is the default. The key names an alarm in
# `hakobu alarms` and overrides its threshold in [alarms].
class AlarmsSettings(Section):
    """An SNS topic with e-mail subscriptions and alarms on the stack's health."""

    email: list[str] = field(list)
    # 5xx answered by the load balancer itself (no healthy task, timeouts), in % of a
    # minute's requests, in 2 of 3 minutes: more than 1 in 20 is an outage for someone.
    alb_5xx_percent: Annotated[int, Meta(ge=1, le=100)] = 5
    # 5xx answered by the app, in % of requests: the alarm that rolls back a deploy.
    target_5xx_percent: Annotated[int, Meta(ge=1, le=100)] = 5
    # p95 response time, in ms: past 2 s users notice and retry.
    p95_response_ms: Annotated[int, Meta(ge=10, le=120_000)] = 2000
    # Any unhealthy task for 3 minutes: ECS replaces one in about a minute, so a longer
    # spell is a crash loop or a failing health check.
    unhealthy_hosts: Annotated[int, Meta(ge=1, le=1000)] = 1
    # The service's average CPU and memory, in %: above 85 for 10 minutes autoscaling (or
    # the fixed count) is not keeping up.
    ecs_cpu_percent: Annotated[int, Meta(ge=1, le=100)] = 85
    ecs_memory_percent: Annotated[int, Meta(ge=1, le=100)] = 85
    # The database's CPU, in %, for 10 minutes: queries start to queue.
    rds_cpu_percent: Annotated[int, Meta(ge=1, le=100)] = 80
    # Free storage in MiB: 2 GiB is 10% of the default 20 GiB, a day or more of warning.
    rds_free_storage_mb: Annotated[int, Meta(ge=1)] = 2048
    # Connections: the smallest classes (1 GiB) allow about 80; 60 leaves room to log in.
    rds_connections: Annotated[int, Meta(ge=1)] = 60
    # Freeable memory in MiB: under 64 MiB on a small instance MySQL starts swapping.
    rds_freeable_memory_mb: Annotated[int, Meta(ge=1)] = 64

    def __post_init__(self) -> None:
        for index, address in enumerate(self.email):
            if not EMAIL_PATTERN.match(address):
                raise KeyProblem(
                    f"email.{index}",
                    f"{address!r} is not an e-mail address",
                    'write it as "ops@example.com"',
                )
        if len(set(self.email)) != len(self.email):
            raise KeyProblem("email", "an address is listed twice", "list each address once")
