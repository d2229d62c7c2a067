"""ECS services and their deployments: the views the runtime reads, and the counts, states
and events it reports back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random

from hakobu.sandbox.runtime.bridge.shared import all_ecs_backends, ecs_backend, lock
from hakobu.sandbox.runtime.model import Deployment, Service, ServiceRef, ServiceTarget


def services() -> list[Service]:
    """Every ECS service in every account and region the emulator has seen."""
    found = []
    for account, region, backend in all_ecs_backends():
        for service in list(backend.services.values()):
            found.append(_service_view(account, region, service))
    return found


def service(ref: ServiceRef) -> Service | None:
    moto_service = moto_service_of(ref)
    return None if moto_service is None else _service_view(ref.account, ref.region, moto_service)


def moto_service_of(ref: ServiceRef) -> Any:
    return ecs_backend(ref.account, ref.region).services.get(f"{ref.cluster}:{ref.name}")


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


def start_deployment(service: Any, task_definition: str) -> dict[str, Any]:
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


def add_service_event(ref: ServiceRef, message: str) -> None:
    """An event in describe-services, newest first as ECS lists them (at most 100)."""
    with lock:
        s = moto_service_of(ref)
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
    with lock:
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
    with lock:
        s = moto_service_of(ref)
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
    with lock:
        s = moto_service_of(ref)
        s.task_definition = task_definition_arn
        return str(start_deployment(s, task_definition_arn)["id"])


def remove_deployment(ref: ServiceRef, deployment_id: str) -> None:
    """Drop a finished non-primary deployment, as ECS does once its tasks are gone."""
    with lock:
        s = moto_service_of(ref)
        if s is not None:
            s.deployments = [d for d in s.deployments if d["id"] != deployment_id]


def _moto_deployment(ref: ServiceRef, deployment_id: str) -> dict[str, Any] | None:
    s = moto_service_of(ref)
    if s is None:
        return None
    return next((d for d in s.deployments if d["id"] == deployment_id), None)
