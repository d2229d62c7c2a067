"""`hakobu status` with processes beside web, against a real moto server over HTTP: each
worker's counts, revision, rollout and newest events next to web's, in the JSON and on the
screen; a process added to hakobu.toml but not applied yet says so instead of failing the
whole status. (The sandbox run with real containers is tests/integration/processes_stack.py.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hakobu.cli.status_screen import screen
from hakobu.operate.status import gather_status
from tests.conftest import environment_of
from tests.support.moto_server import Aws, moto_server

CLUSTER = "rails-app-cluster"


class Source(Aws):
    """The moto server as hakobu's ClientSource (a Target without the rest)."""

    sandbox, runs_tasks = False, False


@pytest.fixture(scope="module")
def source() -> Iterator[Source]:
    with moto_server() as aws:
        yield Source(aws.endpoint)


def _service(ecs: Any, name: str, family: str, count: int) -> None:
    ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "rails-app", "image": "app:1", "memory": 512}],
    )
    ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=family, desiredCount=count)


def test_status_shows_each_worker_and_a_missing_one(source: Source, tmp_path: Path) -> None:
    ecs = source.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    _service(ecs, "rails-app-service", "rails-app", 1)
    _service(ecs, "rails-app-worker", "rails-app-worker", 3)
    raw = {
        "app": "rails-app",
        "framework": "rails",
        "processes": {
            "worker": {"command": ["bin/jobs"], "desired_count": 3},
            "mailer": {"command": ["bin/mailer"]},  # in hakobu.toml, not applied yet
        },
    }
    report = gather_status(source, environment_of(raw, root=tmp_path))  # type: ignore[arg-type]

    [described] = ecs.describe_services(cluster=CLUSTER, services=["rails-app-worker"])["services"]
    worker, mailer = report.as_json()["processes"]
    assert worker["process"] == "worker" and worker["name"] == "rails-app-worker"
    assert worker["desired_count"] == 3 and worker["status"] == "ACTIVE"
    assert (worker["running_count"], worker["pending_count"]) == (
        described["runningCount"],
        described["pendingCount"],
    )
    assert worker["task_definition"] == "rails-app-worker:1"
    [primary] = [d for d in described["deployments"] if d["status"] == "PRIMARY"]
    assert worker["rollout_state"] == primary["rolloutState"]
    assert mailer == {
        "process": "mailer",
        "name": "rails-app-mailer",
        "status": "MISSING",
        "desired_count": 0,
        "running_count": 0,
        "pending_count": 0,
        "task_definition": "-",
        "rollout_state": None,
        "rollout_state_reason": None,
        "events": [],
    }
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(screen(report))
    lines = buffer.getvalue().splitlines()
    start = lines.index("Processes beside web")
    rows = [line.split() for line in lines[start + 2 : start + 4]]
    counts = [str(described[k]) for k in ("desiredCount", "runningCount", "pendingCount")]
    worker_row = ["worker", "rails-app-worker", *counts, "rails-app-worker:1"]
    assert rows[0][:7] == [*worker_row, primary["rolloutState"]]
    assert rows[1][:6] == ["mailer", "rails-app-mailer", "0", "0", "0", "-"]
    assert "no service yet: run hakobu up" in lines[start + 3]
