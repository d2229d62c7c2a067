"""What an environment is doing now, in one look: the data behind `hakobu status`.

The guide's "メンテナンス" section needs four commands for this (describe-services twice,
describe-target-groups + describe-target-health, list-tasks + describe-tasks) and its
"トラブルシューティング" a fifth (describe-db-instances). `gather_status` makes the fewest
calls the data needs, and makes the independent ones at the same time:

- ECS (one client, in order): one `describe_services`; one `describe_task_definition`
  (with TAGS, for the image tag a deploy recorded) per distinct revision of the
  deployments; one `list_tasks` of the STOPPED tasks and, if there are any, one
  `describe_tasks` for all of them;
- ELBv2 (one client, in order): one `describe_load_balancers`; then, once the service is
  known, one `describe_target_health` per target group of the service;
- RDS: one `describe_db_instances`.

Each client's calls stay in one order on one thread, so a strict stub (botocore's Stubber)
sees the same sequence every run. Nothing here prints: the CLI renders a `StatusReport`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from hakobu.aws import ecs as ecs_ops
from hakobu.aws import elbv2 as elbv2_ops
from hakobu.aws import rds as rds_ops
from hakobu.aws.arn import last_part
from hakobu.aws.clients import AwsClients, ClientSource
from hakobu.aws.cloudwatch import latest_average
from hakobu.aws.ecs import service_description
from hakobu.aws.polling import call_patiently
from hakobu.core.config import Environment
from hakobu.core.config.processes import workers
from hakobu.core.engines import SERVERLESS_CLASS, engine
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.sandbox import emulator

# Shared, not copied: `releases` and `status` read a revision's tags the same way, and
# `deploy` and `status` describe targets and stopped tasks in the same words.
from hakobu.ship.history import ReleaseRecord, release_record
from hakobu.ship.rollout import (
    DeploymentLine,
    EventLine,
    StoppedTask,
    TargetLine,
    deployment_line,
    revision_of,
    stopped_task,
    target_line,
)

T = TypeVar("T")
Patient = Callable[[Callable[[], T]], T]  # call_patiently with its deadline bound
JSON_VERSION = 1
EVENTS_SHOWN = 5
STOPPED_TASKS_SHOWN = 5
# How long one gather may wait out AWS throttling (botocore's adaptive retries come first).
PATIENCE_SECONDS = 30.0
# Each worker's newest events shown beside web's (a rollout or a crash loop in a few lines).
PROCESS_EVENTS_SHOWN = 3
MISSING = "MISSING"  # a process whose service `hakobu up` has not created yet


# The clients a status needs (ECS, ELBv2, RDS), made once and reused by every `--watch`
# refresh: making a boto3 client costs more than the call it then sends.
StatusClients = AwsClients


# --- the report -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    """The guide's `services[0].{running,pending,desired,status}`, and the revision set."""

    name: str
    status: str  # ACTIVE, DRAINING, INACTIVE
    desired: int
    running: int
    pending: int
    task_definition: str  # family:revision

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "desired_count": self.desired,
            "running_count": self.running,
            "pending_count": self.pending,
            "task_definition": self.task_definition,
        }


@dataclass(frozen=True)
class Deployment:
    """One deployment (PRIMARY: being rolled out or serving; ACTIVE: older, draining) and
    what its revision runs."""

    line: DeploymentLine
    created_at: datetime | None
    updated_at: datetime | None
    release: ReleaseRecord | None  # None only if its revision could not be described

    @property
    def image_tag(self) -> str | None:
        return self.release.image_tag if self.release else None

    def as_json(self) -> dict[str, Any]:
        line = self.line
        return {
            "id": line.id,
            "status": line.status,
            "rollout_state": line.rollout_state,
            "rollout_state_reason": line.rollout_state_reason,
            "task_definition": line.task_definition,
            "desired_count": line.desired,
            "pending_count": line.pending,
            "running_count": line.running,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "release": self.release.as_json() if self.release else None,
        }


