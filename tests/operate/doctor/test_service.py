"""`hakobu doctor`'s service checks made to fail with botocore's Stubber (the emulator
never runs a task, and no task ever registers a target there): a task that stopped with a
reason and an exit code, tasks a deployment replaced, unhealthy targets, a missing cluster
(what needs the service is skipped), a refused call (that check's problem, the others go on)."""

from __future__ import annotations

from typing import Any

from hakobu.core.config import Environment
from hakobu.operate.doctor import exit_code
from hakobu.ship.rollout import TARGET_REASONS
from tests.support.doctor_aws import (
    CLUSTER,
    NOW,
    PRIVATE,
    SERVICE,
    TASK,
    TD,
    TG,
    run_named,
    signed_in,
    stub_service_lookup,
)
from tests.support.stubbed_aws import StubbedAws

# --- tasks that fail to start (Stubber: the emulator never runs a task) -------------------


def test_a_task_that_exited_is_a_problem_with_its_reason_exit_code_and_last_log_lines(
    env: Environment,
) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    ecs, logs = aws.stub("ecs"), aws.stub("logs")
    ecs.add_response(
        "list_tasks",
        {"taskArns": [TASK]},
        {
            "cluster": CLUSTER,
            "serviceName": SERVICE,
            "desiredStatus": "STOPPED",
            "maxResults": 100,
        },
    )
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "taskDefinitionArn": TD,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "stoppedAt": NOW,
                    "containers": [{"name": "rails-app", "exitCode": 1, "lastStatus": "STOPPED"}],
                }
            ],
            "failures": [],
        },
        {"cluster": CLUSTER, "tasks": [TASK]},
    )
    logs.add_response(
        "get_log_events",
        {
            "events": [
                {"timestamp": 1795000000000, "message": "=> Booting Puma"},
                {
                    "timestamp": 1795000001000,
                    "message": "ActiveSupport::MessageEncryptor::InvalidMessage",
                },
            ],
            "nextForwardToken": "f/1",
        },
        {
            "logGroupName": "/ecs/rails-app",
            "logStreamName": "ecs/rails-app/0f3d2c1b9a8e4d7c",
            "startFromHead": False,
            "limit": 10,
        },
    )

    results = run_named(env, aws, "stopped tasks")

    stopped = results["stopped tasks"]
    assert stopped.status == "problem"
    assert stopped.message == (
        "1 recently stopped task(s) failed; the newest: task 0f3d2c1b9a8e4d7c (rails-app:7) "
        "stopped [EssentialContainerExited]: Essential container in task exited; "
        "rails-app: exit code 1"
    )
    assert stopped.details[1:] == (
        "last log lines of task 0f3d2c1b9a8e4d7c:",
        "  => Booting Puma",
        "  ActiveSupport::MessageEncryptor::InvalidMessage",
    )
    assert stopped.fix == (
        "the app exited with code 1: the log lines say why; `hakobu logs` shows more"
    )
    assert exit_code(results.values()) == 1


def test_a_task_that_could_not_pull_its_image_points_at_the_registry_and_the_routes(
    env: Environment,
) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    ecs = aws.stub("ecs")
    ecs.add_response("list_tasks", {"taskArns": [TASK]}, None)
    reason = (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed "
        "to resolve ref 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app@sha256:"
    )
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "taskDefinitionArn": TD,
                    "stopCode": "TaskFailedToStart",
                    "stoppedReason": reason,
                    "stoppedAt": NOW,
                    "containers": [{"name": "rails-app", "lastStatus": "STOPPED"}],
                }
            ],
        },
        None,
    )
    aws.stub("logs").add_response("get_log_events", {"events": []}, None)

    stopped = run_named(env, aws, "stopped tasks")["stopped tasks"]

    assert stopped.status == "problem"
    assert "[TaskFailedToStart]: CannotPullContainerError" in stopped.message
    assert stopped.fix is not None and stopped.fix.startswith(
        "the image could not be pulled: see registry › service image, and network › routes"
    )
    assert stopped.details[-1] == (
        "task 0f3d2c1b9a8e4d7c wrote no log lines (it stopped before the app started)"
    )


