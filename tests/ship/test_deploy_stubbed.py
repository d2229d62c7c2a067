"""The deploy pipeline end to end with botocore's Stubber: a release task that fails stops
the deploy before the service moves; a rollout that completes; a rollout the circuit
breaker rolls back. Responses are shaped like AWS's own.

The sandbox runtime runs these paths for real (tests/integration/test_rollout_sandbox.py);
these stay because the Stubber pins what the runtime cannot: the exact calls and their
order (update_service never called after a failed release), in milliseconds with a fake
clock, including responses AWS gives that the runtime never does (a release task still
RUNNING at the first poll, lines written before it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.stub import ANY

from hakobu.ship.deploy import Deployer, DeployError, Release
from tests.conftest import environment_of
from tests.support.stubbed_aws import (
    ACCOUNT,
    CLUSTER,
    CURRENT,
    IMAGE,
    NETWORK,
    NEW,
    NOW,
    OLD,
    SERVICE,
    TASK,
    TASK_DEFINITION,
    TG,
    Recorder,
    StubbedAws,
    deployment_entry,
    no_newer_revision,
    service_entry,
    service_response,
)


def _start_of_deploy(aws: StubbedAws, exit_code: int) -> None:
    ecs, logs = aws.stub("ecs"), aws.stub("logs")
    ecs.add_response(
        "describe_services", service_response(CURRENT), {"cluster": CLUSTER, "services": [SERVICE]}
    )
    ecs.add_response("describe_task_definition", TASK_DEFINITION, {"taskDefinition": OLD})
    aws.stub("sts").add_response(
        "get_caller_identity",
        {
            "UserId": "HAKOBU-TEST-USER-ID",
            "Account": ACCOUNT,
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
        },
    )
    no_newer_revision(ecs)
    registered = dict(TASK_DEFINITION["taskDefinition"], taskDefinitionArn=NEW, revision=5)
    ecs.add_response("register_task_definition", {"taskDefinition": registered}, None)
    ecs.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK}], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": NEW,
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "hakobu-release",
            "enableExecuteCommand": False,
            "networkConfiguration": {"awsvpcConfiguration": NETWORK},
            "overrides": {
                "containerOverrides": [
                    {"name": "rails-app", "command": ["bin/rails", "db:migrate"]}
                ]
            },
        },
    )
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "containers": [{"name": "rails-app", "exitCode": exit_code}],
                }
            ],
            "failures": [],
        },
        None,
    )
    logs.add_response(
        "get_log_events",
        {
            "events": [
                {"timestamp": 1795000000000, "message": "== 20261129 CreateUsers: migrating"},
                {
                    "timestamp": 1795000001000,
                    "message": "Mysql2::Error: Table 'users' already exists"
                    if exit_code
                    else "== 20261129 CreateUsers: migrated",
                },
            ],
            "nextForwardToken": "f/1",
        },
        {
            "logGroupName": "/ecs/rails-app",
            "logStreamName": "ecs/rails-app/0f3d2c1b",
            "startFromHead": True,
            "limit": ANY,
        },
    )
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"}, None)


def _deployer(tmp_path: Path, aws: StubbedAws, events: Recorder) -> Deployer:
    env = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    release = Release(image=IMAGE, tag="0123456789ab", commit="0123456789ab" + "c" * 28)
    return Deployer(env, aws, events, lambda: release)  # type: ignore[arg-type]


def test_failed_migration_stops_before_the_service_moves(tmp_path: Path) -> None:
    """botocore Stubber: the release task exits 1; update_service is never called (the
    Stubber would refuse an unexpected call), the error names the exit code and carries
    the task's last log lines."""
    aws, events = StubbedAws(), Recorder()
    _start_of_deploy(aws, exit_code=1)
    _withdraws(aws, NEW)
    with pytest.raises(DeployError) as caught:
        _deployer(tmp_path, aws, events).run()
    aws.verify()
    # The revision that never ran is withdrawn: `rollback` must never pick it.
    assert f"deregistered {NEW.rsplit('/', 1)[-1]}: it never ran" in caught.value.details
    assert "exit code 1" in caught.value.problem
    assert "previous version keeps serving" in caught.value.problem
    assert [line.message for line in caught.value.log_lines][-1] == (
        "Mysql2::Error: Table 'users' already exists"
    )


def _withdraws(aws: StubbedAws, revision: str) -> None:
    aws.stub("ecs").add_response(
        "deregister_task_definition",
        {"taskDefinition": {"taskDefinitionArn": revision, "status": "INACTIVE"}},
        {"taskDefinition": revision},
    )


def test_completed_rollout_is_success(tmp_path: Path) -> None:
    """botocore Stubber: migrations pass, the service moves, and the rollout is judged by
    our revision being PRIMARY with rolloutState COMPLETED."""
    aws, events = StubbedAws(), Recorder()
    _start_of_deploy(aws, exit_code=0)
    ecs, elbv2 = aws.stub("ecs"), aws.stub("elbv2")
    rolling = [
        deployment_entry("ecs-svc/2", "PRIMARY", NEW, "IN_PROGRESS"),
        deployment_entry("ecs-svc/1", "ACTIVE", OLD, "COMPLETED"),
    ]
    ecs.add_response(
        "update_service",
        {"service": service_entry(rolling, NEW)},
        {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": NEW},
    )
    ecs.add_response(
        "describe_services",
        service_response([deployment_entry("ecs-svc/2", "PRIMARY", NEW, "COMPLETED")], NEW),
        None,
    )
    elbv2.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": "10.0.10.7", "Port": 3000},
                    "HealthCheckPort": "3000",
                    "TargetHealth": {"State": "healthy"},
                }
            ]
        },
        {"TargetGroupArn": TG},
    )
    result = _deployer(tmp_path, aws, events).run()
    aws.verify()
    assert result.rollout is not None and result.rollout.outcome == "COMPLETED"
    assert result.task_definition_arn == NEW
    assert "== 20261129 CreateUsers: migrated" in events.lines


