"""The one module that reads and writes moto's in-memory state (DESIGN.md decision 8).

The runtime lives in the emulator's process, beside moto's server threads. What it learns
(services, task definitions, run_task requests, target groups, databases, secrets) and what
it reports (task states, deployments, counts, events, target health, log events) passes
through the small functions here, so a moto upgrade breaks this module and its tests only;
pyproject bounds moto to the versions those tests pass on.

Values handed out are frozen copies: callers never hold a moto object. Writes name their
object by account, region, cluster and ARN.

moto is not ECS: `install()` wraps a few of its handlers once, so the public API answers as
AWS does while the runtime runs (each wrapper says what it fixes):

- `create_service` keeps deploymentConfiguration, healthCheckGracePeriodSeconds and
  enableExecuteCommand (moto drops them);
- `update_service` with a new task definition (or forceNewDeployment) starts a new PRIMARY
  deployment and keeps the old one ACTIVE, instead of editing the one deployment in place;
  it no longer claims runningCount == desiredCount;
- `run_task` answers PROVISIONING (moto: RUNNING) and tasks keep the status we set (moto
  advances a task one step per describe_tasks);
- `stop_task` on a task the runtime runs leaves lastStatus to the runtime (moto: STOPPED at
  once, while the container still runs);
- `list_tasks(serviceName=...)` filters by service (moto ignores the filter);
- `describe_target_health` reports the states the runtime's health checks measured;
- `create_db_instance` / `create_db_cluster` without a port get the local server's port;
- `stop_db_instance` / `start_db_instance` answer "stopping" / "starting" (moto: "stopped" /
  "available" at once), until the runtime's server has really stopped or answers.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import wraps
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ec2.utils import generate_dns_from_ip
from moto.ecr.models import ecr_backends
from moto.ecs import models as ecs_models
from moto.ecs.models import ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2 import models as elbv2_models
from moto.elbv2.models import elbv2_backends
from moto.logs.models import logs_backends
from moto.moto_api._internal import mock_random
from moto.rds import models as rds_models
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

from hakobu.sandbox import images
from hakobu.sandbox.runtime.model import (
    SERVICE_GROUP_PREFIX,
    ContainerDefinition,
    ContainerOverride,
    ContainerReport,
    Database,
    Deployment,
    HealthSettings,
    LoadBalancer,
    LogSettings,
    Service,
    ServiceRef,
    ServiceTarget,
    TargetGroup,
    TargetHealth,
    Task,
    TaskDefinition,
    TaskRef,
)

ACCOUNT = DEFAULT_ACCOUNT_ID  # moto's account when requests carry no other
# Statuses of a task that still holds (or will hold) a container.
LIVE_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")

_lock = threading.RLock()
_installed: list[tuple[Any, str, Any]] = []  # (owner, attribute, original) to undo
# Target health measured by the runtime: {target group ARN: {target id: state}}.
_health: dict[str, dict[str, TargetHealth]] = {}
# Tasks the runtime runs (service tasks it made, run_task tasks it picked up).
_claimed: set[str] = set()
# Port for a new DB instance or cluster without one: engine -> port (set by install()).
_db_port: Callable[[str], int] | None = None


# --- install / uninstall the API fixes ---------------------------------------------------


def install(db_port: Callable[[str], int] | None = None) -> None:
    """Wrap moto's handlers (see the module docstring); idempotent.

    `db_port(engine)` gives the port of the local server for a DB created without one.
    """
    global _db_port
    with _lock:
        _db_port = db_port
        if _installed:
            return
        _wrap(EC2ContainerServiceResponse, "create_service", _create_service)
        backend = ecs_models.EC2ContainerServiceBackend
        _wrap(backend, "update_service", _update_service)
        _wrap(backend, "run_task", _run_task)
        _wrap(backend, "stop_task", _stop_task)
        _wrap(backend, "list_tasks", _list_tasks)
        _wrap(elbv2_models.FakeTargetGroup, "health_for", _health_for)
        _wrap(rds_models.RDSBackend, "create_db_instance", _create_db)
        _wrap(rds_models.RDSBackend, "create_db_cluster", _create_db)
        _wrap(rds_models.RDSBackend, "stop_db_instance", _moving_db("stopping"))
        _wrap(rds_models.RDSBackend, "start_db_instance", _moving_db("starting"))


def uninstall() -> None:
    """Undo `install()` and forget what the runtime recorded (tests, runtime stop)."""
    global _db_port
    with _lock:
        while _installed:
            owner, name, original = _installed.pop()
            setattr(owner, name, original)
        _health.clear()
        _claimed.clear()
        _db_port = None


def _wrap(owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
    original = getattr(owner, name)

    @wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        return wrapper(original, *args, **kwargs)

    setattr(owner, name, patched)
    _installed.append((owner, name, original))


_KEPT_SERVICE_PARAMS = {
    "deploymentConfiguration": "deployment_configuration",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableExecuteCommand": "enable_execute_command",
    "capacityProviderStrategy": "capacity_provider_strategy",
}


def _create_service(original: Callable[..., Any], handler: Any) -> Any:
    result = original(handler)
    backend = handler.ecs_backend
    service = backend._get_service(
        handler._get_param("cluster", "default"), handler._get_param("serviceName")
    )
    for param, attribute in _KEPT_SERVICE_PARAMS.items():
        value = handler._get_param(param)
        if value is not None:
            setattr(service, attribute, value)
    return result


def _update_service(original: Callable[..., Any], backend: Any, props: dict[str, Any]) -> Any:
    service = backend._get_service(props.get("cluster", "default"), props["service"])
    before_td = service.task_definition
    before = [dict(d) for d in service.deployments]  # moto edits deployments[0] in place
    counts = (service.running_count, service.pending_count)
    force = bool(props.get("force_new_deployment"))
    result = original(backend, props)
    service.running_count, service.pending_count = counts  # the runtime counts tasks
    service.deployments = before
    if service.task_definition and service.task_definition != before_td:
        # moto stores what was sent ("family" or "family:3"); ECS reports the ARN.
        service.task_definition = backend.describe_task_definition(service.task_definition).arn
    if (service.task_definition != before_td or force) and service.task_definition:
        _start_deployment(service, service.task_definition)
    elif service.deployments:
        service.deployments[0]["desiredCount"] = service.desired_count
    return result


def _start_deployment(service: Any, task_definition: str) -> dict[str, Any]:
    """A new PRIMARY deployment; the old PRIMARY becomes ACTIVE (it still has tasks)."""
    for old in service.deployments:
        if old["status"] == "PRIMARY":
            old["status"] = "ACTIVE"
            old["updatedAt"] = utcnow()
    template = service.deployments[0] if service.deployments else {}
    deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
    now = utcnow()
    deployment = {
        **{
            k: template[k]
            for k in ("launchType", "platformVersion", "platformFamily")
            if k in template
        },
        "networkConfiguration": template.get("networkConfiguration")
        or (service.network_configuration or None),
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
        "createdAt": now,
        "updatedAt": now,
    }
    service.deployments.insert(0, deployment)
    return deployment


def _run_task(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = original(backend, *args, **kwargs)
    for task in tasks:
        _freeze(task, "PROVISIONING")
    return tasks


def _freeze(task: Any, status: str) -> None:
    """Keep `status` until the runtime changes it: moto advances a task per describe."""
    task._transitions = []
    task.last_status = status
    task.created_at = getattr(task, "created_at", None) or utcnow()
    task.connectivity = "CONNECTED" if status == "RUNNING" else None


def _stop_task(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    cluster_str, task_str = args[0], args[1]
    tasks = backend.tasks.get(backend._get_cluster(cluster_str).name, {})
    task_id = task_str.split("/")[-1]
    before = {arn: t.last_status for arn, t in tasks.items() if arn.endswith(task_id)}
    task = original(backend, *args, **kwargs)
    if task.task_arn in _claimed and before.get(task.task_arn) != "STOPPED":
        task.last_status = before[task.task_arn]  # the runtime stops it, then says so
        task.stopping_at = utcnow()
    return task


def _list_tasks(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = original(backend, *args, **kwargs)
    # (cluster_str, container_instance, family, started_by, service_name, desiredStatus)
    service_name = kwargs.get("service_name", args[4] if len(args) > 4 else None)
    if service_name:
        group = SERVICE_GROUP_PREFIX + service_name.split("/")[-1]
        tasks = [t for t in tasks if t.group == group]
    return tasks


def _health_for(original: Callable[..., Any], group: Any, target: dict[str, Any], ec2: Any) -> Any:
    status = original(group, target, ec2)
    measured = _health.get(group.arn, {}).get(target["Id"])
    if measured is not None and target["Id"] in group.targets:
        status.status = measured.state
        status.reason = measured.reason
        status.description = measured.description
    return status


def _create_db(original: Callable[..., Any], backend: Any, kwargs: dict[str, Any]) -> Any:
    # The app reaches the local server at the endpoint the API gives, so the API must give
    # the server's real port: picked here, before moto stores the resource, so that
    # describe-db-* and Terraform's state agree with where the server listens (the config
    # sets no port, so the next plan stays empty).
    if _db_port is None:
        return original(backend, kwargs)
    if kwargs.get("port") is None:
        kwargs = {**kwargs, "port": _db_port(str(kwargs.get("engine", "")))}
    resource = original(backend, kwargs)
    # A new stand-alone instance is "creating" until the runtime's server answers, as on
    # RDS: Terraform's waiter (and anything after it) then waits for a real database.
    # (moto's clusters report "creating" once, on their first read, whatever we set.)
    if isinstance(resource, rds_models.DBInstance) and resource.db_cluster_identifier is None:
        resource.status = "creating"
    return resource


def _moving_db(status: str) -> Callable[..., Any]:
    """A stop or start that leaves the instance `status` ("stopping", "starting"), as RDS
    does, until the runtime's server follows (databases.py): a pause or resume that waits
    for "stopped" or "available" then waits for the real server."""

    def moved(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
        resource = original(backend, *args, **kwargs)
        if resource.db_cluster_identifier is None:
            resource.status = status
        return resource

    return moved


# --- ECS: reading ---------------------------------------------------------------------


def _ecs_backends() -> Iterator[tuple[str, str, Any]]:
    yield from list(ecs_backends.iter_backends())


def _ecs(account: str, region: str) -> Any:
    return ecs_backends[account][region]


def services() -> list[Service]:
    """Every ECS service in every account and region the emulator has seen."""
    found = []
    for account, region, backend in _ecs_backends():
        for service in list(backend.services.values()):
            found.append(_service_view(account, region, service))
    return found


def service(ref: ServiceRef) -> Service | None:
    moto_service = _moto_service(ref)
    return None if moto_service is None else _service_view(ref.account, ref.region, moto_service)


def _moto_service(ref: ServiceRef) -> Any:
    return _ecs(ref.account, ref.region).services.get(f"{ref.cluster}:{ref.name}")


def _service_view(account: str, region: str, s: Any) -> Service:
    config = getattr(s, "deployment_configuration", None) or {}
    breaker = config.get("deploymentCircuitBreaker") or {}
    network = (s.network_configuration or {}).get("awsvpcConfiguration") or {}
    return Service(
        ref=ServiceRef(account, region, s.cluster_name, s.name),
        arn=s.arn,
        status=s.status,
        desired_count=int(s.desired_count or 0),
        task_definition=s.task_definition,
        deployments=tuple(_deployment_view(d) for d in s.deployments),
        targets=tuple(
            ServiceTarget(
                lb["targetGroupArn"], lb.get("containerName", ""), int(lb["containerPort"])
            )
            for lb in s.load_balancers
            if lb.get("targetGroupArn")
        ),
        subnets=tuple(network.get("subnets") or ()),
        security_groups=tuple(network.get("securityGroups") or ()),
        # ECS's defaults for a rolling update when the service sets none.
        minimum_healthy_percent=int(config.get("minimumHealthyPercent", 100)),
        maximum_percent=int(config.get("maximumPercent", 200)),
        circuit_breaker=bool(breaker.get("enable", False)),
        rollback=bool(breaker.get("rollback", False)),
        grace_period_s=int(getattr(s, "health_check_grace_period_seconds", None) or 0),
    )


def _deployment_view(d: Mapping[str, Any]) -> Deployment:
    return Deployment(
        id=d["id"],
        status=d["status"],
        task_definition=d.get("taskDefinition") or "",
        desired_count=int(d.get("desiredCount") or 0),
        running_count=int(d.get("runningCount") or 0),
        pending_count=int(d.get("pendingCount") or 0),
        failed_tasks=int(d.get("failedTasks") or 0),
        rollout_state=d.get("rolloutState"),
        rollout_state_reason=d.get("rolloutStateReason"),
        created_at=d.get("createdAt") or utcnow(),
    )


def task_definition(account: str, region: str, arn: str) -> TaskDefinition:
    td = _ecs(account, region).describe_task_definition(arn)
    return TaskDefinition(
        arn=td.arn,
        family=td.family,
        revision=int(td.revision),
        cpu=_int(td.cpu),
        memory=_int(td.memory),
        containers=tuple(_container_definition(c) for c in td.container_definitions),
    )


def _container_definition(c: Mapping[str, Any]) -> ContainerDefinition:
    log = c.get("logConfiguration") or {}
    options = log.get("options") or {}
    ports = [p.get("containerPort") for p in c.get("portMappings") or [] if p.get("containerPort")]
    health = (c.get("healthCheck") or {}).get("command")
    return ContainerDefinition(
        name=c["name"],
        image=c.get("image", ""),
        essential=bool(c.get("essential", True)),
        command=_strings(c.get("command")),
        entrypoint=_strings(c.get("entryPoint")),
        environment={e["name"]: str(e.get("value", "")) for e in c.get("environment") or []},
        secrets={s["name"]: s["valueFrom"] for s in c.get("secrets") or []},
        port=int(ports[0]) if ports else None,
        cpu=_int(c.get("cpu")),
        memory=_int(c.get("memory")) or _int(c.get("memoryReservation")),
        log=LogSettings(
            options["awslogs-group"],
            options.get("awslogs-region"),
            options.get("awslogs-stream-prefix"),
        )
        if log.get("logDriver") == "awslogs" and options.get("awslogs-group")
        else None,
        health_command=_strings(health),
        health=_health_settings(c.get("healthCheck")) if health else None,
    )


def _health_settings(check: Mapping[str, Any]) -> HealthSettings:
    defaults = HealthSettings()
    return HealthSettings(
        interval_s=float(check.get("interval") or defaults.interval_s),
        timeout_s=float(check.get("timeout") or defaults.timeout_s),
        retries=int(check.get("retries") or defaults.retries),
        start_period_s=float(check.get("startPeriod") or defaults.start_period_s),
    )


def tasks(account: str | None = None, region: str | None = None) -> list[Task]:
    """Every task moto knows (optionally of one account and region)."""
    found = []
    for acct, reg, backend in _ecs_backends():
        if (account, region) not in ((None, None), (acct, reg)):
            continue
        for cluster, cluster_tasks in list(backend.tasks.items()):
            found.extend(_task_view(acct, reg, cluster, t) for t in list(cluster_tasks.values()))
    return found


def task(ref: TaskRef) -> Task | None:
    moto_task = _moto_task(ref)
    return (
        None if moto_task is None else _task_view(ref.account, ref.region, ref.cluster, moto_task)
    )


def pending_run_tasks() -> list[Task]:
    """run_task tasks nobody runs yet, in the order they were asked for."""
    return [
        t
        for t in tasks()
        if t.ref.arn not in _claimed
        and t.last_status == "PROVISIONING"
        and t.desired_status == "RUNNING"
    ]


def claim(ref: TaskRef) -> None:
    """Mark a task as run by the runtime (it then reports the task's states)."""
    with _lock:
        _claimed.add(ref.arn)


def _moto_task(ref: TaskRef) -> Any:
    return _ecs(ref.account, ref.region).tasks.get(ref.cluster, {}).get(ref.arn)


def _task_view(account: str, region: str, cluster: str, t: Any) -> Task:
    overrides = {
        o["name"]: ContainerOverride(
            command=_strings(o.get("command")),
            environment={e["name"]: str(e.get("value", "")) for e in o.get("environment") or []},
        )
        for o in (t.overrides or {}).get("containerOverrides") or []
        if o.get("name")
    }
    return Task(
        ref=TaskRef(account, region, cluster, t.task_arn),
        id=t.id,
        task_definition=t.task_definition_arn,
        group=t.group or "",
        started_by=t.started_by or "",
        last_status=t.last_status,
        desired_status=t.desired_status,
        stopped_reason=t.stopped_reason or None,
        ip=_task_ip(t),
        overrides=overrides,
    )


def _task_ip(t: Any) -> str | None:
    for attachment in t.attachments:
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return str(detail["value"])
    return None


# --- ECS: writing ---------------------------------------------------------------------


def start_service_task(ref: ServiceRef, deployment_id: str, task_definition_arn: str) -> Task:
    """Create a service task in moto (PROVISIONING), with an IP in the service's subnet."""
    with _lock:
        backend = _ecs(ref.account, ref.region)
        moto_service = _moto_service(ref)
        cluster = backend._get_cluster(ref.cluster)
        td = backend.describe_task_definition(task_definition_arn)
        network = moto_service.network_configuration or None
        moto_task = ecs_models.Task(
            cluster=cluster,
            task_definition=td,
            container_instance_arn=None,
            resource_requirements=None,
            backend=backend,
            group=SERVICE_GROUP_PREFIX + ref.name,
            launch_type=moto_service.launch_type or "FARGATE",
            started_by=deployment_id,
            tags=list(moto_service.tags) if moto_service.propagate_tags == "SERVICE" else [],
            networking_configuration=network,
            platform_version=moto_service.platform_version,
        )
        _place_in_subnet(ref.account, ref.region, moto_task)
        _freeze(moto_task, "PROVISIONING")
        backend.tasks.setdefault(cluster.name, {})[moto_task.task_arn] = moto_task
        _claimed.add(moto_task.task_arn)
        return _task_view(ref.account, ref.region, cluster.name, moto_task)


def _place_in_subnet(account: str, region: str, moto_task: Any) -> None:
    """moto gives a task's ENI a random 10.x address; AWS gives a free one of the subnet."""
    for attachment in moto_task.attachments:
        details = {d["name"]: d for d in attachment["details"]}
        eni = ec2_backends[account][region].enis.get(details["networkInterfaceId"]["value"])
        if eni is None:
            continue
        ip = _free_ip(account, region, eni.subnet)
        eni.private_ip_address = ip
        eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": ip}]
        details["privateIPv4Address"]["value"] = ip
        if getattr(eni, "private_dns_name", None):
            eni.private_dns_name = generate_dns_from_ip(ip)
            eni.private_ip_addresses[0]["PrivateDnsName"] = eni.private_dns_name
            details["privateDnsName"]["value"] = eni.private_dns_name


def _free_ip(account: str, region: str, subnet: Any) -> str:
    used = {
        e.private_ip_address
        for e in list(ec2_backends[account][region].enis.values())
        if e.subnet is not None and e.subnet.id == subnet.id
    }
    hosts = ipaddress.ip_network(subnet.cidr_block, strict=False).hosts()
    for index, host in enumerate(hosts):
        # AWS reserves the first four addresses of a subnet (and the last).
        if index >= 3 and str(host) not in used:
            return str(host)
    raise RuntimeError(f"subnet {subnet.id} has no free address")


def set_task_state(
    ref: TaskRef,
    last_status: str,
    *,
    desired_status: str | None = None,
    stopped_reason: str | None = None,
    stop_code: str | None = None,
    containers: Sequence[ContainerReport] = (),
    health_status: str | None = None,
) -> None:
    """Report a task's lifecycle as ECS would, with the timestamps of each step."""
    with _lock:
        t = _moto_task(ref)
        if t is None:
            return
        now = utcnow()
        t.last_status = last_status
        if desired_status:
            t.desired_status = desired_status
        if stopped_reason and not t.stopped_reason:
            t.stopped_reason = stopped_reason
        if stop_code:
            t.stop_code = stop_code
        if health_status:
            t.health_status = health_status
        _stamp(t, last_status, now)
        if containers:
            _report_containers(t, containers)


def _stamp(t: Any, status: str, now: datetime) -> None:
    steps = {
        "PENDING": ("pull_started_at",),
        "RUNNING": ("pull_stopped_at", "started_at"),
        "DEACTIVATING": ("stopping_at",),
        "STOPPING": ("stopping_at",),
        "STOPPED": ("stopping_at", "execution_stopped_at", "stopped_at"),
    }
    for attribute in steps.get(status, ()):
        if getattr(t, attribute, None) is None:
            setattr(t, attribute, now)
    t.connectivity = "CONNECTED" if status == "RUNNING" else getattr(t, "connectivity", None)
    if status == "RUNNING":
        t.connectivity_at = getattr(t, "connectivity_at", None) or now


def _report_containers(t: Any, reports: Sequence[ContainerReport]) -> None:
    """moto makes one container per task (the first definition); ECS lists all of them."""
    by_name = {c.name: c for c in t.containers}
    template = t.containers[0]
    for report in reports:
        container = by_name.get(report.name)
        if container is None:
            container = ecs_models.Container.__new__(ecs_models.Container)
            container.__dict__.update(template.__dict__)
            container.name = report.name
            container.container_arn = f"{t.task_arn}/{uuid.uuid4()}"
            t.containers.append(container)
            by_name[report.name] = container
        container.task_arn = t.task_arn
        container.last_status = report.last_status
        container.exitCode = report.exit_code
        container.exit_code = report.exit_code
        container.reason = report.reason
        container.runtime_id = report.runtime_id
        container.health_status = report.health_status  # moto says HEALTHY for all


def add_service_event(ref: ServiceRef, message: str) -> None:
    """An event in describe-services, newest first as ECS lists them (at most 100)."""
    with _lock:
        s = _moto_service(ref)
        if s is None:
            return
        s.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message})
        del s.events[100:]


