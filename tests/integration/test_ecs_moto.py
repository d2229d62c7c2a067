"""The ECS calls of a deploy against the emulator (moto server), on the shared sandbox stack.

What moto cannot show (a rollout that completes or is rolled back, containers that run,
exit codes) is tested with botocore's Stubber in tests/test_rollout_stubbed.py. These tests
only add things to the shared stack (a task-definition revision, a stopped one-off task, a
log stream) and move the service to the new revision, which keeps everything but the image:
the other integration tests and the final destroy are unaffected.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.logs import task_log_lines, task_log_stream
from hakobu.ship.rollout import RolloutUpdate, follow_rollout
from tests.conftest import SandboxStack

pytestmark = pytest.mark.integration
APP = "rails-app"
CLUSTER = f"{APP}-cluster"
SERVICE = f"{APP}-service"
IMAGE = f"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/{APP}@sha256:{'5e' * 32}"
TAGS = {"hakobu:commit": "4f2c9e1", "hakobu:environment": "production"}
COMMAND = ["bin/rails", "db:migrate"]


@pytest.fixture(scope="module")
def revision(sandbox_stack: SandboxStack) -> dict[str, Any]:
    """The service's current task definition, and a new revision of it with a new image."""
    ecs = sandbox_stack.client("ecs")
    service = ecs_ops.service_description(ecs, CLUSTER, SERVICE)
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    request = ecs_ops.revision_request(current["taskDefinition"], APP, IMAGE, TAGS)
    arn = ecs_ops.register_revision(ecs, request)
    return {"service": service, "current": current["taskDefinition"], "arn": arn}


def _writable(task_definition: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in task_definition.items() if k not in ecs_ops.READ_ONLY_FIELDS}


def test_new_revision_differs_from_the_current_one_only_in_the_image(
    sandbox_stack: SandboxStack, revision: dict[str, Any]
) -> None:
    ecs = sandbox_stack.client("ecs")
    described = ecs.describe_task_definition(taskDefinition=revision["arn"], include=["TAGS"])
    new, old = described["taskDefinition"], revision["current"]
    assert new["family"] == old["family"] == APP
    assert new["revision"] > old["revision"]
    assert new["taskDefinitionArn"] == revision["arn"] != old["taskDefinitionArn"]
    (new_container,) = new["containerDefinitions"]
    (old_container,) = old["containerDefinitions"]
    assert new_container["image"] == IMAGE != old_container["image"]
    for key in ("cpu", "memory", "taskRoleArn", "executionRoleArn", "networkMode"):
        assert new[key] == old[key], key
    assert new["requiresCompatibilities"] == ["FARGATE"]
    assert new["runtimePlatform"] == old["runtimePlatform"]
    for key in ("memory", "secrets", "environment", "logConfiguration", "portMappings"):
        assert new_container[key] == old_container[key], key
    # Everything else is equal too: only the image moved.
    expected = _writable(old)
    expected["containerDefinitions"] = [{**old_container, "image": IMAGE}]
    assert _writable(new) == expected
    assert {t["key"]: t["value"] for t in described["tags"]} == TAGS


def test_release_task_runs_in_the_services_network_with_the_command(
    sandbox_stack: SandboxStack, revision: dict[str, Any]
) -> None:
    ecs = sandbox_stack.client("ecs")
    network = revision["service"]["networkConfiguration"]["awsvpcConfiguration"]
    request = ecs_ops.release_task_request(
        CLUSTER, revision["arn"], APP, COMMAND, network, "hakobu-release-4f2c9e1"
    )

    task_arn = ecs_ops.run_task(ecs, request)

    (task,) = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
    assert task["taskDefinitionArn"] == revision["arn"]
    assert task["launchType"] == "FARGATE"
    assert task["startedBy"] == "hakobu-release-4f2c9e1"
    assert task["overrides"]["containerOverrides"] == [{"name": APP, "command": COMMAND}]
    (attachment,) = task["attachments"]
    assert (attachment["type"], attachment["status"]) == ("ElasticNetworkInterface", "ATTACHED")
    details = {d["name"]: d["value"] for d in attachment["details"]}
    # moto places the ENI in the first subnet given; AWS picks any of them.
    assert details["subnetId"] in network["subnets"]
    (eni,) = sandbox_stack.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[details["networkInterfaceId"]]
    )["NetworkInterfaces"]
    assert eni["SubnetId"] == details["subnetId"]
    assert sorted(g["GroupId"] for g in eni["Groups"]) == sorted(network["securityGroups"])
    assert [g["GroupName"] for g in eni["Groups"]] == [f"{APP}-ecs-sg"]
    assert eni["PrivateIpAddress"] == details["privateIPv4Address"]
    assert "Association" not in eni  # no public IP

    # moto moves a task one state further on each DescribeTasks (RUNNING ... STOPPED) and
    # reports exit code 0 for a container that never ran: only the polling is shown here.
    statuses: list[str] = []
    outcome = ecs_ops.wait_for_task(
        ecs, CLUSTER, task_arn, on_status=statuses.append, poll_seconds=0.01, timeout=30
    )
    assert outcome.last_status == "STOPPED" and statuses[-1] == "STOPPED"
    assert outcome.task_arn == task_arn


def test_task_logs_are_read_from_the_awslogs_stream(sandbox_stack: SandboxStack) -> None:
    logs = sandbox_stack.client("logs")
    group = f"/ecs/{APP}"
    stream = task_log_stream(APP, f"arn:aws:ecs:ap-northeast-1:123456789012:task/{CLUSTER}/abc")
    assert stream == f"ecs/{APP}/abc"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)  # CloudWatch rejects events older than 14 days
    written = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(3)],
    )
    assert "rejectedLogEventsInfo" not in written

    lines = task_log_lines(logs, group, stream)

    assert [line.message for line in lines] == ["line 0", "line 1", "line 2"]
    assert task_log_lines(logs, group, f"ecs/{APP}/no-such-task") == []


def test_update_service_moves_the_service_to_the_new_revision(
    sandbox_stack: SandboxStack, revision: dict[str, Any]
) -> None:
    ecs = sandbox_stack.client("ecs")

    deployment_id = ecs_ops.update_service(ecs, CLUSTER, SERVICE, revision["arn"])

    assert deployment_id.startswith("ecs-svc/")
    service = ecs_ops.service_description(ecs, CLUSTER, SERVICE)
    assert service["taskDefinition"] == revision["arn"]
    # Unlike AWS, moto keeps the previous deployment (same id, old task definition) as the
    # PRIMARY one after an UpdateService that changes the task definition.


def test_follow_rollout_never_reports_success_against_the_emulator(
    sandbox_stack: SandboxStack, revision: dict[str, Any]
) -> None:
    """The polling calls work against moto's shapes; moto never completes a rollout, so the
    outcome is never COMPLETED (success is tested with botocore Stubber). Today it is FAILED:
    moto keeps the old task definition in the PRIMARY deployment after UpdateService."""
    updates: list[RolloutUpdate] = []
    result = follow_rollout(
        sandbox_stack.client("ecs"),
        sandbox_stack.client("elbv2"),
        CLUSTER,
        SERVICE,
        revision["arn"],
        timeout=1,
        on_update=updates.append,
        poll_seconds=0.1,
    )
    assert result.outcome in ("FAILED", "TIMEOUT")
    assert updates and updates[0].deployments  # the deployment lines were emitted
    assert result.elapsed < 30
