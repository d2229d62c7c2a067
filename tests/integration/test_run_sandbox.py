"""`hakobu run --sandbox` as a separate process against the shared sandbox stack: the
one-off task is started with the command override, the service's subnets and security
groups and the service's current revision, and the sandbox runtime runs it: the current
revision is the test image tests/integration/test_deploy_sandbox.py deployed, whose
`bin/rails` prints a line and exits 0. hakobu waits for the exit code and shows the output."""

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
    assert task["taskArn"].rsplit("/", 1)[-1] in result.output
    assert "bin/rails runner puts 1: the test app has nothing to migrate" in result.output
    assert "exited 0" in result.output
    assert task["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 0


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
