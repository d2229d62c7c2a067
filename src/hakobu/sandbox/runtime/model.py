"""The values the runtime's bridge hands out and takes: frozen copies of what moto holds,
so no caller ever holds (or edits) a moto object. Plain data: no moto import here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

SERVICE_GROUP_PREFIX = "service:"  # ECS's task group for a service's tasks


@dataclass(frozen=True)
class ServiceRef:
    account: str
    region: str
    cluster: str
    name: str


@dataclass(frozen=True)
class TaskRef:
    account: str
    region: str
    cluster: str
    arn: str


@dataclass(frozen=True)
class Deployment:
    id: str
    status: str  # PRIMARY | ACTIVE
    task_definition: str
    desired_count: int
    running_count: int
    pending_count: int
    failed_tasks: int
    rollout_state: str | None
    rollout_state_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class ServiceTarget:
    target_group_arn: str
    container_name: str
    container_port: int


@dataclass(frozen=True)
class Service:
    ref: ServiceRef
    arn: str
    status: str  # ACTIVE | DRAINING | INACTIVE
    desired_count: int
    task_definition: str | None
    deployments: tuple[Deployment, ...]
    targets: tuple[ServiceTarget, ...]
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    minimum_healthy_percent: int
    maximum_percent: int
    circuit_breaker: bool
    rollback: bool
    grace_period_s: int


@dataclass(frozen=True)
class LogSettings:
    group: str
    region: str | None
    stream_prefix: str | None


@dataclass(frozen=True)
class ContainerDefinition:
    name: str
    image: str
    essential: bool
    command: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    environment: Mapping[str, str]
    secrets: Mapping[str, str]  # variable -> valueFrom (an ARN or parameter name)
    port: int | None
    cpu: int | None
    memory: int | None
    log: LogSettings | None
    health_command: tuple[str, ...] | None
    health: HealthSettings | None = None


@dataclass(frozen=True)
class HealthSettings:
    """A container's `healthCheck`, with ECS's defaults."""

    interval_s: float = 30
    timeout_s: float = 5
    retries: int = 3
    start_period_s: float = 0


@dataclass(frozen=True)
class TaskDefinition:
    arn: str
    family: str
    revision: int
    cpu: int | None
    memory: int | None
    containers: tuple[ContainerDefinition, ...]


@dataclass(frozen=True)
class ContainerOverride:
    command: tuple[str, ...] | None
    environment: Mapping[str, str]


@dataclass(frozen=True)
class Task:
    ref: TaskRef
    id: str
    task_definition: str
    group: str
    started_by: str
    last_status: str
    desired_status: str
    stopped_reason: str | None
    ip: str | None
    overrides: Mapping[str, ContainerOverride]  # by container name

    @property
    def service_name(self) -> str | None:
        if self.group.startswith(SERVICE_GROUP_PREFIX):
            return self.group[len(SERVICE_GROUP_PREFIX) :]
        return None


@dataclass(frozen=True)
class ContainerReport:
    """What a container did, for describe_tasks' containers[]."""

    name: str
    last_status: str
    exit_code: int | None = None
    reason: str | None = None
    runtime_id: str | None = None
    health_status: str = "UNKNOWN"  # without a health check ECS says UNKNOWN


@dataclass(frozen=True)
class TargetHealth:
    state: str  # initial | healthy | unhealthy | draining | unused | unavailable
    reason: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    name: str
    port: int | None
    health_path: str
    interval_s: float
    timeout_s: float
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str
    deregistration_delay_s: float
    targets: tuple[str, ...]


@dataclass(frozen=True)
class LoadBalancer:
    account: str
    region: str
    name: str
    dns_name: str
    listeners: tuple[tuple[int, str], ...]  # (listener port, forwarded target group ARN)


@dataclass(frozen=True)
class Database:
    kind: str  # instance | cluster
    account: str
    region: str
    identifier: str
    engine: str
    status: str
    database: str | None
    username: str | None
    port: int
    address: str
    password: str | None = field(default=None, repr=False)
    aliases: tuple[str, ...] = ()  # other names of the same server (reader, members)