@dataclass(frozen=True)
class TargetGroupHealth:
    arn: str
    targets: tuple[TargetLine, ...]

    @property
    def name(self) -> str:
        # arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID
        parts = self.arn.split("/")
        return parts[1] if len(parts) >= 3 else self.arn

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "targets": [
                {
                    "target": t.target,
                    "state": t.state,
                    "reason": t.reason,
                    "description": t.description,
                    "explanation": t.explanation,
                }
                for t in self.targets
            ],
        }


@dataclass(frozen=True)
class DatabaseMember:
    """One instance of an Aurora cluster."""

    identifier: str
    role: str  # writer | reader
    status: str
    instance_class: str


@dataclass(frozen=True)
class DatabaseStatus:
    """The guide's troubleshooting look: `aws rds describe-db-instances`; for Aurora,
    `describe-db-clusters` and each of its instances."""

    identifier: str
    status: str  # available, backing-up, modifying, stopped, ...
    engine: str
    engine_version: str
    instance_class: str  # an Aurora cluster's: its writer's
    endpoint: str | None
    kind: str = "instance"  # instance | cluster
    instances: tuple[DatabaseMember, ...] = ()
    # Serverless v2's configured range in ACUs, e.g. (0.0, 2.0); None when provisioned.
    capacity: tuple[float, float] | None = None
    # The writer's capacity in the newest minute CloudWatch has (ServerlessDatabaseCapacity);
    # 0 means it paused itself. None when provisioned or no datapoint is there yet.
    current_acu: float | None = None

    @property
    def paused_itself(self) -> bool:
        return self.current_acu == 0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["instances"] = [asdict(m) for m in self.instances]
        data["capacity"] = (
            {"min_acu": self.capacity[0], "max_acu": self.capacity[1]} if self.capacity else None
        )
        data["paused_itself"] = self.paused_itself
        return data


@dataclass(frozen=True)
class LoadBalancerStatus:
    name: str
    dns_name: str
    state: str  # provisioning, active, active_impaired, failed
    # The sandbox only: where its runtime serves this load balancer on 127.0.0.1.
    local_url: str | None = None

    @property
    def url(self) -> str:
        if self.local_url:
            return self.local_url
        # The guide's stack listens on HTTP only (no certificate yet).
        return f"http://{self.dns_name}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "url": self.url}


@dataclass(frozen=True)
class ProcessStatus:
    """A process beside web ([processes.NAME]): its service's counts, its rollout (the
    PRIMARY deployment's state) and its newest events."""

    process: str
    service: ServiceStatus
    rollout_state: str | None
    rollout_reason: str | None
    events: tuple[EventLine, ...]  # the newest PROCESS_EVENTS_SHOWN, oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            **self.service.as_json(),
            "rollout_state": self.rollout_state,
            "rollout_state_reason": self.rollout_reason,
            "events": [_event_json(e) for e in self.events],
        }