def set_deployment_state(
    ref: ServiceRef,
    deployment_id: str,
    *,
    rollout_state: str | None = None,
    reason: str | None = None,
    status: str | None = None,
    failed_tasks: int | None = None,
) -> None:
    with _lock:
        d = _moto_deployment(ref, deployment_id)
        if d is None:
            return
        for key, value in (
            ("rolloutState", rollout_state),
            ("rolloutStateReason", reason),
            ("status", status),
            ("failedTasks", failed_tasks),
        ):
            if value is not None:
                d[key] = value
        d["updatedAt"] = utcnow()


def set_counts(ref: ServiceRef, per_deployment: Mapping[str, tuple[int, int]]) -> None:
    """Running and pending counts: {deployment id: (running, pending)}; the service's are
    the sums, as ECS reports them."""
    with _lock:
        s = _moto_service(ref)
        if s is None:
            return
        for d in s.deployments:
            running, pending = per_deployment.get(d["id"], (0, 0))
            if (d.get("runningCount"), d.get("pendingCount")) != (running, pending):
                d["runningCount"], d["pendingCount"] = running, pending
                d["updatedAt"] = utcnow()
            if d["status"] == "PRIMARY":
                d["desiredCount"] = s.desired_count
        s.running_count = sum(r for r, _ in per_deployment.values())
        s.pending_count = sum(p for _, p in per_deployment.values())


