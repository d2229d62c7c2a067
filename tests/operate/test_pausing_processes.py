"""`hakobu pause` / `resume` with processes beside web: the plans (pure, exact values) and
the record. Both scale every worker too: a pause records each worker's count and takes it
to zero with web, a resume puts each back. The sandbox run with real containers is
tests/integration/processes_stack.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hakobu.core.config import Environment
from hakobu.operate.pausing.plan import Facts, plan_pause, plan_resume
from hakobu.operate.pausing.record import load_record, save_record
from hakobu.provision.prices import shipped_prices
from tests.conftest import environment_of

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PRICES = shipped_prices()
TD = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/rails-app"
RUNNING = Facts(2, f"{TD}:7", "available", {"worker": 3, "mailer": 0})


def env_of() -> Environment:
    raw = {
        "app": "rails-app",
        "framework": "rails",
        "processes": {"worker": {"command": ["bin/jobs"]}, "mailer": {"command": ["bin/mail"]}},
    }
    return environment_of(raw, root=Path("/app"))


def test_a_pause_takes_every_worker_to_zero_and_records_its_count() -> None:
    plan = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW)
    assert plan.scale_to_zero and plan.record.processes == {"worker": 3, "mailer": 0}
    assert plan.steps(env_of()) == [
        "scale rails-app-service to 0 tasks (was 2)",
        "scale rails-app-worker to 0 tasks (was 3)",
        "scale rails-app-mailer to 0 tasks (was 0)",
        "stop the DB instance rails-app-db (its storage is kept)",
    ]


def test_a_running_worker_alone_is_something_to_pause() -> None:
    web_idle = Facts(0, f"{TD}:7", "stopped", {"worker": 1})
    plan = plan_pause(env_of(), web_idle, False, None, PRICES, NOW)
    assert plan.scale_to_zero and not plan.nothing_to_do


def test_pausing_again_keeps_the_counts_from_before_the_first_pause() -> None:
    first = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    paused = Facts(0, f"{TD}:7", "stopped", {"worker": 0, "mailer": 0})
    again = plan_pause(env_of(), paused, False, first, PRICES, NOW + timedelta(hours=1))
    assert again.nothing_to_do and again.record.processes == {"worker": 3, "mailer": 0}
    # A worker someone scaled up while paused is stopped again; its count stays the first.
    moved = Facts(0, f"{TD}:7", "stopped", {"worker": 1, "mailer": 0})
    plan = plan_pause(env_of(), moved, False, first, PRICES, NOW + timedelta(hours=2))
    assert plan.scale_to_zero and plan.record.processes["worker"] == 3


def test_a_resume_puts_every_worker_back_to_its_count() -> None:
    record = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    paused = Facts(0, f"{TD}:7", "stopped", {"worker": 0, "mailer": 0})
    plan = plan_resume(env_of(), record, paused)
    assert plan.process_requests == (
        {"cluster": "rails-app-cluster", "service": "rails-app-worker", "desiredCount": 3},
        {"cluster": "rails-app-cluster", "service": "rails-app-mailer", "desiredCount": 0},
    )
    assert plan.steps(env_of())[-2:] == [
        "scale rails-app-worker back to 3 task(s)",
        "scale rails-app-mailer back to 0 task(s)",
    ]


def test_the_record_keeps_the_workers_and_an_older_record_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "paused.json"
    record = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    save_record(path, record)
    assert load_record(path) == record
    data = json.loads(path.read_text())
    assert data["processes"] == {"worker": 3, "mailer": 0}
    del data["processes"]  # as a pause made before processes were recorded wrote it
    path.write_text(json.dumps(data))
    loaded = load_record(path)
    assert loaded is not None and loaded.processes == {}