@dataclass(frozen=True)
class StatusReport:
    """Everything `hakobu status` shows; `None` means that part does not exist (yet)."""

    environment: str
    region: str
    sandbox: bool
    gathered_at: datetime
    service: ServiceStatus
    deployments: tuple[Deployment, ...]
    target_groups: tuple[TargetGroupHealth, ...]
    events: tuple[EventLine, ...]  # the newest EVENTS_SHOWN, oldest first
    stopped_tasks: tuple[StoppedTask, ...]  # newest first
    database: DatabaseStatus | None
    load_balancer: LoadBalancerStatus | None
    processes: tuple[ProcessStatus, ...] = ()  # each worker, in hakobu.toml's order

    @property
    def url(self) -> str | None:
        return self.load_balancer.url if self.load_balancer else None

    @property
    def verdict(self) -> str:
        """One phrase for the headline, from the deployments and counts (never event text)."""
        primary = next((d.line for d in self.deployments if d.line.status == "PRIMARY"), None)
        if primary is not None and primary.rollout_state == "FAILED":
            return "rollout failed"
        rolling = primary is not None and primary.rollout_state == "IN_PROGRESS"
        if rolling or len(self.deployments) > 1:
            return "rolling out"
        if self.service.desired == 0:
            return "scaled to zero"
        if self.service.running < self.service.desired:
            return "below desired count"
        return "steady"

    def as_json(self) -> dict[str, Any]:
        """The `--json` envelope; `version` changes only when a field changes meaning."""
        return {
            "version": JSON_VERSION,
            "environment": self.environment,
            "region": self.region,
            "sandbox": self.sandbox,
            "gathered_at": _iso(self.gathered_at),
            "verdict": self.verdict,
            "url": self.url,
            "service": self.service.as_json(),
            "deployments": [d.as_json() for d in self.deployments],
            "target_groups": [g.as_json() for g in self.target_groups],
            "events": [_event_json(e) for e in self.events],
            "processes": [p.as_json() for p in self.processes],
            "stopped_tasks": [_stopped_json(t) for t in self.stopped_tasks],
            "database": self.database.as_json() if self.database else None,
            "load_balancer": self.load_balancer.as_json() if self.load_balancer else None,
        }


# --- gathering --------------------------------------------------------------------------


def gather_status(
    target: ClientSource,
    env: Environment,
    *,
    clients: AwsClients | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StatusReport:
    """Describe the environment's service, deployments, targets, stopped tasks, DB and ALB.

    A missing cluster or service is a `HakobuError` whose fix is `hakobu up`; a missing DB
    or load balancer leaves that part `None`. Throttling is waited out for up to
    `PATIENCE_SECONDS`; other AWS errors propagate.
    """
    names = Names.of(env)
    clients = clients or AwsClients.of(target)
    patient = partial(call_patiently, sleep=sleep, clock=clock, deadline=clock() + PATIENCE_SECONDS)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="hakobu-status") as pool:
        described = pool.submit(
            patient, partial(service_description, clients.ecs, names.cluster, names.service)
        )
        aurora = engine(env.settings.database.engine).aurora
        # Only a Serverless v2 writer publishes its capacity; made here, not in the pool's
        # thread: boto3 makes clients safely on one thread only.
        serverless = aurora and env.settings.database.instance_class == SERVERLESS_CLASS
        cloudwatch = clients.client("cloudwatch") if serverless else None
        database = pool.submit(
            patient, partial(_database, clients.rds, names.db_instance, aurora, cloudwatch)
        )
        balancing = pool.submit(
            _balancer_and_targets, clients.elbv2, names.load_balancer, described, patient
        )
        running = [
            (name, pool.submit(patient, partial(_process, clients.ecs, names, name)))
            for name in workers(env)
        ]
        service = described.result()  # a missing service stops here, with "run hakobu up"
        deployments = _deployments(clients.ecs, service, names.container, patient)
        stopped = _stopped_tasks(clients.ecs, names.cluster, names.service, patient)
        balancer, groups = balancing.result()
        return StatusReport(
            environment=env.name,
            region=env.region,
            sandbox=target.sandbox,
            gathered_at=datetime.now(UTC),
            service=_service_status(service),
            deployments=deployments,
            target_groups=groups,
            events=_last_events(service),
            stopped_tasks=stopped,
            database=database.result(),
            load_balancer=_served_locally(balancer, env) if target.sandbox else balancer,
            processes=tuple(future.result() for _, future in running),
        )


def _process(ecs: Any, names: Names, process: str) -> ProcessStatus:
    try:
        service = service_description(ecs, names.cluster, names.process(process))
    except HakobuError:  # added to hakobu.toml, not applied yet: web's status still shows
        missing = ServiceStatus(names.process(process), MISSING, 0, 0, 0, "-")
        return ProcessStatus(process, missing, None, None, ())
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    events = _last_events(service)
    return ProcessStatus(
        process=process,
        service=_service_status(service),
        rollout_state=primary.get("rolloutState"),
        rollout_reason=primary.get("rolloutStateReason"),
        events=events[-PROCESS_EVENTS_SHOWN:],
    )