def start_rollback(ref: ServiceRef, task_definition_arn: str) -> str:
    """A new PRIMARY deployment of `task_definition_arn` (the circuit breaker's rollback)."""
    with _lock:
        s = _moto_service(ref)
        s.task_definition = task_definition_arn
        return str(_start_deployment(s, task_definition_arn)["id"])


def remove_deployment(ref: ServiceRef, deployment_id: str) -> None:
    """Drop a finished non-primary deployment, as ECS does once its tasks are gone."""
    with _lock:
        s = _moto_service(ref)
        if s is not None:
            s.deployments = [d for d in s.deployments if d["id"] != deployment_id]


def _moto_deployment(ref: ServiceRef, deployment_id: str) -> dict[str, Any] | None:
    s = _moto_service(ref)
    if s is None:
        return None
    return next((d for d in s.deployments if d["id"] == deployment_id), None)


# --- ELBv2 ---------------------------------------------------------------------------


def _elbv2_for(arn: str) -> Any:
    _, _, _, region, account, _ = arn.split(":", 5)
    return elbv2_backends[account][region]


def target_group(arn: str) -> TargetGroup | None:
    tg = _elbv2_for(arn).target_groups.get(arn)
    if tg is None:
        return None
    matcher = (tg.matcher or {}).get("HttpCode", "200") if hasattr(tg, "matcher") else "200"
    return TargetGroup(
        arn=tg.arn,
        name=tg.name,
        port=_int(tg.port),
        health_path=tg.health_check_path or "/",
        interval_s=float(tg.health_check_interval_seconds),
        timeout_s=float(tg.health_check_timeout_seconds),
        healthy_threshold=int(tg.healthy_threshold_count),
        unhealthy_threshold=int(tg.unhealthy_threshold_count),
        matcher=str(matcher),
        deregistration_delay_s=float(
            tg.attributes.get("deregistration_delay.timeout_seconds", 300)
        ),
        targets=tuple(tg.targets),
    )


