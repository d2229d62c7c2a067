"""ECS task definitions and tasks: what the runtime reads to run a task, the service tasks
it starts (with an address in the service's subnet), and the lifecycle it reports."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ec2.utils import generate_dns_from_ip
from moto.ecs import models as ecs_models

from hakobu.sandbox.runtime.bridge.ecs_services import moto_service_of
from hakobu.sandbox.runtime.bridge.shared import (
    all_ecs_backends,
    as_int,
    as_strings,
    claimed,
    ecs_backend,
    lock,
)
from hakobu.sandbox.runtime.model import (
    SERVICE_GROUP_PREFIX,
    ContainerDefinition,
    ContainerOverride,
    ContainerReport,
    HealthSettings,
    LogSettings,
    ServiceRef,
    Task,
    TaskDefinition,
    TaskRef,
)


def freeze(task: Any, status: str) -> None:
    """Keep `status` until the runtime changes it: moto advances a task per describe."""
    task._transitions = []
    task.last_status = status
    task.created_at = getattr(task, "created_at", None) or utcnow()
    task.connectivity = "CONNECTED" if status == "RUNNING" else None


def task_definition(account: str, region: str, arn: str) -> TaskDefinition:
    td = ecs_backend(account, region).describe_task_definition(arn)
    return TaskDefinition(
        arn=td.arn,
        family=td.family,
        revision=int(td.revision),
        cpu=as_int(td.cpu),
        memory=as_int(td.memory),
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
        command=as_strings(c.get("command")),
        entrypoint=as_strings(c.get("entryPoint")),
        environment={e["name"]: str(e.get("value", "")) for e in c.get("environment") or []},
        secrets={s["name"]: s["valueFrom"] for s in c.get("secrets") or []},
        port=int(ports[0]) if ports else None,
        cpu=as_int(c.get("cpu")),
        memory=as_int(c.get("memory")) or as_int(c.get("memoryReservation")),
        log=LogSettings(
            options["awslogs-group"],
            options.get("awslogs-region"),
            options.get("awslogs-stream-prefix"),
        )
        if log.get("logDriver") == "awslogs" and options.get("awslogs-group")
        else None,
        health_command=as_strings(health),
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
    for acct, reg, backend in all_ecs_backends():
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
        if t.ref.arn not in claimed
        and t.last_status == "PROVISIONING"
        and t.desired_status == "RUNNING"
    ]


def claim(ref: TaskRef) -> None:
    """Mark a task as run by the runtime (it then reports the task's states)."""
    with lock:
        claimed.add(ref.arn)


def _moto_task(ref: TaskRef) -> Any:
    return ecs_backend(ref.account, ref.region).tasks.get(ref.cluster, {}).get(ref.arn)


def _task_view(account: str, region: str, cluster: str, t: Any) -> Task:
    overrides = {
        o["name"]: ContainerOverride(
            command=as_strings(o.get("command")),
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


def start_service_task(ref: ServiceRef, deployment_id: str, task_definition_arn: str) -> Task:
    """Create a service task in moto (PROVISIONING), with an IP in the service's subnet."""
    with lock:
        backend = ecs_backend(ref.account, ref.region)
        moto_service = moto_service_of(ref)
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
        freeze(moto_task, "PROVISIONING")
        backend.tasks.setdefault(cluster.name, {})[moto_task.task_arn] = moto_task
        claimed.add(moto_task.task_arn)
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
    with lock:
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
