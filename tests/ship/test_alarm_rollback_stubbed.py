"""`deploy` names the deployment alarm that made ECS roll a rollout back.

botocore Stubber: the emulator never runs an alarm-based rollback (moto's ECS ignores the
service's deployment alarms, and its CloudWatch never evaluates metrics).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hakobu.ship import deploy
from hakobu.ship.alarm_rollback import alarm_rollback_reason
from hakobu.ship.deploy import DeployError, RolloutFollower
from hakobu.ship.rollout import RolloutResult
from tests.conftest import environment_of
from tests.support.stubbed_aws import (
    CLUSTER,
    NEW,
    NOW,
    SERVICE,
    Recorder,
    StubbedAws,
    service_response,
)

REASON = (
    "Threshold Crossed: 2 out of the last 3 datapoints [12.5 (29/11/26 12:03:00), "
    "9.1 (29/11/26 12:02:00)] were greater than the threshold (5.0)"
)


# The service's deployment alarms (alarm-based rollback), as DescribeServices lists them.
ALARMED = {
    "alarms": {
        "alarmNames": ["rails-app-alb-5xx", "rails-app-app-5xx"],
        "enable": True,
        "rollback": True,
    },
}


def _alarm(
    name: str, state: str, minutes_after_start: int, start: datetime = NOW
) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "StateValue": state,
        "StateReason": REASON if state == "ALARM" else "Threshold Crossed: no datapoint",
        "StateUpdatedTimestamp": start + timedelta(minutes=minutes_after_start),
    }


def _answer(aws: StubbedAws, *alarms: dict[str, Any]) -> None:
    aws.stub("ecs").add_response(
        "describe_services", service_response([], deploymentConfiguration=ALARMED), None
    )
    aws.stub("cloudwatch").add_response(
        "describe_alarms",
        {"MetricAlarms": list(alarms)},
        {"AlarmNames": ["rails-app-alb-5xx", "rails-app-app-5xx"], "AlarmTypes": ["MetricAlarm"]},
    )


def test_the_alarm_that_fired_during_the_rollout_is_named_with_its_reason() -> None:
    aws = StubbedAws()
    _answer(aws, _alarm("rails-app-alb-5xx", "OK", 1), _alarm("rails-app-app-5xx", "ALARM", 3))
    reason = alarm_rollback_reason(
        aws.client("ecs"), aws.client("cloudwatch"), CLUSTER, SERVICE, NOW
    )
    aws.verify()
    assert reason == (
        "the deployment alarm fired during the rollout, so ECS rolled it back "
        f"(rails-app-app-5xx: {REASON})"
    )


def test_an_alarm_already_firing_before_the_rollout_is_not_its_cause() -> None:
    aws = StubbedAws()
    _answer(aws, _alarm("rails-app-app-5xx", "ALARM", -10))
    reason = alarm_rollback_reason(
        aws.client("ecs"), aws.client("cloudwatch"), CLUSTER, SERVICE, NOW
    )
    assert reason is None


def test_deploy_fails_with_the_alarm_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ECS ended the rollout FAILED with its generic reason (what `follow_rollout` returns
    is given here); the deploy error names the alarm and CloudWatch's reason instead."""
    generic = "ECS deployment ecs-svc/2 rolled back: alarm detected."
    elapsed = 240.0
    failed = RolloutResult("FAILED", generic, [], [], elapsed)
    monkeypatch.setattr(deploy, "follow_rollout", lambda *args, **kwargs: failed)
    aws, events = StubbedAws(), Recorder()
    # Two minutes into the rollout, which began `elapsed` seconds before now.
    started = datetime.now(UTC) - timedelta(seconds=elapsed)
    _answer(aws, _alarm("rails-app-app-5xx", "ALARM", 2, start=started))
    env = environment_of(
        {"app": "rails-app", "framework": "rails", "alarms": {"email": []}}, root=tmp_path
    )
    follower = RolloutFollower(env, aws, events)  # type: ignore[arg-type]
    with pytest.raises(DeployError) as caught:
        follower.follow(aws.client("ecs"), NEW)
    aws.verify()
    assert "the deployment alarm fired during the rollout" in caught.value.problem
    assert f"rails-app-app-5xx: {REASON}" in caught.value.problem
    assert generic not in caught.value.problem


def test_without_alarms_the_deploy_asks_cloudwatch_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generic = "ECS deployment circuit breaker: tasks failed to start."
    failed = RolloutResult("FAILED", generic, [], [], 60.0)
    monkeypatch.setattr(deploy, "follow_rollout", lambda *args, **kwargs: failed)
    aws, events = StubbedAws(), Recorder()  # a call to any stub would fail: none queued
    env = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    follower = RolloutFollower(env, aws, events)  # type: ignore[arg-type]
    with pytest.raises(DeployError) as caught:
        follower.follow(aws.client("ecs"), NEW)
    assert generic in caught.value.problem