def load_balancers() -> list[LoadBalancer]:
    """Every load balancer, with the target group each listener forwards to."""
    found = []
    for account, region, backend in list(elbv2_backends.iter_backends()):
        for lb in list(backend.load_balancers.values()):
            listeners = []
            for listener in list(lb.listeners.values()):
                for tg_arn in _forwarded(listener.default_actions):
                    listeners.append((int(listener.port), tg_arn))
            found.append(LoadBalancer(account, region, lb.name, lb.dns_name, tuple(listeners)))
    return found


def _forwarded(actions: Sequence[Any]) -> Iterator[str]:
    for action in actions:
        if action.type != "forward":
            continue
        if action.data.get("TargetGroupArn"):
            yield action.data["TargetGroupArn"]
        for tg in (action.data.get("ForwardConfig") or {}).get("TargetGroups", []):
            yield tg["TargetGroupArn"]


def register_target(tg_arn: str, target_id: str, port: int) -> None:
    """Register an IP target; it reports `initial` until health checks say otherwise."""
    with _lock:
        _elbv2_for(tg_arn).register_targets(tg_arn, [{"Id": target_id, "Port": port}])
        _health.setdefault(tg_arn, {})[target_id] = TargetHealth(
            "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
        )


def set_target_health(
    tg_arn: str,
    target_id: str,
    state: str,
    reason: str | None = None,
    description: str | None = None,
) -> None:
    with _lock:
        _health.setdefault(tg_arn, {})[target_id] = TargetHealth(state, reason, description)