def _event_json(event: EventLine) -> dict[str, Any]:
    return {"id": event.id, "created_at": _iso(event.created_at), "message": event.message}


def _served_locally(
    balancer: LoadBalancerStatus | None, env: Environment
) -> LoadBalancerStatus | None:
    """In the sandbox the app answers where the runtime serves the load balancer."""
    served = (emulator.runtime_facts(env.root) or {}).get("load_balancers") or {}
    if balancer is None or balancer.name not in served:
        return balancer
    return replace(balancer, local_url=str(served[balancer.name]["url"]))


def _service_status(service: dict[str, Any]) -> ServiceStatus:
    return ServiceStatus(
        name=service.get("serviceName", "?"),
        status=service.get("status", "?"),
        desired=service.get("desiredCount", 0),
        running=service.get("runningCount", 0),
        pending=service.get("pendingCount", 0),
        task_definition=revision_of(service.get("taskDefinition", "")),
    )


def _deployments(
    ecs: Any, service: dict[str, Any], container: str, patient: Patient[Any]
) -> tuple[Deployment, ...]:
    """Each deployment with its revision's release; one describe per distinct revision."""
    current = service.get("taskDefinition")
    raw = service.get("deployments", [])
    # The service's own revision is normally the PRIMARY's (so no extra call on AWS); it is
    # listed too because the emulator does not move its deployment on update_service.
    arns = dict.fromkeys(a for a in [current, *(d.get("taskDefinition") for d in raw)] if a)
    releases = {
        revision_of(arn): patient(partial(release_record, ecs, arn, container, current))
        for arn in arns
    }
    return tuple(
        Deployment(
            line=deployment_line(d, current),
            created_at=d.get("createdAt"),
            updated_at=d.get("updatedAt"),
            release=releases.get(revision_of(d.get("taskDefinition", ""))),
        )
        for d in raw
    )


def _last_events(service: dict[str, Any]) -> tuple[EventLine, ...]:
    """The newest events, oldest first so they read as a story; AWS lists newest first."""
    events = sorted(service.get("events", []), key=lambda e: e["createdAt"], reverse=True)
    return tuple(
        EventLine(e["id"], e["createdAt"], e.get("message", ""))
        for e in reversed(events[:EVENTS_SHOWN])
    )


def _stopped_tasks(
    ecs: Any, cluster: str, service: str, patient: Patient[Any]
) -> tuple[StoppedTask, ...]:
    """The service's recently stopped tasks of any revision, newest first.

    `rollout.stopped_tasks` keeps those of one revision; a status wants them all.
    """
    tasks = ecs_ops.stopped_tasks(ecs, cluster, service, patient)
    return tuple(stopped_task(t) for t in tasks[:STOPPED_TASKS_SHOWN])


def _database(
    rds: Any, identifier: str, aurora: bool = False, cloudwatch: Any = None
) -> DatabaseStatus | None:
    if aurora:
        return _cluster(rds, identifier, cloudwatch)
    db = rds_ops.db_instance(rds, identifier)
    if db is None:
        return None
    return _described(
        db,
        ("DBInstanceIdentifier", "DBInstanceStatus"),
        identifier,
        instance_class=db.get("DBInstanceClass", "?"),
        endpoint=(db.get("Endpoint") or {}).get("Address"),
    )


def _described(
    found: dict[str, Any], keys: tuple[str, str], identifier: str, **rest: Any
) -> DatabaseStatus:
    """What an RDS instance and an Aurora cluster both report, read from `found` under the
    `keys` for their identifier and state (which differ), plus the rest as given."""
    id_key, status_key = keys
    return DatabaseStatus(
        identifier=found.get(id_key, identifier),
        status=found.get(status_key, "unknown"),
        engine=found.get("Engine", "?"),
        engine_version=found.get("EngineVersion", "?"),
        **rest,
    )


