"""`hakobu iam policy` for an app with workers and schedules: deploy and operate may move
and scale every worker's service, register revisions in every family a deploy or rollback
touches (web's, each worker's, the schedules'), run the scheduled task, and read the
schedules; an app without them keeps exactly the policy it had. (The ARNs are matched
against the sandbox stack's real ones in tests/integration/processes_stack.py.)"""

from __future__ import annotations

from typing import Any

from hakobu.provision.iam_policies import Scope, policy
from tests.conftest import environment_of

SCOPE = Scope("aws", "ap-northeast-1", "123456789012")
ECS = "arn:aws:ecs:ap-northeast-1:123456789012"
RAW = {
    "app": "rails-app",
    "framework": "rails",
    "processes": {"worker": {"command": ["bin/jobs"]}, "mailer": {"command": ["bin/mail"]}},
    "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}],
}


def _statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    [found] = [s for s in document["Statement"] if s["Sid"] == sid]
    return found


def test_deploy_covers_every_service_and_family() -> None:
    document = policy(environment_of(RAW), "deploy", SCOPE)
    services = _statement(document, "DescribeAndUpdateService")["Resource"]
    assert services == [
        f"{ECS}:service/rails-app-cluster/rails-app-service",
        f"{ECS}:service/rails-app-cluster/rails-app-worker",
        f"{ECS}:service/rails-app-cluster/rails-app-mailer",
    ]
    families = [
        f"{ECS}:task-definition/rails-app:*",
        f"{ECS}:task-definition/rails-app-worker:*",
        f"{ECS}:task-definition/rails-app-mailer:*",
        f"{ECS}:task-definition/rails-app-schedules:*",
    ]
    for sid in ("RegisterRevisionsOfFamily", "TagNewRevisions", "RunOneOffTasksInCluster"):
        assert _statement(document, sid)["Resource"] == families, sid


def test_operate_scales_every_worker_and_reads_the_schedules() -> None:
    document = policy(environment_of(RAW), "operate", SCOPE)
    assert len(_statement(document, "DescribeAndScaleService")["Resource"]) == 3
    reads = _statement(document, "ReadSchedules")
    assert reads["Action"] == ["scheduler:GetSchedule"]
    assert reads["Resource"] == [
        "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/rails-app-nightly"
    ]
    role = _statement(document, "ReadSchedulerRole")  # doctor's scheduler role check
    assert role["Action"] == ["iam:GetRole", "iam:GetRolePolicy"]
    assert role["Resource"] == "arn:aws:iam::123456789012:role/rails-app-scheduler-role"


def test_an_app_without_workers_keeps_its_policy() -> None:
    plain = environment_of({"app": "rails-app", "framework": "rails"})
    for kind in ("deploy", "operate"):
        document = policy(plain, kind, SCOPE)  # type: ignore[arg-type]
        assert not [s for s in document["Statement"] if s["Sid"] == "ReadSchedules"]
        sid = "DescribeAndUpdateService" if kind == "deploy" else "DescribeAndScaleService"
        assert _statement(document, sid)["Resource"] == (
            f"{ECS}:service/rails-app-cluster/rails-app-service"
        )