def test_tasks_a_deployment_replaced_are_not_failures(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    ecs = aws.stub("ecs")
    ecs.add_response("list_tasks", {"taskArns": [TASK]}, None)
    replaced = {
        "taskArn": TASK,
        "taskDefinitionArn": TD,
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1234567890)",
        "containers": [{"name": "rails-app", "exitCode": 0}],
    }
    ecs.add_response("describe_tasks", {"tasks": [replaced]}, None)

    stopped = run_named(env, aws, "stopped tasks")["stopped tasks"]

    assert (stopped.status, stopped.message) == (
        "ok",
        "1 task(s) stopped recently, by deployments or scaling; none failed",
    )


# --- unhealthy targets (Stubber: no task ever registers in the emulator) -----------------


def _target(ip: str, state: str, reason: str | None = None) -> dict[str, Any]:
    health: dict[str, Any] = {"State": state}
    if reason:
        health |= {"Reason": reason, "Description": "Health checks failed with these codes: [301]"}
    return {"Target": {"Id": ip, "Port": 3000}, "TargetHealth": health}


def test_unhealthy_targets_are_a_problem_with_their_reason_in_words(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    aws.stub("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                _target("10.0.10.5", "healthy"),
                _target("10.0.11.6", "unhealthy", "Target.ResponseCodeMismatch"),
            ]
        },
        {"TargetGroupArn": TG},
    )

    results = run_named(env, aws, "target health")

    targets = results["target health"]
    assert targets.status == "problem"
    assert targets.message == (
        "1 of 2 target(s) unhealthy; 10.0.11.6:3000: Target.ResponseCodeMismatch (Health "
        "checks failed with these codes: [301])"
    )
    assert targets.fix == TARGET_REASONS["Target.ResponseCodeMismatch"]
    assert targets.details == (
        "target 10.0.10.5:3000 healthy",
        "target 10.0.11.6:3000 unhealthy (Target.ResponseCodeMismatch): Health checks failed "
        f"with these codes: [301] - {TARGET_REASONS['Target.ResponseCodeMismatch']}",
    )
    assert exit_code(results.values()) == 1


def test_healthy_targets_are_ok(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    aws.stub("elbv2").add_response(
        "describe_target_health",
        {"TargetHealthDescriptions": [_target("10.0.10.5", "healthy")]},
        {"TargetGroupArn": TG},
    )

    targets = run_named(env, aws, "target health")["target health"]

    assert (targets.status, targets.message) == ("ok", "1 of 1 target(s) healthy")


# --- the service missing: what needs it is skipped ---------------------------------------


def test_a_missing_cluster_is_a_problem_and_the_checks_that_need_the_service_skip(
    env: Environment,
) -> None:
    aws = StubbedAws()
    signed_in(aws)
    aws.stub("ecs").add_client_error(
        "describe_services",
        service_error_code="ClusterNotFoundException",
        service_message="Cluster not found.",
        http_status_code=400,
    )

    results = run_named(
        env, aws, "service", "stopped tasks", "target health", "routes", "service image"
    )

    service = results["service"]
    assert (service.status, service.message, service.fix) == (
        "problem",
        "the ECS cluster rails-app-cluster does not exist",
        "run hakobu up",
    )
    for name in ("stopped tasks", "target health", "routes", "service image"):
        assert results[name].status == "skipped", name
        assert results[name].message == (
            "no service to look at: the ECS cluster rails-app-cluster does not exist"
        )


def test_a_refused_call_is_that_checks_problem_and_the_others_go_on(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    aws.stub("rds").add_client_error(
        "describe_db_instances",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: rds:DescribeDBInstances",
        http_status_code=403,
    )

    results = run_named(env, aws, "db instance", "engine version")

    for name in ("db instance", "engine version"):  # one call, its refusal shared
        assert results[name].status == "problem"
        assert results[name].message.startswith(
            "your AWS credentials may not do rds:DescribeDBInstances (AccessDenied)"
        )
