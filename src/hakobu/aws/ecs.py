"""ECS operations of a deploy: requests built as data, and the small executors that send them.

`revision_request` and `release_task_request` are pure functions (tested as exact values);
the other functions make one or a few boto3 calls each and turn AWS's answers into
`HakobuError`s that say what to do next. ClientErrors hakobu does not anticipate propagate
(the CLI renders them with `errors.aws_error`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from hakobu.core.errors import HakobuError

T = TypeVar("T")

# Fields `describe_task_definition` returns that `register_task_definition` does not accept.
READ_ONLY_FIELDS = frozenset(
    {
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
    }
)
# Error codes AWS services use to say "slow down"; a poll that gets one waits and retries.
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
FIX_UP = "run hakobu up"


# --- pure requests ----------------------------------------------------------------------


def revision_request(
    task_definition: dict[str, Any], container: str, image: str, tags: dict[str, str]
) -> dict[str, Any]:
    """`register_task_definition` kwargs: the current revision with `container`'s image replaced.

    Everything else (family, cpu, memory, roles, network mode, platform, volumes, secrets,
    log configuration, ...) is kept as is; the read-only fields of a described revision are
    dropped. Raises `HakobuError` if the revision has no container named `container`.
    """
    request = {
        key: copy.deepcopy(value)
        for key, value in task_definition.items()
        if key not in READ_ONLY_FIELDS
    }
    definitions = request.get("containerDefinitions", [])
    matching = [d for d in definitions if d.get("name") == container]
    if not matching:
        present = ", ".join(d.get("name", "?") for d in definitions) or "none"
        raise HakobuError(
            f"task definition {task_definition.get('family', '?')} has no container named "
            f"{container!r} (it has: {present})",
            "the container is named after the app; check `app` in hakobu.toml, or run "
            "hakobu up to restore the task definition hakobu created",
        )
    for definition in matching:
        definition["image"] = image
    if tags:
        request["tags"] = [{"key": key, "value": value} for key, value in tags.items()]
    else:
        request.pop("tags", None)
    return request


def release_task_request(
    cluster: str,
    task_definition_arn: str,
    container: str,
    command: list[str],
    network: dict[str, Any],
    started_by: str,
) -> dict[str, Any]:
    """`run_task` kwargs for a one-off task (a release command such as migrations).

    It runs in the service's own private subnets and security groups (`network` is the
    service's `awsvpcConfiguration`), without a public IP, with `command` replacing the
    container's command.
    """
    return {
        "cluster": cluster,
        "taskDefinition": task_definition_arn,
        "launchType": "FARGATE",
        "count": 1,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(network.get("subnets", [])),
                "securityGroups": list(network.get("securityGroups", [])),
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {"containerOverrides": [{"name": container, "command": list(command)}]},
        "startedBy": started_by,
        "enableExecuteCommand": False,
    }


# --- executors --------------------------------------------------------------------------


def service_description(ecs: Any, cluster: str, service: str) -> dict[str, Any]:
    """The service as `describe_services` returns it; `HakobuError` if it does not exist."""
    try:
        response = ecs.describe_services(cluster=cluster, services=[service])
    except ClientError as exc:
        if _code(exc) == "ClusterNotFoundException":
            raise HakobuError(f"the ECS cluster {cluster} does not exist", FIX_UP) from exc
        raise
    for description in response.get("services", []):
        if description.get("serviceName") == service or description.get("serviceArn", "").endswith(
            f"/{service}"
        ):
            if description.get("status") == "INACTIVE":
                raise HakobuError(
                    f"the ECS service {service} in cluster {cluster} was deleted (INACTIVE)",
                    FIX_UP,
                )
            return description
    reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", [])) or "MISSING"
    raise HakobuError(
        f"the ECS service {service} was not found in cluster {cluster} ({reasons})", FIX_UP
    )


def register_revision(ecs: Any, request: dict[str, Any]) -> str:
    """Register a task-definition revision; its ARN."""
    return ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]


def run_task(ecs: Any, request: dict[str, Any]) -> str:
    """Start a one-off task; its ARN. `HakobuError` listing AWS's failures if none started."""
    response = ecs.run_task(**request)
    failures = response.get("failures", [])
    tasks = response.get("tasks", [])
    if failures or not tasks:
        listed = "; ".join(
            " ".join(
                part
                for part in (f.get("arn", ""), f.get("reason", "?"), f.get("detail", ""))
                if part
            )
            for f in failures
        )
        raise HakobuError(
            f"ECS could not start the task of {request.get('taskDefinition')}: "
            f"{listed or 'no task was started'}",
            "check the cluster's capacity and the subnets' free IP addresses; "
            "`aws ecs describe-clusters` shows the cluster",
        )
    return tasks[0]["taskArn"]


