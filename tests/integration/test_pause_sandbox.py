"""pause / resume against the emulator with the real Terraform and AWS provider.

The stack is this module's own, in its own emulator: a pause changes it, so the shared
`sandbox_stack` must not be used. One test function, in order, so the stack is applied
once: up, a "deploy" (a new revision), pause, resume, pause --deep, resume, destroy.
About 4-5 minutes, nearly all of it the provider waiting on the ALB and RDS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.sandbox import emulator as sandbox
from tests.conftest import Run, make_rails_app, run_hakobu

pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
CLUSTER, SERVICE, DB = "rails-app-cluster", "rails-app-service", "rails-app-db"
# pause_commands registers its commands on import (until cli/__init__ imports it too).
PAUSE_CLI = "import hakobu.cli.pause_commands; from hakobu.cli import main; main()"


def hakobu_pause(*args: str, cwd: Path) -> Run:
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PAUSE_CLI, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = make_rails_app(tmp_path_factory.mktemp("pause") / "rails-app")
    try:
        yield root
    finally:
        sandbox.stop(root)


class Aws:
    def __init__(self, root: Path) -> None:
        server = sandbox.running(root)
        assert server is not None, "the sandbox emulator is not running"
        self.server = server

    def client(self, service: str) -> Any:
        return sandbox.client(self.server, REGION, service)

    def service(self) -> dict[str, Any]:
        found = self.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])
        return found["services"][0]

    def db_status(self) -> str:
        found = self.client("rds").describe_db_instances(DBInstanceIdentifier=DB)
        return str(found["DBInstances"][0]["DBInstanceStatus"])

    def nat_gateways(self) -> list[dict[str, Any]]:
        found = self.client("ec2").describe_nat_gateways()["NatGateways"]
        return [n for n in found if n["State"] != "deleted"]

    def load_balancers(self) -> list[dict[str, Any]]:
        return self.client("elbv2").describe_load_balancers()["LoadBalancers"]

    def vpcs(self) -> list[dict[str, Any]]:
        named = [{"Name": "tag:Name", "Values": ["rails-app-vpc"]}]
        return self.client("ec2").describe_vpcs(Filters=named)["Vpcs"]

    def deploy_a_revision(self) -> str:
        """What `hakobu deploy` leaves behind: a newer revision the service runs."""
        ecs = self.client("ecs")
        current = ecs.describe_task_definition(taskDefinition=self.service()["taskDefinition"])
        definition = current["taskDefinition"]
        keep = ("family", "containerDefinitions", "cpu", "memory", "networkMode",
                "requiresCompatibilities", "executionRoleArn", "taskRoleArn")  # fmt: skip
        registered = ecs.register_task_definition(**{k: definition[k] for k in keep})
        arn = registered["taskDefinition"]["taskDefinitionArn"]
        ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)
        return str(arn)


def record(root: Path) -> dict[str, Any] | None:
    path = root / ".hakobu" / "sandbox" / "production" / "paused.json"
    return json.loads(path.read_text()) if path.is_file() else None


def ok(result: Run, what: str) -> Run:
    assert result.code == 0, f"{what} failed:\n{result.output}"
    return result


def test_pause_resume_and_deep_pause_resume(app: Path) -> None:
    ok(run_hakobu("up", "--sandbox", "--yes", cwd=app), "hakobu up --sandbox")
    aws = Aws(app)
    deployed = aws.deploy_a_revision()
    assert deployed.endswith(":2")
    assert aws.service()["desiredCount"] == 1

    # --- pause: no tasks, the DB stopped, nothing else touched ---------------------------
    paused = ok(hakobu_pause("pause", "--sandbox", "--yes", cwd=app), "pause")
    assert aws.service()["desiredCount"] == 0
    assert aws.db_status() == "stopped"
    assert aws.nat_gateways() and aws.load_balancers()
    state = record(app)
    assert state is not None and not state["deep"]
    assert (state["desired_count"], state["task_definition"]) == (1, deployed)
    assert state["database_status"] == "available"
    assert "Estimated saving: $" in paused.stdout
    assert "after seven days" in paused.stderr and "hakobu pause production" in paused.stderr

    again = ok(hakobu_pause("pause", "--sandbox", "--yes", cwd=app), "pause again")
    assert "already paused since" in again.stdout and "nothing to do" in again.stdout

    planned = ok(run_hakobu("plan", "--sandbox", cwd=app), "plan while paused")
    assert "`production` is paused since" in planned.stderr
    assert "hakobu resume production" in planned.stderr

    # --- resume ---------------------------------------------------------------------------
    resumed = ok(hakobu_pause("resume", "--sandbox", "--yes", cwd=app), "resume")
    service = aws.service()
    assert service["desiredCount"] == 1 and service["taskDefinition"] == deployed
    assert aws.db_status() == "available"
    assert record(app) is None
    assert "does not wait for the app's health after a resume yet" in resumed.stdout
    assert "Healthy" not in resumed.stdout
    nothing = ok(hakobu_pause("resume", "--sandbox", cwd=app), "resume again")
    assert "is not paused" in nothing.stdout

    # --- pause --deep: no NAT Gateway, no ALB; VPC, DB, target group and service kept ------
    group = aws.service()["loadBalancers"][0]["targetGroupArn"]
    deep = ok(hakobu_pause("pause", "--deep", "--sandbox", "--yes", cwd=app), "pause --deep")
    assert "aws_lb.main destroyed" in deep.stdout + deep.stderr
    assert aws.nat_gateways() == [] and aws.load_balancers() == []
    assert aws.vpcs() and aws.db_status() == "stopped"
    service = aws.service()
    assert service["desiredCount"] == 0 and service["taskDefinition"] == deployed
    assert service["loadBalancers"][0]["targetGroupArn"] == group  # untouched
    state = record(app)
    assert state is not None and state["deep"] and state["task_definition"] == deployed

    # --- resume after --deep: the same names back, the service as recorded --------------
    ok(hakobu_pause("resume", "--sandbox", "--yes", cwd=app), "resume after --deep")
    nats = aws.nat_gateways()
    assert len(nats) == 1
    assert {"Key": "Name", "Value": "rails-app-nat"} in nats[0]["Tags"]
    balancers = aws.load_balancers()
    assert [b["LoadBalancerName"] for b in balancers] == ["rails-app-alb"]
    listeners = aws.client("elbv2").describe_listeners(
        LoadBalancerArn=balancers[0]["LoadBalancerArn"]
    )["Listeners"]
    assert listeners[0]["DefaultActions"][0]["TargetGroupArn"] == group
    service = aws.service()
    assert service["desiredCount"] == 1 and service["taskDefinition"] == deployed
    assert aws.db_status() == "available"
    assert record(app) is None

    ok(run_hakobu("destroy", "production", "--sandbox", "--yes", cwd=app), "destroy")
    assert aws.vpcs() == []
