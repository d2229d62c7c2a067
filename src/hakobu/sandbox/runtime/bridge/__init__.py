"""The one package that reads and writes moto's in-memory state (docs/design.md, "The sandbox
runtime and its images").

The runtime lives in the emulator's process, beside moto's server threads. What it learns
(services, task definitions, run_task requests, target groups, databases, secrets) and what
it reports (task states, deployments, counts, events, target health, log events) passes
through the small functions here, so a moto upgrade breaks this package and its tests only;
pyproject bounds moto to the versions those tests pass on.

Values handed out are frozen copies: callers never hold a moto object. Writes name their
object by account, region, cluster and ARN.

moto is not ECS: `install()` (api_fixes.py) wraps a few of its handlers once, so the public
API answers as AWS does while the runtime runs (each wrapper says what it fixes):

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

One module a concern: `api_fixes` (those wrappers), `ecs_services` (services and their
deployments), `ecs_tasks` (task definitions and tasks), `load_balancing` (ELBv2 target
groups, targets and their health), `rds` (DB instances and clusters), `container_io` (ECR
images, injected secrets, log lines) and `shared` (the lock, what the runtime measured).
Callers use the names this package exports (`bridge.service(...)`), not the modules.
"""

from hakobu.sandbox.runtime.bridge.api_fixes import install, uninstall
from hakobu.sandbox.runtime.bridge.container_io import local_image, put_log_events, secret_value
from hakobu.sandbox.runtime.bridge.ecs_services import (
    add_service_event,
    remove_deployment,
    service,
    services,
    set_counts,
    set_deployment_state,
    start_rollback,
)
from hakobu.sandbox.runtime.bridge.ecs_tasks import (
    claim,
    pending_run_tasks,
    set_task_state,
    start_service_task,
    task,
    task_definition,
    tasks,
)
from hakobu.sandbox.runtime.bridge.load_balancing import (
    deregister_target,
    load_balancers,
    register_target,
    set_target_health,
    target_group,
)
from hakobu.sandbox.runtime.bridge.rds import db_clusters, db_instances, set_db_instance_status
from hakobu.sandbox.runtime.bridge.shared import ACCOUNT, LIVE_STATUSES
from hakobu.sandbox.runtime.model import (
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

__all__ = [
    "ACCOUNT",
    "LIVE_STATUSES",
    "ContainerDefinition",
    "ContainerOverride",
    "ContainerReport",
    "Database",
    "Deployment",
    "HealthSettings",
    "LoadBalancer",
    "LogSettings",
    "Service",
    "ServiceRef",
    "ServiceTarget",
    "TargetGroup",
    "TargetHealth",
    "Task",
    "TaskDefinition",
    "TaskRef",
    "add_service_event",
    "claim",
    "db_clusters",
    "db_instances",
    "deregister_target",
    "install",
    "load_balancers",
    "local_image",
    "pending_run_tasks",
    "put_log_events",
    "register_target",
    "remove_deployment",
    "secret_value",
    "service",
    "services",
    "set_counts",
    "set_db_instance_status",
    "set_deployment_state",
    "set_target_health",
    "set_task_state",
    "start_rollback",
    "start_service_task",
    "target_group",
    "task",
    "task_definition",
    "tasks",
    "uninstall",
]