def test_rollout_rolled_back_by_the_circuit_breaker_fails_the_deploy(tmp_path: Path) -> None:
    """botocore Stubber: the circuit breaker marks our deployment FAILED and the old
    revision is PRIMARY again; the deploy fails with ECS's reason."""
    aws, events = StubbedAws(), Recorder()
    _start_of_deploy(aws, exit_code=0)
    ecs, elbv2 = aws.stub("ecs"), aws.stub("elbv2")
    rolling = [deployment_entry("ecs-svc/2", "PRIMARY", NEW, "IN_PROGRESS")]
    ecs.add_response("update_service", {"service": service_entry(rolling, NEW)}, None)
    reason = "ECS deployment circuit breaker: tasks failed to start."
    ecs.add_response(
        "describe_services",
        service_response(
            [
                deployment_entry("ecs-svc/1", "PRIMARY", OLD, "IN_PROGRESS"),
                deployment_entry("ecs-svc/2", "ACTIVE", NEW, "FAILED", reason),
            ],
            OLD,
        ),
        None,
    )
    elbv2.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": "10.0.10.9", "Port": 3000},
                    "TargetHealth": {
                        "State": "unhealthy",
                        "Reason": "Target.ResponseCodeMismatch",
                        "Description": "Health checks failed with these codes: [301]",
                    },
                }
            ]
        },
        None,
    )
    ecs.add_response("list_tasks", {"taskArns": [TASK]}, None)
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "taskDefinitionArn": NEW,
                    "lastStatus": "STOPPED",
                    "stopCode": "ServiceSchedulerInitiated",
                    "stoppedReason": "Task failed ELB health checks in (target-group " + TG + ")",
                    "stoppedAt": NOW,
                    "containers": [{"name": "rails-app", "exitCode": 137}],
                }
            ]
        },
        None,
    )
    aws.stub("logs").add_response(
        "get_log_events",
        {
            "events": [{"timestamp": 1795000002000, "message": "Redirecting to https://"}],
            "nextForwardToken": "f/2",
        },
        None,
    )
    aws.stub("logs").add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"}, None)
    with pytest.raises(DeployError) as caught:
        _deployer(tmp_path, aws, events).run()
    aws.verify()
    assert reason in caught.value.problem and "rolled the service back" in caught.value.problem
    assert [line.message for line in caught.value.log_lines] == ["Redirecting to https://"]
    assert caught.value.details == [
        "task 0f3d2c1b (rails-app:5) stopped [ServiceSchedulerInitiated]: Task failed ELB "
        f"health checks in (target-group {TG}); rails-app: exit code 137"
    ]
    assert any("ResponseCodeMismatch" in line for line in events.lines)


def test_release_task_logs_stream_while_it_runs(tmp_path: Path) -> None:
    """botocore Stubber: the task is RUNNING at the first poll; the lines written by then are
    printed before it stops, and the rest after, each once."""
    aws, events = StubbedAws(), Recorder()
    ecs, logs = aws.stub("ecs"), aws.stub("logs")
    ecs.add_response("describe_services", service_response(CURRENT), None)
    ecs.add_response("describe_task_definition", TASK_DEFINITION, None)
    aws.stub("sts").add_response(
        "get_caller_identity",
        {
            "UserId": "HAKOBU-TEST-USER-ID",
            "Account": ACCOUNT,
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
        },
    )
    no_newer_revision(ecs)
    registered = dict(TASK_DEFINITION["taskDefinition"], taskDefinitionArn=NEW, revision=5)
    ecs.add_response("register_task_definition", {"taskDefinition": registered}, None)
    ecs.add_response("run_task", {"tasks": [{"taskArn": TASK}], "failures": []}, None)
    ecs.add_response(
        "describe_tasks",
        {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING", "containers": []}]},
        None,
    )
    first = {"timestamp": 1795000000000, "message": "migrating"}
    second = {"timestamp": 1795000001000, "message": "migrated"}
    logs.add_response("get_log_events", {"events": [first], "nextForwardToken": "f/1"}, None)
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"}, None)
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "containers": [{"name": "rails-app", "exitCode": 1}],
                }
            ]
        },
        None,
    )
    logs.add_response(
        "get_log_events", {"events": [first, second], "nextForwardToken": "f/2"}, None
    )
    logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"}, None)
    _withdraws(aws, NEW)
    deployer = _deployer(tmp_path, aws, events)
    deployer.sleep = lambda seconds: events.lines.append(f"(slept {seconds:g}s)")
    with pytest.raises(DeployError):
        deployer.run()
    aws.verify()
    tail = events.lines[events.lines.index("task running") :]
    assert tail == ["task running", "(slept 3s)", "migrating", "task stopped", "migrated"]
