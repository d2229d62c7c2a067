"""`hakobu status --sandbox` as a separate process against the shared sandbox stack (read
only: nothing here changes the stack). The sandbox runtime serves the load balancer on
127.0.0.1, and that is the URL status gives; unhealthy targets, stopped tasks and a rollout
with two deployments are tested with botocore's Stubber in tests/test_status_stubbed.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hakobu.sandbox import emulator
from tests.conftest import SandboxStack, make_rails_app, run_hakobu

pytestmark = pytest.mark.integration
APP = "rails-app"


def _service(stack: SandboxStack) -> dict[str, Any]:
    """The service as the emulator has it now (other tests deploy to and scale the shared
    stack, and moto resets running/pending counts on update_service)."""
    ecs = stack.client("ecs")
    found = ecs.describe_services(cluster=f"{APP}-cluster", services=[f"{APP}-service"])
    return dict(found["services"][0])


def _local_url(stack: SandboxStack) -> str:
    """Where the sandbox runtime serves the load balancer."""
    facts = emulator.runtime_facts(stack.root)
    assert facts is not None, "the sandbox runtime publishes no facts: is podman installed?"
    return str(facts["load_balancers"][f"{APP}-alb"]["url"])


def _alb_dns(stack: SandboxStack) -> str:
    balancers = stack.client("elbv2").describe_load_balancers(Names=[f"{APP}-alb"])
    return str(balancers["LoadBalancers"][0]["DNSName"])


def test_status_text_shows_counts_deployments_db_and_url(sandbox_stack: SandboxStack) -> None:
    result = run_hakobu("status", "--sandbox", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    text = result.stdout
    service = _service(sandbox_stack)
    assert "rails-app-service (production, ap-northeast-1)" in text
    assert service["desiredCount"] == 1
    assert (
        f"ACTIVE  desired 1  running {service['runningCount']}  pending {service['pendingCount']}"
    ) in text
    assert "PRIMARY  rails-app:" in text  # the deployment row, whatever revision it runs
    assert "rails-app-db  available  mysql" in text
    assert _local_url(sandbox_stack) in text
    assert "Targets of rails-app-tg" in text
    assert "SANDBOX: this ran against the local AWS emulator" in text


def test_status_json_has_exact_values(sandbox_stack: SandboxStack) -> None:
    result = run_hakobu("status", "--sandbox", "--json", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)  # stdout is JSON only: the banner is for text mode
    service = _service(sandbox_stack)
    assert data["version"] == 1 and data["sandbox"] is True
    assert data["service"]["name"] == f"{APP}-service"
    assert data["service"]["desired_count"] == 1
    assert data["service"]["running_count"] == service["runningCount"]
    assert data["service"]["pending_count"] == service["pendingCount"]
    assert data["service"]["task_definition"] == service["taskDefinition"].rsplit("/", 1)[-1]
    assert [d["id"] for d in data["deployments"]] == [d["id"] for d in service["deployments"]]
    assert data["deployments"][0]["status"] == "PRIMARY"
    ecr = sandbox_stack.client("ecr")
    repository = ecr.describe_repositories(repositoryNames=[APP])["repositories"][0]
    assert data["deployments"][0]["release"]["image"].startswith(repository["repositoryUri"])
    assert data["database"]["identifier"] == f"{APP}-db"
    assert data["database"]["status"] == "available"
    assert data["database"]["instance_class"] == "db.t4g.micro"
    assert data["url"] == _local_url(sandbox_stack)
    assert data["url"].startswith("http://127.0.0.1:")
    assert data["load_balancer"]["dns_name"] == _alb_dns(sandbox_stack)
    assert [g["name"] for g in data["target_groups"]] == [f"{APP}-tg"]


def test_up_ends_with_the_local_url_and_says_nothing_is_deployed_yet(
    sandbox_stack: SandboxStack,
) -> None:
    """`up` applied a fresh stack: the runtime serves its load balancer already, and the
    revision `up` registers runs no app, which `up` says instead of promising an answer."""
    lines = sandbox_stack.up.stdout.strip().splitlines()
    url = _local_url(sandbox_stack)
    told = next(line for line in lines if url in line)
    assert told.startswith(f"The app will answer at {url} once deployed: nothing is deployed")
    assert "`hakobu deploy --sandbox` ships it" in told
    assert lines[lines.index(told) + 1].startswith("SANDBOX:")  # up's last word, then the banner


def test_outputs_json_adds_the_local_url(sandbox_stack: SandboxStack) -> None:
    result = run_hakobu("outputs", "--sandbox", "--json", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    outputs = json.loads(result.stdout)
    assert outputs["local_url"] == _local_url(sandbox_stack)
    assert outputs["local_url"].startswith("http://127.0.0.1:")
    assert outputs["load_balancer_dns"] == _alb_dns(sandbox_stack)  # Terraform's are kept


def test_watch_stops_cleanly_on_ctrl_c(sandbox_stack: SandboxStack) -> None:
    """Ctrl-C (SIGINT) ends --watch with exit code 0 and no traceback."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hakobu", "status", "--sandbox", "--watch", "--interval", "1"],
        cwd=sandbox_stack.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = ""
        deadline = time.monotonic() + 60
        while "Ctrl-C stops watching" not in seen and time.monotonic() < deadline:
            seen += process.stdout.readline()
        time.sleep(1.5)  # let it refresh once more, so the interrupt may land anywhere
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Stopped watching." in seen + stdout
    assert "Traceback" not in stderr


def test_status_without_a_stack_says_run_hakobu_up(tmp_path: Path) -> None:
    """A fresh emulator with nothing applied: exit code 1 and the fix `hakobu up`."""
    root = make_rails_app(tmp_path / "empty-app")
    try:
        result = run_hakobu("status", "--sandbox", cwd=root)
    finally:
        run_hakobu("sandbox", "stop", cwd=root)
    assert result.code == 1, result.output
    assert "rails-app-cluster does not exist" in result.stderr
    assert "Fix: run hakobu up" in result.stderr
    assert "Traceback" not in result.stderr
