"""`hakobu sandbox start|status|env|stop` as a user runs them, with the guide's own `aws`
commands run through `eval "$(hakobu sandbox env)"`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HakobuRunner
from tests.support.needs import missing


@pytest.fixture
def app_dir(tmp_path: Path, hakobu: HakobuRunner) -> Iterator[Path]:
    yield tmp_path
    hakobu("sandbox", "stop", cwd=tmp_path)


def test_sandbox_lifecycle_and_the_guides_aws_commands(app_dir: Path, hakobu: HakobuRunner) -> None:
    started = hakobu("sandbox", "start", cwd=app_dir)
    assert started.code == 0, started.output
    assert "Started sandbox on http://127.0.0.1:" in started.stdout
    again = hakobu("sandbox", "start", cwd=app_dir)
    assert "Already running" in again.stdout
    status = hakobu("sandbox", "status", cwd=app_dir)
    assert status.code == 0 and "Sandbox running on http://127.0.0.1:" in status.stdout
    document = json.loads(hakobu("sandbox", "status", "--json", cwd=app_dir).stdout)
    assert document["version"] == 1 and document["sandbox"]["running"] is True
    assert document["sandbox"]["endpoint"].startswith("http://127.0.0.1:")
    assert document["sandbox"]["replayed_attempts"] == 0

    if shutil.which("aws") is None:
        missing("the aws CLI", "pip install -e '.[test]'")
    # Step 1 of the guide, unchanged, against the sandbox.
    script = (
        f'eval "$({sys.executable} -m hakobu sandbox env)" && '
        "aws sts get-caller-identity --output json"
    )
    identity = subprocess.run(
        ["bash", "-c", script], cwd=app_dir, capture_output=True, text=True, timeout=60
    )
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Account"] == "123456789012"

    stopped = hakobu("sandbox", "stop", cwd=app_dir)
    assert stopped.code == 0 and "Stopped the sandbox." in stopped.stdout
    after = hakobu("sandbox", "status", cwd=app_dir)
    assert after.code == 1 and "No sandbox is running" in after.stdout
    stopped_json = hakobu("sandbox", "status", "--json", cwd=app_dir)
    assert stopped_json.code == 1
    assert json.loads(stopped_json.stdout)["sandbox"] == {
        "running": False, "endpoint": None, "pid": None, "started_at": None, "runtime": None,
        "replayed_attempts": None,
    }  # fmt: skip
    env = hakobu("sandbox", "env", cwd=app_dir)
    assert env.code == 1 and "hakobu sandbox start" in env.stderr


def test_status_lines_list_each_container_and_database() -> None:
    from hakobu.cli.sandbox_commands import status_lines
    from hakobu.sandbox.emulator import SandboxServer
    from hakobu.sandbox.report import (
        RuntimeReport,
        SandboxContainer,
        SandboxDatabase,
        SandboxStatus,
    )

    web = SandboxContainer("arn:t/a1", "a1", "c", "shop-service", "shop", "e1", 40001, "RUNNING")
    once = SandboxContainer("arn:t/b2", "b2", "c", None, "shop", "e2", None, "STOPPED")
    db = SandboxDatabase("shop-db", "mysql", "127.0.0.1", 40200, "shop", "shop", False)
    runtime = RuntimeReport("podman", {}, {"shop-alb": "http://127.0.0.1:40100"}, [web, once], [db])
    server = SandboxServer(pid=42, port=4566, started_at="2026-12-03T12:00:00+00:00")
    assert status_lines(SandboxStatus(server, runtime)) == [
        "Sandbox running on http://127.0.0.1:4566 (pid 42, since 2026-12-03T12:00:00+00:00).",
        "Runtime: podman",
        "Load balancer shop-alb: http://127.0.0.1:40100",
        "Containers: 2",
        "  task a1  RUNNING      service shop-service  shop  127.0.0.1:40001",
        "  task b2  STOPPED      one-off  shop  no port",
        "Databases: 1",
        "  shop-db  mysql  127.0.0.1:40200  stopped",
    ]
    no_engine = status_lines(SandboxStatus(server, None))
    assert no_engine[1].startswith("Runtime: none: no container runs (no podman or docker")
    replayed = status_lines(SandboxStatus(server, None, replayed_attempts=3))
    assert replayed[1] == (
        "Retried SDK attempts answered with their first answer: 3 "
        '(lines "replayed a retried attempt" in .hakobu/sandbox.log).'
    )