def update_service(ecs: Any, cluster: str, service: str, task_definition_arn: str) -> str:
    """Point the service at a revision; the id of the new PRIMARY deployment."""
    response = ecs.update_service(
        cluster=cluster, service=service, taskDefinition=task_definition_arn
    )
    deployments = response["service"].get("deployments", [])
    primary = [d for d in deployments if d.get("status") == "PRIMARY"]
    if not primary:
        raise HakobuError(
            f"ECS accepted the update of {service} but reports no PRIMARY deployment",
            f"check `aws ecs describe-services --cluster {cluster} --services {service}`",
        )
    return primary[0]["id"]


@dataclass
class TaskOutcome:
    task_arn: str
    last_status: str
    exit_code: int | None
    stopped_reason: str | None
    stop_code: str | None
    container_reason: str | None

    @property
    def succeeded(self) -> bool:
        return self.last_status == "STOPPED" and self.exit_code == 0


def wait_for_task(
    ecs: Any,
    cluster: str,
    task_arn: str,
    on_status: Callable[[str], None] | None = None,
    poll_seconds: float = 3,
    timeout: float = 1800,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TaskOutcome:
    """Poll the task until it is STOPPED; its exit code and why it stopped.

    `on_status` gets each new `lastStatus` (PROVISIONING, PENDING, RUNNING, ...). Throttling
    is retried. `HakobuError` if the task is unknown or still running after `timeout` s.
    """
    deadline = clock() + timeout
    seen: str | None = None
    while True:
        try:
            task = call_patiently(
                lambda: _describe_task(ecs, cluster, task_arn),
                sleep=sleep,
                clock=clock,
                deadline=deadline,
            )
        except ClientError as exc:
            if not is_throttling(exc):
                raise
            task = None  # throttled up to the deadline: reported as a timeout below
        if task is not None:
            status = task.get("lastStatus", "UNKNOWN")
            if status != seen:
                seen = status
                if on_status is not None:
                    on_status(status)
            if status == "STOPPED":
                return task_outcome(task)
        remaining = deadline - clock()
        if remaining <= 0:
            raise HakobuError(
                f"the task {task_arn} did not stop within {timeout:.0f} s "
                f"(last status {seen or 'unknown'})",
                f"look at its logs, or stop it with `aws ecs stop-task --cluster {cluster} "
                f"--task {task_arn}`",
            )
        sleep(min(poll_seconds, remaining))


def task_outcome(task: dict[str, Any]) -> TaskOutcome:
    """A described task reduced to how it ended (the container that decided it)."""
    containers = task.get("containers", [])
    chosen = next((c for c in containers if c.get("exitCode") not in (None, 0)), None)
    chosen = chosen or next((c for c in containers if c.get("exitCode") is not None), None)
    chosen = chosen or next((c for c in containers if c.get("reason")), None)
    return TaskOutcome(
        task_arn=task["taskArn"],
        last_status=task.get("lastStatus", "UNKNOWN"),
        exit_code=chosen.get("exitCode") if chosen else None,
        stopped_reason=task.get("stoppedReason") or None,
        stop_code=task.get("stopCode") or None,
        container_reason=(chosen.get("reason") or None) if chosen else None,
    )


def _describe_task(ecs: Any, cluster: str, task_arn: str) -> dict[str, Any]:
    response = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
    for task in response.get("tasks", []):
        if task_id(task.get("taskArn", "")) == task_id(task_arn):
            return task
    reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", [])) or "MISSING"
    raise HakobuError(
        f"ECS does not know the task {task_arn} in cluster {cluster} ({reasons})",
        "stopped tasks are kept for about an hour; run the command again",
    )


def task_id(task_arn: str) -> str:
    """The task's id: the last part of its ARN, in the short and the long ARN formats."""
    return task_arn.rsplit("/", 1)[-1]


# --- throttling -------------------------------------------------------------------------


def is_throttling(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and _code(exc) in THROTTLING_CODES


def call_patiently(
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float,
    delay: float = 1.0,
    max_delay: float = 30.0,
) -> T:
    """`call()`, retried with exponential backoff while AWS throttles it.

    Gives up (re-raising the throttling error) only when the next wait would pass
    `deadline`; every other error propagates at once.
    """
    while True:
        try:
            return call()
        except ClientError as exc:
            if not is_throttling(exc) or clock() + delay > deadline:
                raise
            sleep(delay)
            delay = min(delay * 2, max_delay)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
