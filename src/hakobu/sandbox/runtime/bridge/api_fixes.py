"""The fixes `install()` wraps around moto's handlers so its API answers as AWS does while
the runtime runs (the package docstring lists them; each wrapper says what it fixes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.utils import utcnow
from moto.ecs import models as ecs_models
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2 import models as elbv2_models
from moto.rds import models as rds_models

from hakobu.sandbox.moto_gaps import keeping_service_params
from hakobu.sandbox.patching import Patches
from hakobu.sandbox.runtime.bridge.ecs_services import start_deployment
from hakobu.sandbox.runtime.bridge.ecs_tasks import freeze
from hakobu.sandbox.runtime.bridge.shared import claimed, lock, measured_health
from hakobu.sandbox.runtime.model import SERVICE_GROUP_PREFIX

_patches = Patches()
# Port for a new DB instance or cluster without one: engine -> port (set by install()).
_db_port: Callable[[str], int] | None = None


def install(db_port: Callable[[str], int] | None = None) -> None:
    """Wrap moto's handlers (see the package docstring); idempotent.

    `db_port(engine)` gives the port of the local server for a DB created without one.
    """
    global _db_port
    with lock:
        _db_port = db_port
        if _patches:
            return
        create_service = keeping_service_params(_KEPT_SERVICE_PARAMS)
        _patches.wrap(EC2ContainerServiceResponse, "create_service", create_service)
        backend = ecs_models.EC2ContainerServiceBackend
        _patches.wrap(backend, "update_service", _update_service)
        _patches.wrap(backend, "run_task", _run_task)
        _patches.wrap(backend, "stop_task", _stop_task)
        _patches.wrap(backend, "list_tasks", _list_tasks)
        _patches.wrap(elbv2_models.FakeTargetGroup, "health_for", _health_for)
        _patches.wrap(rds_models.RDSBackend, "create_db_instance", _create_db)
        _patches.wrap(rds_models.RDSBackend, "create_db_cluster", _create_db)
        _patches.wrap(rds_models.RDSBackend, "stop_db_instance", _moving_db("stopping"))
        _patches.wrap(rds_models.RDSBackend, "start_db_instance", _moving_db("starting"))


def uninstall() -> None:
    """Undo `install()` and forget what the runtime recorded (tests, runtime stop)."""
    global _db_port
    with lock:
        _patches.undo()
        measured_health.clear()
        claimed.clear()
        _db_port = None


_KEPT_SERVICE_PARAMS = {
    "deploymentConfiguration": "deployment_configuration",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableExecuteCommand": "enable_execute_command",
    "capacityProviderStrategy": "capacity_provider_strategy",
}


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
        start_deployment(service, service.task_definition)
    elif service.deployments:
        service.deployments[0]["desiredCount"] = service.desired_count
    return result


def _run_task(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = original(backend, *args, **kwargs)
    for task in tasks:
        freeze(task, "PROVISIONING")
    return tasks


def _stop_task(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    cluster_str, task_str = args[0], args[1]
    tasks = backend.tasks.get(backend._get_cluster(cluster_str).name, {})
    task_id = task_str.split("/")[-1]
    before = {arn: t.last_status for arn, t in tasks.items() if arn.endswith(task_id)}
    task = original(backend, *args, **kwargs)
    if task.task_arn in claimed and before.get(task.task_arn) != "STOPPED":
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
    measured = measured_health.get(group.arn, {}).get(target["Id"])
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
