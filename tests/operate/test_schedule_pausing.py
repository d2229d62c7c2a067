"""`hakobu pause` disables every schedule and `resume` enables it again, against the
sandbox emulator (real EventBridge Scheduler API calls over HTTP): the schedule keeps its
expression, time zone, target, role and dead-letter queue; only its State changes. The
pause and resume plans say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.core.target import Target
from hakobu.operate.pausing.plan import Facts, plan_pause, plan_resume
from hakobu.operate.schedule_pausing import set_schedules
from hakobu.provision.prices import shipped_prices
from tests.conftest import environment_of
from tests.support.ecs_revisions import ACCOUNT, REGION, sandbox_target

TARGET = {
    "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/rails-app-cluster",
    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-scheduler-role",
    "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:rails-app-schedules-dlq"},
    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
    "Input": '{"containerOverrides": []}',
}
TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    with sandbox_target(tmp_path) as found:
        yield found


def _env(*names: str) -> Environment:
    schedules = [{"name": n, "cron": "0 3 * * *", "command": ["bin/x"]} for n in names]
    return environment_of({"app": "rails-app", "framework": "rails", "schedules": schedules})


def _create(target: Target, name: str) -> None:
    target.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="cron(0 3 * * ? *)",
        ScheduleExpressionTimezone="Asia/Tokyo",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=TARGET,
        State="ENABLED",
    )


def _described(target: Target, name: str) -> dict[str, Any]:
    return target.client("scheduler").get_schedule(Name=name)


def test_pause_disables_each_schedule_and_resume_enables_it_unchanged(target: Target) -> None:
    _create(target, "rails-app-nightly")
    _create(target, "rails-app-hourly")
    env = _env("nightly", "hourly")

    assert set_schedules(env, target, enabled=False) == ["rails-app-nightly", "rails-app-hourly"]
    for name in ("rails-app-nightly", "rails-app-hourly"):
        paused = _described(target, name)
        assert paused["State"] == "DISABLED"
        assert paused["ScheduleExpression"] == "cron(0 3 * * ? *)"
        assert paused["ScheduleExpressionTimezone"] == "Asia/Tokyo"
        assert paused["Target"] == TARGET
    assert set_schedules(env, target, enabled=False) == []  # again: nothing to change

    assert set_schedules(env, target, enabled=True) == ["rails-app-nightly", "rails-app-hourly"]
    resumed = _described(target, "rails-app-nightly")
    assert resumed["State"] == "ENABLED" and resumed["Target"] == TARGET


def test_a_schedule_not_applied_yet_is_left_alone(target: Target) -> None:
    _create(target, "rails-app-nightly")
    assert set_schedules(_env("nightly", "weekly"), target, enabled=False) == ["rails-app-nightly"]


def test_an_app_without_schedules_calls_nothing() -> None:
    class NoClients:
        def client(self, name: str) -> Any:
            raise AssertionError(f"asked for a {name} client")

    assert set_schedules(_env(), NoClients(), enabled=False) == []  # type: ignore[arg-type]


def test_the_plans_say_the_schedules_are_disabled_then_enabled() -> None:
    env = _env("nightly")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    pause = plan_pause(env, Facts(1, f"{TD}:3", "available"), False, None, shipped_prices(), now)
    assert (
        "disable the schedule(s) rails-app-nightly so no scheduled run starts while paused"
        in pause.steps(env)
    )
    resume = plan_resume(env, pause.record, Facts(0, f"{TD}:3", "stopped"))
    assert resume.steps(env)[-1] == "enable the schedule(s) rails-app-nightly again"
    assert not [
        s
        for s in plan_pause(
            _env(), Facts(1, f"{TD}:3", "available"), False, None, shipped_prices(), now
        ).steps(_env())
        if "schedule" in s
    ]