def deregister_target(tg_arn: str, target_id: str) -> None:
    """Remove a drained target: moto then reports it `unused` if asked by id."""
    with _lock:
        backend = _elbv2_for(tg_arn)
        tg = backend.target_groups.get(tg_arn)
        if tg is not None and target_id in tg.targets:
            tg.deregister([{"Id": target_id}])
        _health.get(tg_arn, {}).pop(target_id, None)


# --- CloudWatch Logs -----------------------------------------------------------------


def put_log_events(
    account: str, region: str, group: str, stream: str, events: Sequence[tuple[float, str]]
) -> bool:
    """Append (epoch seconds, message) events to `stream` of `group`, creating the stream
    as the awslogs driver does. False when the group does not exist (ECS then fails to
    start the task; the runtime keeps the lines out of the emulator)."""
    if not events:
        return True
    with _lock:
        backend = logs_backends[account][region]
        if group not in backend.groups:
            return False
        backend.ensure_log_stream(group, stream)
        batch = [{"timestamp": int(ts * 1000), "message": message} for ts, message in events]
        backend.put_log_events(group, stream, sorted(batch, key=lambda e: e["timestamp"]))
        return True


# --- RDS ------------------------------------------------------------------------------


def db_instances() -> list[Database]:
    """Stand-alone DB instances (cluster members are served by their cluster)."""
    found = []
    for account, region, backend in list(rds_backends.iter_backends()):
        for db in list(backend.databases.values()):
            if db.db_cluster_identifier is None:
                found.append(_instance_view(account, region, db))
    return found