def _cluster(rds: Any, identifier: str, cloudwatch: Any = None) -> DatabaseStatus | None:
    """The Aurora cluster, its instances (the writer first), its Serverless v2 range and
    the writer's capacity now (from CloudWatch, when given a client)."""
    cluster = rds_ops.db_cluster(rds, identifier)
    if cluster is None:
        return None
    members = sorted(
        cluster.get("DBClusterMembers", []), key=lambda m: not m.get("IsClusterWriter")
    )
    instances = []
    for member in members:
        found = rds_ops.db_instance(rds, member["DBInstanceIdentifier"]) or {}
        instances.append(
            DatabaseMember(
                identifier=member["DBInstanceIdentifier"],
                role="writer" if member.get("IsClusterWriter") else "reader",
                status=found.get("DBInstanceStatus", "missing"),
                instance_class=found.get("DBInstanceClass", "?"),
            )
        )
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    capacity = (
        (float(scaling["MinCapacity"]), float(scaling["MaxCapacity"]))
        if "MinCapacity" in scaling and "MaxCapacity" in scaling
        else None
    )
    return _described(
        cluster,
        ("DBClusterIdentifier", "Status"),
        identifier,
        instance_class=instances[0].instance_class if instances else "?",
        endpoint=cluster.get("Endpoint"),
        kind="cluster",
        instances=tuple(instances),
        capacity=capacity,
        current_acu=_current_acu(cloudwatch, instances) if capacity else None,
    )


def _current_acu(cloudwatch: Any, instances: list[DatabaseMember]) -> float | None:
    """The writer's ServerlessDatabaseCapacity: the only sign that a min-0 cluster has
    paused itself, as RDS still calls a paused instance "available"."""
    writer = next((m for m in instances if m.role == "writer"), None)
    if cloudwatch is None or writer is None:
        return None
    return latest_average(
        cloudwatch,
        "AWS/RDS",
        "ServerlessDatabaseCapacity",
        {"DBInstanceIdentifier": writer.identifier},
        now=datetime.now(UTC),
    )


def _balancer_and_targets(
    elbv2: Any, name: str, described: Future[dict[str, Any]], patient: Patient[Any]
) -> tuple[LoadBalancerStatus | None, tuple[TargetGroupHealth, ...]]:
    """The ALB, then (once the service is known) the health of its target groups; in this
    order on one client, so the calls are the same sequence every time."""
    balancer = patient(partial(_load_balancer, elbv2, name))
    arns = ecs_ops.target_group_arns(described.result())
    return balancer, tuple(_target_group(elbv2, arn, patient) for arn in arns)


def _target_group(elbv2: Any, arn: str, patient: Patient[Any]) -> TargetGroupHealth:
    health = patient(partial(elbv2_ops.target_health, elbv2, arn))
    return TargetGroupHealth(
        arn, tuple(target_line(t) for t in health.get("TargetHealthDescriptions", []))
    )


def _load_balancer(elbv2: Any, name: str) -> LoadBalancerStatus | None:
    lb = elbv2_ops.load_balancer(elbv2, name)
    if lb is None:
        return None
    return LoadBalancerStatus(
        name=lb.get("LoadBalancerName", name),
        dns_name=lb["DNSName"],
        state=(lb.get("State") or {}).get("Code", "unknown"),
    )


# --- helpers ----------------------------------------------------------------------------


def _stopped_json(task: StoppedTask) -> dict[str, Any]:
    return {
        "task_id": last_part(task.task_arn),
        "task_arn": task.task_arn,
        "task_definition": task.task_definition,
        "stop_code": task.stop_code,
        "stopped_reason": task.stopped_reason,
        "stopped_at": _iso(task.stopped_at),
        "containers": [
            {"name": c.name, "exit_code": c.exit_code, "reason": c.reason} for c in task.containers
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
