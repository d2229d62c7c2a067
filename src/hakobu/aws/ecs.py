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
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.arn import last_part
from hakobu.aws.errors import error_code, is_throttling
from hakobu.aws.polling import Waiter, call_patiently, poll_until
from hakobu.core.errors import HakobuError

# How a look-up that may wait out throttling is called: `call_patiently` with its deadline
# bound, or directly.
Caller = Callable[[Callable[[], Any]], Any]

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
FIX_UP = "run hakobu up"
# ECS keeps a stopped task for about an hour; list_tasks returns at most 100 at once (and
# describe_tasks takes at most 100).
TASKS_LISTED = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
        if error_code(exc) == "ClusterNotFoundException":
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


def deregister_revision(ecs: Any, arn: str) -> None:
    """Mark a revision INACTIVE: it can no longer start tasks, nor be listed as ACTIVE."""
    ecs.deregister_task_definition(taskDefinition=arn)


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
    waiter = Waiter(timeout, poll_seconds, sleep=sleep, clock=clock)
    seen: list[str] = []

    def stopped() -> TaskOutcome | None:
        try:
            task = call_patiently(
                lambda: _describe_task(ecs, cluster, task_arn),
                sleep=sleep,
                clock=clock,
                deadline=waiter.deadline,
            )
        except ClientError as exc:
            if not is_throttling(exc):
                raise
            return None  # throttled up to the deadline: reported as a timeout below
        status = task.get("lastStatus", "UNKNOWN")
        if status not in seen[-1:]:
            seen.append(status)
            if on_status is not None:
                on_status(status)
        return task_outcome(task) if status == "STOPPED" else None

    outcome = poll_until(stopped, waiter)
    if outcome is None:
        raise HakobuError(
            f"the task {task_arn} did not stop within {timeout:.0f} s "
            f"(last status {seen[-1] if seen else 'unknown'})",
            f"look at its logs, or stop it with `aws ecs stop-task --cluster {cluster} "
            f"--task {task_arn}`",
        )
    return outcome


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
    return last_part(task_arn)


# --- look-ups ---------------------------------------------------------------------------


def _direct(call: Callable[[], Any]) -> Any:
    return call()


def task_definition(ecs: Any, arn: str) -> dict[str, Any]:
    """A task-definition revision as `describe_task_definition` returns it."""
    return dict(ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"])


def tagged_task_definition(ecs: Any, arn: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A revision and its tags (what a deploy recorded: image tag, commit, who, when)."""
    described = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    tags = {t["key"]: t["value"] for t in described.get("tags", [])}
    return dict(described["taskDefinition"]), tags


def task_definition_arns(ecs: Any, family: str) -> list[str]:
    """Every revision of `family`, as listed (newest first, but callers sort)."""
    arns: list[str] = []
    paginator = ecs.get_paginator("list_task_definitions")
    for page in paginator.paginate(familyPrefix=family, sort="DESC"):
        arns.extend(page["taskDefinitionArns"])
    return arns


def revisions_after(ecs: Any, family: str, revision: int) -> list[int]:
    """The ACTIVE revision numbers of `family` above `revision`, newest first.

    Paged newest first, so the pages stop at the first one that reaches `revision` (a
    family may hold hundreds of revisions; the newer ones are usually none or two).
    """
    numbers: list[int] = []
    paginator = ecs.get_paginator("list_task_definitions")
    for page in paginator.paginate(familyPrefix=family, sort="DESC"):
        listed = [_family_revision(arn) for arn in page["taskDefinitionArns"]]
        # familyPrefix names one family on AWS; checked anyway, as it reads like a prefix.
        found = [number for name, number in listed if name == family]
        numbers.extend(n for n in found if n > revision)
        if any(n <= revision for n in found):
            break
    return sorted(numbers, reverse=True)


def _family_revision(arn: str) -> tuple[str, int]:
    name, number = arn.rsplit("/", 1)[-1].rsplit(":", 1)
    return name, int(number)


def stopped_tasks(
    ecs: Any, cluster: str, service: str, call: Caller = _direct
) -> list[dict[str, Any]]:
    """The service's stopped tasks of any revision (ECS keeps them about an hour), described,
    newest first."""
    arns = call(
        partial(
            ecs.list_tasks,
            cluster=cluster,
            serviceName=service,
            desiredStatus="STOPPED",
            maxResults=TASKS_LISTED,
        )
    ).get("taskArns", [])
    if not arns:
        return []
    tasks = call(partial(ecs.describe_tasks, cluster=cluster, tasks=arns)).get("tasks", [])
    return sorted(
        tasks, key=lambda t: t.get("stoppedAt") or t.get("createdAt") or _EPOCH, reverse=True
    )


def running_task_arns(ecs: Any, cluster: str, service: str) -> list[str]:
    response = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")
    return list(response.get("taskArns", []))


def unstopped_task_arns(ecs: Any, cluster: str, service: str) -> list[str]:
    """The service's tasks that may still hold a container: those ECS wants running, and
    those it is stopping (desired STOPPED, last status not STOPPED yet: draining)."""
    stopping = [
        str(t["taskArn"])
        for t in stopped_tasks(ecs, cluster, service)
        if t.get("lastStatus") != "STOPPED"
    ]
    return running_task_arns(ecs, cluster, service) + stopping


def family_tasks(ecs: Any, cluster: str, family: str) -> list[dict[str, Any]]:
    """Running and stopped tasks of a task-definition family (stopped ones ECS keeps about
    an hour), described, newest first: how scheduled runs are found."""
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        response = ecs.list_tasks(
            cluster=cluster, family=family, desiredStatus=status, maxResults=TASKS_LISTED
        )
        arns.extend(response.get("taskArns", []))
    if not arns:
        return []
    tasks = describe_tasks(ecs, cluster, arns).get("tasks", [])
    return sorted(tasks, key=lambda t: t.get("createdAt") or _EPOCH, reverse=True)


def describe_tasks(ecs: Any, cluster: str, arns: list[str]) -> dict[str, Any]:
    """`describe_tasks` for up to 100 tasks: the answer with its `tasks` and `failures`."""
    return dict(ecs.describe_tasks(cluster=cluster, tasks=arns[:TASKS_LISTED]))


def target_group_arns(service: dict[str, Any]) -> list[str]:
    """The target groups a described service registers its tasks with, each once."""
    arns = (lb.get("targetGroupArn") for lb in service.get("loadBalancers", []))
    return list(dict.fromkeys(a for a in arns if a))


def send_service_update(ecs: Any, request: dict[str, Any]) -> None:
    """`update_service` with kwargs built elsewhere (a count, a revision, or both)."""
    ecs.update_service(**request)


def execute_command(ecs: Any, request: dict[str, Any]) -> dict[str, Any]:
    return dict(ecs.execute_command(**request))