def set_db_instance_status(
    account: str, region: str, identifier: str, status: str, only_from: str | None = None
) -> None:
    """Set the instance's status; with `only_from`, only if it still has that one (a stop
    or start requested meanwhile must not be overwritten)."""
    with _lock:
        db = rds_backends[account][region].databases.get(identifier)
        if db is not None and only_from in (None, db.status):
            db.status = status


def db_clusters() -> list[Database]:
    found = []
    for account, region, backend in list(rds_backends.iter_backends()):
        for cluster in list(backend.clusters.values()):
            found.append(_cluster_view(account, region, cluster))
    return found


def _instance_view(account: str, region: str, db: Any) -> Database:
    return Database(
        kind="instance",
        account=account,
        region=region,
        identifier=db.db_instance_identifier,
        engine=db.engine,
        status=db.status,
        database=db.db_name,
        username=db.master_username,
        port=int(db.port),
        address=db.address,
        password=_rds_password(db),
    )


def _cluster_view(account: str, region: str, cluster: Any) -> Database:
    return Database(
        kind="cluster",
        account=account,
        region=region,
        identifier=cluster.db_cluster_identifier,
        engine=cluster.engine,
        status=cluster.status,
        database=cluster.database_name,
        username=cluster.master_username,
        port=int(cluster.port),
        address=cluster.endpoint,
        password=_rds_password(cluster),
        aliases=(cluster.reader_endpoint, *(m.address for m in cluster._members)),
    )


