"""pause / resume against the emulator with the real Terraform and AWS provider, and the
sandbox runtime following them: the app's containers and the real DB server go down on a
pause, and a resume returns only once the app serves again through the load balancer.

The stack is this module's own, in its own emulator: a pause changes it, so the shared
`sandbox_stack` must not be used. One test function, in order, so the stack is applied
once: up, a real deploy (busybox httpd, see tests/support/images.py), pause, resume,
pause --deep, resume, destroy. About 4-5 minutes, nearly all of it the provider waiting on
the ALB and RDS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.runtime.controller import Runtime
from hakobu.sandbox.runtime.engine import ContainerEngine
from hakobu.sandbox.runtime.tasks import LABEL_RUNTIME
from tests.conftest import Run, make_rails_app, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import record_in_ecr, served_body

pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
CLUSTER, SERVICE, DB = "rails-app-cluster", "rails-app-service", "rails-app-db"
# pause_commands registers its commands on import (until cli/__init__ imports it too).
PAUSE_CLI = "import hakobu.cli.pause_commands; from hakobu.cli import main; main()"
UP_BODY = "served again after a pause"


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


class Local:
    """What the sandbox runtime runs for the app, asked of the engine and its facts."""

    def __init__(self, root: Path, engine: ContainerEngine) -> None:
        self.root = root
        self.engine = engine
        # The runtime labels every container with an id of its work directory.
        self.labels = {LABEL_RUNTIME: Runtime.id_for(root / ".hakobu" / "sandbox")}

    def running_containers(self) -> list[str]:
        return [i for i in self.engine.list_ids(self.labels) if self.engine.state(i).running]

    def database(self) -> dict[str, Any]:
        facts = sandbox.runtime_facts(self.root) or {}
        return dict(facts["databases"][DB])


def accepts_connections(port: int) -> bool:
    """The server's greeting arrives: MySQL speaks first."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            return bool(connection.recv(16))
    except OSError:
        return False


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def deploy(app: Path, aws: Aws, engine: ContainerEngine, work_dir: Path) -> str:
    """A real image, recorded in the emulated ECR and deployed; the revision it runs."""
    image = http_image(engine, work_dir, up_body=UP_BODY)
    uri, _digest = record_in_ecr(aws.client("ecr"), engine, image, "rails-app", "v1")
    ok(run_hakobu("deploy", "--sandbox", "--image", f"{uri}:v1", cwd=app), "deploy")
    return str(aws.service()["taskDefinition"])


def record(root: Path) -> dict[str, Any] | None:
    path = root / ".hakobu" / "sandbox" / "production" / "paused.json"
    return json.loads(path.read_text()) if path.is_file() else None


def ok(result: Run, what: str) -> Run:
    assert result.code == 0, f"{what} failed:\n{result.output}"
    return result


def test_pause_resume_and_deep_pause_resume(
    app: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    up = ok(run_hakobu("up", "--sandbox", "--yes", cwd=app), "hakobu up --sandbox")
    assert "nothing is deployed yet" in up.stdout
    aws = Aws(app)
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    local = Local(app, engine)
    deployed = deploy(app, aws, engine, tmp_path_factory.mktemp("image"))
    assert deployed.endswith(":2")
    assert aws.service()["desiredCount"] == 1
    wait_until(lambda: served_body(app, "/up", UP_BODY), "the deployed app", timeout_s=120)
    assert local.running_containers()
    db = local.database()
    assert db["running"] and accepts_connections(db["port"])

    # --- pause: no tasks, the DB stopped, nothing else touched ---------------------------
    paused = ok(hakobu_pause("pause", "--sandbox", "--yes", cwd=app), "pause")
    assert aws.service()["desiredCount"] == 0
    assert aws.db_status() == "stopped"
    assert aws.nat_gateways() and aws.load_balancers()
    # Followed by the runtime before the command returned: no container, no DB server.
    assert local.running_containers() == []
    assert not alive(db["pid"]) and not accepts_connections(db["port"])
    assert served_body(app, "/up", UP_BODY) is None  # the load balancer has no target
    state = record(app)
    assert state is not None and not state["deep"]
    assert (state["desired_count"], state["task_definition"]) == (1, deployed)
    assert state["database_status"] == "available"
    assert "Estimated saving: $" in paused.stdout
    assert "Waiting until the tasks are drained and stopped" in paused.stderr
    assert "after seven days" in paused.stderr and "hakobu pause production" in paused.stderr

    again = ok(hakobu_pause("pause", "--sandbox", "--yes", cwd=app), "pause again")
    assert "already paused since" in again.stdout and "nothing to do" in again.stdout

    planned = ok(run_hakobu("plan", "--sandbox", cwd=app), "plan while paused")
    assert "`production` is paused since" in planned.stderr
    assert "hakobu resume production" in planned.stderr

    # --- resume: exits only once the app serves again, the DB answering ------------------
    resumed = ok(hakobu_pause("resume", "--sandbox", "--yes", cwd=app), "resume")
    assert served_body(app, "/up", UP_BODY) == UP_BODY  # at once: no wait after resume
    db = local.database()
    assert db["running"] and accepts_connections(db["port"])
    service = aws.service()
    assert service["desiredCount"] == 1 and service["taskDefinition"] == deployed
    assert service["runningCount"] == 1
    assert aws.db_status() == "available"
    assert record(app) is None
    assert "Waiting until the app is healthy" in resumed.stderr
    assert "Healthy: rails-app:2: running 1/1, pending 0, targets healthy 1/1" in resumed.stdout
    assert "The app answers at http://127.0.0.1:" in resumed.stdout
    nothing = ok(hakobu_pause("resume", "--sandbox", cwd=app), "resume again")
    assert "is not paused" in nothing.stdout

    # --- pause --deep: no NAT Gateway, no ALB; VPC, DB, target group and service kept ------
    group = aws.service()["loadBalancers"][0]["targetGroupArn"]
    deep = ok(hakobu_pause("pause", "--deep", "--sandbox", "--yes", cwd=app), "pause --deep")
    assert "aws_lb.main destroyed" in deep.stdout + deep.stderr
    assert aws.nat_gateways() == [] and aws.load_balancers() == []
    assert aws.vpcs() and aws.db_status() == "stopped"
    assert local.running_containers() == []
    assert not alive(db["pid"]) and not accepts_connections(db["port"])
    service = aws.service()
    assert service["desiredCount"] == 0 and service["taskDefinition"] == deployed
    assert service["loadBalancers"][0]["targetGroupArn"] == group  # untouched
    state = record(app)
    assert state is not None and state["deep"] and state["task_definition"] == deployed

    # --- resume after --deep: the same names back, the service as recorded, serving -------
    resumed = ok(hakobu_pause("resume", "--sandbox", "--yes", cwd=app), "resume after --deep")
    assert served_body(app, "/up", UP_BODY) == UP_BODY
    assert "Healthy: rails-app:2" in resumed.stdout
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
    assert accepts_connections(local.database()["port"])
    assert record(app) is None

    ok(run_hakobu("destroy", "production", "--sandbox", "--yes", cwd=app), "destroy")
    assert aws.vpcs() == []
    assert engine.list_ids(local.labels) == []
