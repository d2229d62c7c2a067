"""`hakobu run --sandbox` as a separate process against the shared sandbox stack: the
one-off task is really started in the emulator, with the command override, the service's
subnets and security groups and the service's current revision. The emulator never runs a
task, so its exit code is tested with botocore's Stubber in tests/test_sessions.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SandboxStack, run_hakobu

pytestmark = pytest.mark.integration
CLUSTER, SERVICE, CONTAINER = "rails-app-cluster", "rails-app-service", "rails-app"


@pytest.fixture(scope="module")
def started(sandbox_stack: SandboxStack) -> Iterator[dict[str, Any]]:
    ecs = sandbox_stack.client("ecs")
    service = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    before = set(ecs.list_tasks(cluster=CLUSTER, startedBy="hakobu-run")["taskArns"])
    result = run_hakobu(
        "run", "--sandbox", "--", "bin/rails", "runner", "puts 1", cwd=sandbox_stack.root
    )
    new = set(ecs.list_tasks(cluster=CLUSTER, startedBy="hakobu-run")["taskArns"]) - before
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=sorted(new))["tasks"] if new else []
    yield {"result": result, "service": service, "tasks": tasks}
    # The stack is shared: leave no one-off task behind for the other tests to count.
    for task in tasks:
        ecs.stop_task(cluster=CLUSTER, task=task["taskArn"], reason="test_run_sandbox")


def test_run_starts_one_task_of_the_current_revision_with_the_command(
    started: dict[str, Any],
) -> None:
    result, service, tasks = started["result"], started["service"], started["tasks"]
    assert result.code == 0, result.output
    assert len(tasks) == 1, result.output
    task = tasks[0]
    assert task["taskDefinitionArn"] == service["taskDefinition"]
    assert task["overrides"]["containerOverrides"] == [
        {"name": CONTAINER, "command": ["bin/rails", "runner", "puts 1"]}
    ]
    # Said plainly: started, not run, and no success claimed.
    assert task["taskArn"].rsplit("/", 1)[-1] in result.output
    assert "does not run containers, so the command did not run" in " ".join(result.output.split())
    assert "exited 0" not in result.output


def test_run_uses_the_services_subnets_and_security_groups(
    sandbox_stack: SandboxStack, started: dict[str, Any]
) -> None:
    network = started["service"]["networkConfiguration"]["awsvpcConfiguration"]
    details = {
        d["name"]: d["value"]
        for attachment in started["tasks"][0]["attachments"]
        for d in attachment["details"]
    }
    # The emulator places the task's network interface in the first subnet given.
    assert details["subnetId"] == network["subnets"][0]
    interface = sandbox_stack.client("ec2").describe_network_interfaces(
        NetworkInterfaceIds=[details["networkInterfaceId"]]
    )["NetworkInterfaces"][0]
    assert sorted(g["GroupId"] for g in interface["Groups"]) == sorted(network["securityGroups"])