def _rds_password(resource: Any) -> str | None:
    """The password RDS would have: the one given at creation (or by modify), or the
    RDS-managed secret's when the resource manages its master password."""
    if getattr(resource, "manage_master_user_password", False):
        secret = resource.master_user_secret.secret
        value = secret.versions[secret.default_version_id].get("secret_string") or "{}"
        return json.loads(value).get("password")
    return resource.__dict__.get("_master_user_password")


# --- ECR -----------------------------------------------------------------------------

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def local_image(image: str) -> str | None:
    """What the engine runs for a task definition's `image`: for an image of the emulated
    ECR, the local image its manifest names (its config digest, see sandbox/images.py), or
    None if ECR has no such image; any other reference as it is."""
    found = _ECR_IMAGE.match(image)
    if found is None:
        return image
    backend = ecr_backends[found["account"]][found["region"]]
    repository = backend.repositories.get(found["repository"])
    if repository is None:
        return None
    digest, tag = found["digest"], found["tag"] or ("latest" if not found["digest"] else None)
    for candidate in list(repository.images):
        if digest and candidate.get_image_digest() != digest:
            continue
        if tag and tag not in (candidate.image_tags or [candidate.image_tag]):
            continue
        return images.config_digest(candidate.image_manifest)
    return None


# --- Secrets Manager and SSM --------------------------------------------------------


