"""`hakobu pause` / `resume` with processes beside web: the plans (pure, exact values) and
the record. Both scale every worker too: a pause records each worker's count and takes it
to zero with web, a resume puts each back; the saving counts each worker at what it ran
(the recorded count), not at hakobu.toml's. The sandbox run with real containers is
tests/integration/processes_stack.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hakobu.core.config import Environment
from hakobu.operate.pause_flow import deep_extra_saving
from hakobu.operate.pausing.plan import Facts, plan_pause, plan_resume
from hakobu.operate.pausing.record import load_record, save_record
from hakobu.operate.pausing.saving import Saving, pause_saving
from hakobu.provision.prices import shipped_prices
from tests.conftest import environment_of

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PRICES = shipped_prices()
TD = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/rails-app"
RUNNING = Facts(2, f"{TD}:7", "available", {"worker": 3, "mailer": 0})


def env_of(**more: object) -> Environment:
    raw = {
        "app": "rails-app",
        "framework": "rails",
        # hakobu.toml: one task each (the default desired_count).
        "processes": {"worker": {"command": ["bin/jobs"]}, "mailer": {"command": ["bin/mail"]}},
        **more,
    }
    return environment_of(raw, root=Path("/app"))


def _line(saving: Saving, name: str) -> tuple[float | None, str]:
    [line] = [line for line in saving.lines if line.name == name]
    return line.monthly, line.detail


def test_the_saving_counts_each_worker_at_what_it_ran() -> None:
    """worker runs 3 (`scale worker=3`, or by hand), mailer 0; hakobu.toml says 1 each."""
    plan = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW)
    one = pause_saving(env_of(), PRICES, False, 2, {"worker": 1, "mailer": 1})
    vcpu, detail = _line(plan.saving, "Fargate worker vCPU")
    assert detail == "3 worker task(s) x 0.25 vCPU x 730 h, x86"
    assert vcpu == pytest.approx(3 * _line(one, "Fargate worker vCPU")[0])
    gb, detail = _line(plan.saving, "Fargate worker GB")
    assert detail == "3 worker task(s) x 0.5 GB x 730 h, x86"
    assert gb == pytest.approx(3 * _line(one, "Fargate worker GB")[0])
    assert _line(plan.saving, "Fargate mailer vCPU") == (
        0.0,
        "0 mailer task(s) x 0.25 vCPU x 730 h, x86",
    )
    assert _line(plan.saving, "Fargate vCPU")[1] == "2 task(s) x 0.25 vCPU x 730 h, x86"
    # Two more worker tasks and one mailer task fewer than hakobu.toml's counts.
    worker_task = _line(one, "Fargate worker vCPU")[0] + _line(one, "Fargate worker GB")[0]
    assert plan.saving.total == pytest.approx(one.total + 2 * worker_task - worker_task)
    assert plan.record.monthly_saving == round(plan.saving.total, 2)


def test_a_worker_not_created_yet_saves_nothing() -> None:
    """A worker added to hakobu.toml but not applied has no service: no count is read."""
    plan = plan_pause(
        env_of(), Facts(2, f"{TD}:7", "available", {"worker": 3}), False, None, PRICES, NOW
    )
    assert _line(plan.saving, "Fargate mailer vCPU")[1] == (
        "0 mailer task(s) x 0.25 vCPU x 730 h, x86"
    )


def test_the_released_task_addresses_follow_the_running_counts() -> None:
    """lean: every task has a public IPv4 address; web 2 + worker 3 + mailer 0 = 5."""
    env = env_of(profile="lean")
    plan = plan_pause(env, RUNNING, False, None, PRICES, NOW)
    assert _line(plan.saving, "Public IPv4 addresses released")[1] == (
        "5 task IP(s) = 5 address(es) x 730 h"
    )


def test_the_deep_hint_adds_only_the_network_to_the_pause_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pause` then says how much more `--deep` saves: NAT Gateway and ALB, never a worker
    counted twice at different counts."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the shipped prices only
    plan = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW)
    deep = pause_saving(env_of(), PRICES, True, 2, {"worker": 3, "mailer": 0})
    shallow = {line.name: line.monthly for line in plan.saving.lines}
    # The lines of both are the same (the workers at 3 and 0), and deep adds the network's.
    assert {line.name: line.monthly for line in deep.lines if line.name in shallow} == shallow
    added = {line.name for line in deep.lines} - set(shallow)
    assert added == {"NAT Gateway hours", "ALB hours", "ALB LCUs", "Public IPv4 addresses released"}
    network = sum(line.monthly or 0.0 for line in deep.lines if line.name in added)
    assert deep_extra_saving(env_of(), plan.record, plan.saving.total) == pytest.approx(network)


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
