"""`hakobu doctor` with [processes.NAME] and [[schedules]]: each worker's service and the
role EventBridge Scheduler runs the scheduled task with, against the sandbox emulator (real
ECS, IAM and Scheduler API calls): each test puts there what it needs. (A stack Terraform
made is checked in tests/integration/processes_stack.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.core.target import Target
from hakobu.operate.doctor import default_checks, run_checks
from hakobu.operate.doctor.results import CheckResult
from hakobu.sandbox import emulator as sandbox
from tests.conftest import environment_of, make_rails_app

REGION = "ap-northeast-1"
ROLE = "rails-app-scheduler-role"
FAMILY = "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/rails-app-schedules"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
RUN_TASKS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": [FAMILY, f"{FAMILY}:*"]}
    ],
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Target]]:
    root = make_rails_app(tmp_path_factory.mktemp("doctor-processes") / "rails-app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAKOBU_CONTAINER_ENGINE", "none")  # the control plane only
        server, _ = sandbox.start(root)
    target = Target(REGION, server.endpoint, sandbox.client_environment(server, REGION))
    ecs = target.client("ecs")
    ecs.create_cluster(clusterName="rails-app-cluster")
    ecs.register_task_definition(
        family="rails-app-worker",
        containerDefinitions=[
            {"name": "rails-app", "image": "app@sha256:" + "1" * 64, "memory": 512}
        ],
    )
    try:
        yield root, target
    finally:
        sandbox.stop(root)


def _env(root: Path) -> Environment:
    raw = {
        "app": "rails-app",
        "framework": "rails",
        "processes": {"worker": {"command": ["bin/jobs"]}},
        "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}],
    }
    return environment_of(raw, root=root)


def _doctor(emulator: tuple[Path, Target]) -> dict[str, CheckResult]:
    env = _env(emulator[0])
    checks = [c for c in default_checks(env) if c.name in ("process worker", "scheduler role")]
    assert [c.name for c in checks] == ["process worker", "scheduler role"]
    return {r.name: r for r in run_checks(env, emulator[1], checks=checks)}


@pytest.fixture
def scheduler_role(emulator: tuple[Path, Target]) -> Iterator[str]:
    iam = emulator[1].client("iam")
    arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=ROLE, PolicyName="run-scheduled-tasks", PolicyDocument=json.dumps(RUN_TASKS)
    )
    yield str(arn)
    iam.delete_role_policy(RoleName=ROLE, PolicyName="run-scheduled-tasks")
    iam.delete_role(RoleName=ROLE)
    scheduler = emulator[1].client("scheduler")
    for listed in scheduler.list_schedules()["Schedules"]:
        scheduler.delete_schedule(Name=listed["Name"])


def _schedule(target: Target, role_arn: str, expression: str = "cron(0 3 * * ? *)") -> None:
    target.client("scheduler").create_schedule(
        Name="rails-app-nightly",
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:ecs:ap-northeast-1:123456789012:cluster/rails-app-cluster",
                "RoleArn": role_arn},
    )  # fmt: skip


def test_a_missing_worker_service_and_role_are_problems(emulator: Any) -> None:
    found = _doctor(emulator)
    assert found["process worker"].status == "problem"
    assert "rails-app-worker was not found" in found["process worker"].message
    assert found["scheduler role"].status == "problem"
    assert found["scheduler role"].message == f"the role {ROLE} does not exist"


def test_a_running_worker_and_a_sound_role_are_ok(emulator: Any, scheduler_role: str) -> None:
    ecs = emulator[1].client("ecs")
    ecs.create_service(
        cluster="rails-app-cluster",
        serviceName="rails-app-worker",
        taskDefinition="rails-app-worker",
        desiredCount=0,
    )
    _schedule(emulator[1], scheduler_role)
    found = _doctor(emulator)
    assert found["process worker"].status == "ok", found["process worker"]
    assert found["process worker"].message == "rails-app-worker: running 0 of 0, rails-app-worker:1"
    assert found["scheduler role"].status == "ok", found["scheduler role"]
    assert "trusted by Scheduler, runs rails-app-schedules; 1 schedule(s) use it" in (
        found["scheduler role"].message
    )


def test_a_role_that_cannot_run_the_family_or_is_not_used_is_a_problem(
    emulator: Any, scheduler_role: str
) -> None:
    iam = emulator[1].client("iam")
    other = {
        **RUN_TASKS,
        "Statement": [
            {**RUN_TASKS["Statement"][0], "Resource": "arn:aws:ecs:*:*:task-definition/other:*"}
        ],
    }
    iam.put_role_policy(
        RoleName=ROLE, PolicyName="run-scheduled-tasks", PolicyDocument=json.dumps(other)
    )
    assert "may not run tasks of rails-app-schedules" in _doctor(emulator)["scheduler role"].message
    iam.put_role_policy(
        RoleName=ROLE, PolicyName="run-scheduled-tasks", PolicyDocument=json.dumps(RUN_TASKS)
    )
    _schedule(emulator[1], "arn:aws:iam::123456789012:role/someone-else", "rate(1 hour)")
    role = _doctor(emulator)["scheduler role"]
    assert (
        role.status == "problem"
        and "nightly runs as arn:aws:iam::123456789012:role/someone-else" in role.message
    )
    wrong_trust = {
        **TRUST,
        "Statement": [
            {**TRUST["Statement"][0], "Principal": {"Service": "ecs-tasks.amazonaws.com"}}
        ],
    }
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(wrong_trust))
    role = _doctor(emulator)["scheduler role"]
    assert (
        "does not trust scheduler.amazonaws.com (it trusts ecs-tasks.amazonaws.com)" in role.message
    )