def secret_value(account: str, region: str, value_from: str) -> str:
    """The value ECS injects for a container's `secrets` entry.

    `value_from` is a Secrets Manager ARN, optionally with `:json-key:version-stage:
    version-id` (the key selects one field of a JSON secret), or an SSM parameter ARN or name.
    Raises LookupError with ECS's wording when it cannot be resolved.
    """
    parts = value_from.split(":")
    if len(parts) >= 7 and parts[2] == "secretsmanager":
        return _secretsmanager_value(parts)
    if len(parts) >= 6 and parts[2] == "ssm":
        account, region = parts[4] or account, parts[3] or region
        value_from = parts[5].removeprefix("parameter")
    parameter = ssm_backends[account][region].get_parameter(value_from)
    if parameter is None:
        raise LookupError(f"ResourceNotFoundException: parameter {value_from} not found")
    if parameter.parameter_type == "SecureString":  # ECS injects the decrypted value
        return str(parameter.decrypt(parameter.value))
    return str(parameter.value)


def _secretsmanager_value(parts: list[str]) -> str:
    region, account = parts[3], parts[4]
    arn = ":".join(parts[:7])
    json_key, stage, version = [*parts[7:10], "", "", ""][:3]
    backend = secretsmanager_backends[account][region]
    try:
        response = backend.get_secret_value(
            arn, version or None, stage or ("AWSCURRENT" if not version else None)
        )
    except Exception as exc:  # moto raises its own error classes
        raise LookupError(f"ResourceNotFoundException: secret {arn}: {exc}") from None
    value = str(response.get("SecretString", ""))
    if not json_key:
        return value
    try:
        field_value = json.loads(value)[json_key]
    except (ValueError, KeyError, TypeError):
        raise LookupError(f"the secret {arn} has no JSON key {json_key}") from None
    return field_value if isinstance(field_value, str) else json.dumps(field_value)


# --- helpers -------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _strings(value: Any) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if value else None
