"""A deploy of web and a worker together, with botocore's Stubber.

The sandbox runtime could run both, but not make one of two services fail on cue; so these use
Stubber responses shaped like AWS's: web's rollout completes while the worker's is rolled back by
the circuit breaker. The deploy must fail naming the worker, say that web moved, carry the worker's
stopped task and its log lines (from the worker's own log stream), and leave the schedules on the
previous release (no revision registered in the schedule family). A second test has both complete:
the schedule family then gets the new image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from hakobu.ship.deploy import Deployer, DeployError, Release
from tests.conftest import environment_of
from tests.support.stubbed_aws import (
    ACCOUNT,
    CLUSTER,
    IMAGE,
    NOW,
    SERVICE,
    TASK_DEFINITION,
    TG,
    Recorder,
    StubbedAws,
    deployment_entry,
    no_newer_revision,
    service_entry,
    service_response,
)

ARN = f"arn:aws:ecs:ap-northeast-1:{ACCOUNT}:task-definition"
WEB_OLD, WEB_NEW = f"{ARN}/rails-app:4", f"{ARN}/rails-app:5"
WORKER_SERVICE = "rails-app-worker"
WORKER_OLD, WORKER_NEW = f"{ARN}/rails-app-worker:2", f"{ARN}/rails-app-worker:3"
SCHEDULES_OLD, SCHEDULES_NEW = f"{ARN}/rails-app-schedules:1", f"{ARN}/rails-app-schedules:2"
WORKER_TASK = f"arn:aws:ecs:ap-northeast-1:{ACCOUNT}:task/{CLUSTER}/9a8b7c6d"
TAGS = [{"key": "hakobu:image-tag", "value": "0123456789ab"}]
CIRCUIT_BREAKER = "ECS deployment circuit breaker: tasks failed to start."


def worker_service(deployments: list[dict[str, Any]], task_definition: str) -> dict[str, Any]:
    return service_response(
        deployments,
        task_definition,
        serviceName=WORKER_SERVICE,
        serviceArn=f"arn:aws:ecs:::service/{CLUSTER}/{WORKER_SERVICE}",
        loadBalancers=[],
    )


def definition(arn: str, family: str, revision: int, command: list[str] | None) -> dict[str, Any]:
    body = dict(TASK_DEFINITION["taskDefinition"], taskDefinitionArn=arn, family=family)
    body["revision"] = revision
    container = dict(body["containerDefinitions"][0])
    if command:
        container["command"] = command
    body["containerDefinitions"] = [container]
    return {"taskDefinition": body}


def deployer(tmp_path: Path, aws: StubbedAws, events: Recorder, schedules: bool) -> Deployer:
    raw: dict[str, Any] = {
        "app": "rails-app",
        "framework": "rails",
        "deploy": {"release_command": ""},
        "processes": {"worker": {"command": ["bin/jobs"]}},
    }
    if schedules:
        raw["schedules"] = [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}]
    env = environment_of(raw, root=tmp_path)
    release = Release(image=IMAGE, tag="0123456789ab", commit=None)
    return Deployer(env, aws, events, lambda: release)  # type: ignore[arg-type]


def stub_registration(aws: StubbedAws) -> None:
    """Web's and the worker's new revisions, the worker's keeping its own command."""
    ecs = aws.stub("ecs")
    current = [deployment_entry("ecs-svc/1", "PRIMARY", WEB_OLD, "COMPLETED")]
    ecs.add_response(
        "describe_services", service_response(current), {"cluster": CLUSTER, "services": [SERVICE]}
    )
    # Before the image is built: every worker's service exists.
    worker_current = [deployment_entry("ecs-svc/7", "PRIMARY", WORKER_OLD, "COMPLETED")]
    ecs.add_response(
        "describe_services",
        worker_service(worker_current, WORKER_OLD),
        {"cluster": CLUSTER, "services": [WORKER_SERVICE]},
    )
    ecs.add_response(
        "describe_task_definition",
        definition(WEB_OLD, "rails-app", 4, None),
        {"taskDefinition": WEB_OLD},
    )
    aws.stub("sts").add_response(
        "get_caller_identity",
        {
            "UserId": "HAKOBU-TEST-USER-ID",
            "Account": ACCOUNT,
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
        },
    )
    no_newer_revision(ecs)
    ecs.add_response("register_task_definition", definition(WEB_NEW, "rails-app", 5, None), None)
    tagged = {**definition(WEB_NEW, "rails-app", 5, None), "tags": TAGS}
    ecs.add_response(
        "describe_task_definition", tagged, {"taskDefinition": WEB_NEW, "include": ["TAGS"]}
    )
    ecs.add_response(
        "describe_services",
        worker_service(worker_current, WORKER_OLD),
        {"cluster": CLUSTER, "services": [WORKER_SERVICE]},
    )
    ecs.add_response(
        "describe_task_definition",
        definition(WORKER_OLD, "rails-app-worker", 2, ["bin/jobs"]),
        {"taskDefinition": WORKER_OLD},
    )
    no_newer_revision(ecs, "rails-app-worker", 2)
    ecs.add_response(
        "register_task_definition",
        definition(WORKER_NEW, "rails-app-worker", 3, ["bin/jobs"]),
        {
            "family": "rails-app-worker",
            "cpu": "256",
            "memory": "512",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-execution-role",
            # The worker's own command stays; only the image is the release's.
            "containerDefinitions": [
                {
                    "name": "rails-app",
                    "image": IMAGE,
                    "memory": 512,
                    "essential": True,
                    "command": ["bin/jobs"],
                }
            ],
            "tags": TAGS,
        },
    )


def stub_updates(aws: StubbedAws) -> None:
    ecs = aws.stub("ecs")
    rolling = [deployment_entry("ecs-svc/2", "PRIMARY", WEB_NEW, "IN_PROGRESS")]
    ecs.add_response(
        "update_service",
        {"service": service_entry(rolling, WEB_NEW)},
        {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": WEB_NEW},
    )
    worker_rolling = [deployment_entry("ecs-svc/8", "PRIMARY", WORKER_NEW, "IN_PROGRESS")]
    ecs.add_response(
        "update_service",
        {"service": worker_service(worker_rolling, WORKER_NEW)["services"][0]},
        {"cluster": CLUSTER, "service": WORKER_SERVICE, "taskDefinition": WORKER_NEW},
    )


def stub_web_completes(aws: StubbedAws) -> None:
    done = [deployment_entry("ecs-svc/2", "PRIMARY", WEB_NEW, "COMPLETED")]
    aws.stub("ecs").add_response("describe_services", service_response(done, WEB_NEW), None)
    aws.stub("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": "10.0.10.7", "Port": 3000}, "TargetHealth": {"State": "healthy"}}
            ]
        },
        {"TargetGroupArn": TG},
    )


def stub_worker_rolled_back(aws: StubbedAws) -> None:
    ecs = aws.stub("ecs")
    rolled_back = [
        deployment_entry("ecs-svc/7", "PRIMARY", WORKER_OLD, "IN_PROGRESS"),
        deployment_entry("ecs-svc/8", "ACTIVE", WORKER_NEW, "FAILED", CIRCUIT_BREAKER),
    ]
    ecs.add_response(
        "describe_services",
        worker_service(rolled_back, WORKER_OLD),
        {"cluster": CLUSTER, "services": [WORKER_SERVICE]},
    )
    ecs.add_response("list_tasks", {"taskArns": [WORKER_TASK]}, None)
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": WORKER_TASK,
                    "taskDefinitionArn": WORKER_NEW,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "stoppedAt": NOW,
                    "containers": [{"name": "rails-app", "exitCode": 1}],
                }
            ]
        },
        None,
    )
    logs = aws.stub("logs")
    logs.add_response(
        "get_log_events",
        {
            "events": [{"timestamp": 1795000002000, "message": "Redis::CannotConnectError"}],
            "nextForwardToken": "f/2",
        },
        {
            "logGroupName": "/ecs/rails-app",
            "logStreamName": "worker/rails-app/9a8b7c6d",
            "startFromHead": True,
            "limit": ANY,
        },
    )
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"}, None)


def test_worker_rolled_back_while_web_completes_fails_the_deploy_naming_the_worker(
    tmp_path: Path,
) -> None:
    aws, events = StubbedAws(), Recorder()
    stub_registration(aws)
    stub_updates(aws)
    stub_web_completes(aws)
    stub_worker_rolled_back(aws)
    with pytest.raises(DeployError) as caught:
        deployer(tmp_path, aws, events, schedules=True).run()
    aws.verify()  # and nothing registered in the schedule family: the Stubber had no call
    problem = caught.value.problem
    assert problem.startswith(
        "the rollout of worker failed (worker: the rollout of rails-app-worker:3"
    )
    assert CIRCUIT_BREAKER in problem
    assert problem.endswith("web (rails-app:5) completed on the new release")
    assert "schedules still run the previous release" in (caught.value.fix or "")
    assert [line.message for line in caught.value.log_lines] == ["Redis::CannotConnectError"]
    assert caught.value.details == [
        "task 9a8b7c6d (rails-app-worker:3) stopped [EssentialContainerExited]: Essential "
        "container in task exited; rails-app: exit code 1"
    ]
    assert "Rolling out: rails-app-service -> rails-app:5" in events.lines
    assert "Rolling out: rails-app-worker -> rails-app-worker:3" in events.lines


def test_every_rollout_completing_moves_the_schedules_to_the_release(tmp_path: Path) -> None:
    aws, events = StubbedAws(), Recorder()
    stub_registration(aws)
    stub_updates(aws)
    stub_web_completes(aws)
    done = [deployment_entry("ecs-svc/8", "PRIMARY", WORKER_NEW, "COMPLETED")]
    ecs = aws.stub("ecs")
    ecs.add_response("describe_services", worker_service(done, WORKER_NEW), None)
    tagged = {**definition(WEB_NEW, "rails-app", 5, None), "tags": TAGS}
    ecs.add_response(
        "describe_task_definition", tagged, {"taskDefinition": WEB_NEW, "include": ["TAGS"]}
    )
    ecs.add_response(
        "describe_task_definition",
        definition(SCHEDULES_OLD, "rails-app-schedules", 1, None),
        {"taskDefinition": "rails-app-schedules"},
    )
    ecs.add_response(
        "register_task_definition",
        definition(SCHEDULES_NEW, "rails-app-schedules", 2, None),
        {
            "family": "rails-app-schedules",
            "cpu": "256",
            "memory": "512",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-execution-role",
            "containerDefinitions": [
                {"name": "rails-app", "image": IMAGE, "memory": 512, "essential": True}
            ],
            "tags": TAGS,
        },
    )
    result = deployer(tmp_path, aws, events, schedules=True).run()
    aws.verify()
    assert result.rollout is not None and result.rollout.outcome == "COMPLETED"
    assert "Schedules: 1 schedule(s) now run rails-app-schedules:2" in events.lines
