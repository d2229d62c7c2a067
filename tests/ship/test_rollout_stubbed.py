"""Following rollouts and release tasks against botocore Stubber responses.

The sandbox runtime really runs rollouts, rollbacks and release tasks (tested end to end in
tests/integration/test_rollout_sandbox.py); what it cannot be made to show on demand stays
here: throttling, a timeout, Ctrl-C at a given poll, a poll that lands after a deployment
vanished, every target-health reason code. These use botocore's Stubber with responses
shaped exactly like AWS's (the Stubber checks them against the service model) and a fake
clock: they run instantly.
Each stubbed client is strict: the calls must come in the recorded order with the recorded
parameters, and every recorded response must be used (`assert_no_pending_responses`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hakobu.aws.ecs import run_task, service_description, update_service, wait_for_task
from hakobu.aws.logs import task_log_lines
from hakobu.core.errors import HakobuError
from hakobu.ship.rollout import (
    TARGET_REASONS,
    DeploymentLine,
    RolloutUpdate,
    follow_rollout,
)
from tests.support.stubbed_aws import TG, deployment_entry, service_response

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
CLUSTER = "rails-app-cluster"
SERVICE = "rails-app-service"
OLD_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:3"
NEW_TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:4"
OLD_ID = "ecs-svc/1111111111111111111"
NEW_ID = "ecs-svc/2222222222222222222"
ROLLBACK_ID = "ecs-svc/3333333333333333333"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
DESCRIBE = {"cluster": CLUSTER, "services": [SERVICE]}
HEALTH = {"TargetGroupArn": TG}
REQUIRED_REASONS = (
    "Target.ResponseCodeMismatch",
    "Target.Timeout",
    "Target.FailedHealthChecks",
    "Target.DeregistrationInProgress",
    "Elb.InitialHealthChecking",
    "Target.NotRegistered",
    "Target.NotInUse",
    "Target.InvalidState",
    "Target.IpUnusable",
    "Elb.RegistrationInProgress",
    "Elb.InternalError",
    "Target.HealthCheckDisabled",
)


# --- fakes and AWS-shaped responses -----------------------------------------------------


class FakeTime:
    """`clock` and `sleep` for the code under test: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Interrupting(FakeTime):
    """Ctrl-C pressed during the n-th sleep."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) == self.at:
            raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def _no_aws_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


def _client(service: str) -> Any:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service)


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    client = _client("ecs")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    client = _client("elbv2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def deployment(
    id: str,
    status: str,
    task_definition: str,
    state: str,
    *,
    desired: int = 2,
    pending: int = 0,
    running: int = 0,
    failed: int = 0,
    reason: str | None = None,
    at: int = 0,
) -> dict[str, Any]:
    default_reason = {
        "IN_PROGRESS": f"ECS deployment {id} in progress.",
        "COMPLETED": f"ECS deployment {id} completed.",
        "FAILED": "ECS deployment circuit breaker: tasks failed to start.",
    }[state]
    at_time = T0 + timedelta(seconds=at)
    return deployment_entry(
        id, status, task_definition, state, reason or default_reason, desiredCount=desired,
        pendingCount=pending, runningCount=running, failedTasks=failed, createdAt=at_time,
        updatedAt=at_time, launchType="FARGATE", platformVersion="1.4.0",
        platformFamily="Linux", networkConfiguration=NETWORK,
    )  # fmt: skip


NETWORK = {
    "awsvpcConfiguration": {
        "subnets": ["subnet-0a1", "subnet-0c2"],
        "securityGroups": ["sg-0ecs"],
        "assignPublicIp": "DISABLED",
    }
}


def event(id: str, seconds: int, message: str) -> dict[str, Any]:
    return {"id": id, "createdAt": T0 + timedelta(seconds=seconds), "message": message}


def described(
    deployments: list[dict[str, Any]], events: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    """A describe_services response; `events` oldest first (AWS lists them newest first);
    `fields` replace top-level keys of the service."""
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    return service_response(
        deployments,
        primary["taskDefinition"],
        serviceArn=SERVICE_ARN,
        clusterArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        desiredCount=2,
        runningCount=sum(d["runningCount"] for d in deployments),
        pendingCount=sum(d["pendingCount"] for d in deployments),
        launchType="FARGATE",
        platformVersion="LATEST",
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        events=list(reversed(events)),
        createdAt=T0 - timedelta(days=3),
        networkConfiguration=NETWORK,
        healthCheckGracePeriodSeconds=60,
        schedulingStrategy="REPLICA",
        deploymentController={"type": "ECS"},
        enableExecuteCommand=True,
        **fields,
    )


def target(ip: str, state: str, reason: str | None = None, description: str | None = None):
    health: dict[str, str] = {"State": state}
    if reason:
        health["Reason"] = reason
    if description:
        health["Description"] = description
    return {
        "Target": {"Id": ip, "Port": 3000, "AvailabilityZone": "ap-northeast-1a"},
        "HealthCheckPort": "3000",
        "TargetHealth": health,
    }


def health(*targets: dict[str, Any]) -> dict[str, Any]:
    return {"TargetHealthDescriptions": list(targets)}


def poll(ecs_stub: Stubber, elb_stub: Stubber, service: dict, targets: dict) -> None:
    ecs_stub.add_response("describe_services", service, DESCRIBE)
    elb_stub.add_response("describe_target_health", targets, HEALTH)


OLD_EVENT = event("e0", -3600, f"(service {SERVICE}) has reached a steady state.")
STARTED = event("e1", 3, f"(service {SERVICE}) has started 2 tasks: (task aaa) (task bbb).")
REGISTERED = event("e2", 40, f"(service {SERVICE}) registered 2 targets in (target-group {TG})")
DRAINED = event(
    "e3", 90, f"(service {SERVICE}) has stopped 2 running tasks: (task ccc) (task ddd)."
)
STEADY = event("e4", 120, f"(service {SERVICE}) has reached a steady state.")
DONE = event("e5", 125, f"(service {SERVICE}) (deployment {NEW_ID}) deployment completed.")


def _follow(ecs_client: Any, elb_client: Any, fake: FakeTime, timeout: float = 600, **kw: Any):
    updates: list[RolloutUpdate] = []
    result = follow_rollout(
        ecs_client,
        elb_client,
        CLUSTER,
        SERVICE,
        NEW_TD,
        timeout=timeout,
        on_update=updates.append,
        sleep=fake.sleep,
        clock=fake.clock,
        **kw,
    )
    return result, updates


def _deployment_lines(updates: list[RolloutUpdate]) -> list[tuple]:
    return [
        (d.id, d.status, d.task_definition, d.rollout_state, d.desired, d.pending, d.running)
        for u in updates
        for d in u.deployments
    ]


# --- rollouts ---------------------------------------------------------------------------


def test_rollout_completes_only_when_our_deployment_is_primary_and_completed(ecs, elbv2) -> None:
    """botocore Stubber: a rollout that completes; each event and line is emitted once."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    old_done = deployment(OLD_ID, "ACTIVE", OLD_TD, "COMPLETED", running=2, at=-86400)
    old_healthy = [target("10.0.10.11", "healthy"), target("10.0.11.12", "healthy")]
    # 1: new tasks are starting.
    poll(
        ecs_stub,
        elb_stub,
        described(
            [deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2), old_done],
            [OLD_EVENT, STARTED],
        ),
        health(*old_healthy),
    )
    # 2: they run and are registered; the load balancer checks them.
    running = deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", running=2)
    checking = [
        target(
            "10.0.10.21",
            "initial",
            "Elb.InitialHealthChecking",
            "Initial health checks in progress",
        ),
        target(
            "10.0.11.22",
            "initial",
            "Elb.InitialHealthChecking",
            "Initial health checks in progress",
        ),
    ]
    poll(
        ecs_stub,
        elb_stub,
        described([running, old_done], [OLD_EVENT, STARTED, REGISTERED]),
        health(*old_healthy, *checking),
    )
    # 3: nothing changed: nothing is emitted.
    poll(
        ecs_stub,
        elb_stub,
        described([running, old_done], [OLD_EVENT, STARTED, REGISTERED]),
        health(*old_healthy, *checking),
    )
    # 4: the new targets are healthy, the old tasks drain.
    new_healthy = [target("10.0.10.21", "healthy"), target("10.0.11.22", "healthy")]
    draining = [
        target(
            "10.0.10.11",
            "draining",
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        ),
        target(
            "10.0.11.12",
            "draining",
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        ),
    ]
    old_scaled_down = deployment(OLD_ID, "ACTIVE", OLD_TD, "COMPLETED", desired=0, at=-86400)
    poll(
        ecs_stub,
        elb_stub,
        described([running, old_scaled_down], [OLD_EVENT, STARTED, REGISTERED, DRAINED]),
        health(*new_healthy, *draining),
    )
    # 5: the counts say "done" and the service is steady (the stable waiter would succeed
    # here), but the rollout state is still IN_PROGRESS: keep waiting.
    poll(
        ecs_stub,
        elb_stub,
        described([running], [OLD_EVENT, STARTED, REGISTERED, DRAINED, STEADY]),
        health(*new_healthy),
    )
    # 6: ECS says COMPLETED.
    completed = deployment(NEW_ID, "PRIMARY", NEW_TD, "COMPLETED", running=2)
    poll(
        ecs_stub,
        elb_stub,
        described([completed], [OLD_EVENT, STARTED, REGISTERED, DRAINED, STEADY, DONE]),
        health(*new_healthy),
    )
    fake = FakeTime()

    result, updates = _follow(ecs_client, elb_client, fake)

    assert result.outcome == "COMPLETED" and result.succeeded
    assert result.reason == f"ECS deployment {NEW_ID} completed."
    assert result.stopped_tasks == []
    # Every event since the start, once, oldest first; the steady state of yesterday is not.
    messages = [STARTED, REGISTERED, DRAINED, STEADY, DONE]
    assert result.events == [e["message"] for e in messages]
    assert [e.message for u in updates for e in u.events] == result.events
    assert _deployment_lines(updates) == [
        (NEW_ID, "PRIMARY", "rails-app:4", "IN_PROGRESS", 2, 2, 0),
        (OLD_ID, "ACTIVE", "rails-app:3", "COMPLETED", 2, 0, 2),
        (NEW_ID, "PRIMARY", "rails-app:4", "IN_PROGRESS", 2, 0, 2),
        (OLD_ID, "ACTIVE", "rails-app:3", "COMPLETED", 0, 0, 0),
        (NEW_ID, "PRIMARY", "rails-app:4", "COMPLETED", 2, 0, 2),
    ]
    assert [d.ours for u in updates for d in u.deployments] == [True, False, True, False, True]
    assert [(t.target, t.state, t.reason) for u in updates for t in u.targets] == [
        ("10.0.10.11:3000", "healthy", None),
        ("10.0.11.12:3000", "healthy", None),
        ("10.0.10.21:3000", "initial", "Elb.InitialHealthChecking"),
        ("10.0.11.22:3000", "initial", "Elb.InitialHealthChecking"),
        ("10.0.10.21:3000", "healthy", None),
        ("10.0.11.22:3000", "healthy", None),
        ("10.0.10.11:3000", "draining", "Target.DeregistrationInProgress"),
        ("10.0.11.12:3000", "draining", "Target.DeregistrationInProgress"),
    ]
    assert len(updates) == 5  # poll 3 changed nothing
    assert all(updates)
    assert fake.sleeps == [5, 5, 5, 5, 5]
    assert result.elapsed == 25
    assert updates[0].lines()[0] == f"12:00:03 {STARTED['message']}"
    assert updates[0].lines()[1] == "PRIMARY rails-app:4 desired 2 pending 2 running 0 IN_PROGRESS"


def test_circuit_breaker_rollback_is_a_failure_with_reasons_and_exit_codes(ecs, elbv2) -> None:
    """botocore Stubber: the circuit breaker fails the rollout and puts the old TD back."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    old_done = deployment(OLD_ID, "ACTIVE", OLD_TD, "COMPLETED", running=2, at=-86400)
    old_healthy = [target("10.0.10.11", "healthy"), target("10.0.11.12", "healthy")]
    poll(
        ecs_stub,
        elb_stub,
        described(
            [deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2), old_done],
            [OLD_EVENT, STARTED],
        ),
        health(*old_healthy),
    )
    unhealthy = event(
        "e2",
        70,
        f"(service {SERVICE}) (port 3000) is unhealthy in (target-group {TG}) due to "
        "(reason Health checks failed with these codes: [301]).",
    )
    poll(
        ecs_stub,
        elb_stub,
        described(
            [deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", running=2, failed=2), old_done],
            [OLD_EVENT, STARTED, unhealthy],
        ),
        health(
            *old_healthy,
            target(
                "10.0.10.21",
                "unhealthy",
                "Target.ResponseCodeMismatch",
                "Health checks failed with these codes: [301]",
            ),
        ),
    )
    failed_event = event(
        "e3",
        300,
        f"(service {SERVICE}) (deployment {NEW_ID}) deployment failed: tasks failed to start.",
    )
    rolling_back = event("e4", 301, f"(service {SERVICE}) rolling back to deployment {OLD_ID}.")
    poll(
        ecs_stub,
        elb_stub,
        described(
            [
                deployment(ROLLBACK_ID, "PRIMARY", OLD_TD, "IN_PROGRESS", running=2, at=301),
                deployment(NEW_ID, "ACTIVE", NEW_TD, "FAILED", desired=0, failed=4),
            ],
            [OLD_EVENT, STARTED, unhealthy, failed_event, rolling_back],
        ),
        health(*old_healthy),
    )
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}"
    ecs_stub.add_response(
        "list_tasks",
        {"taskArns": [f"{task}/t1", f"{task}/t2", f"{task}/t0"]},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED", "maxResults": 100},
    )
    ecs_stub.add_response(
        "describe_tasks",
        {
            "tasks": [
                _stopped(
                    f"{task}/t1",
                    NEW_TD,
                    at=200,
                    reason=f"Task failed ELB health checks in (target-group {TG})",
                    code="ServiceSchedulerInitiated",
                    exit_code=137,
                ),
                _stopped(
                    f"{task}/t2",
                    NEW_TD,
                    at=250,
                    reason="Essential container in task exited",
                    code="EssentialContainerExited",
                    exit_code=1,
                ),
                _stopped(
                    f"{task}/t0",
                    OLD_TD,
                    at=-7200,
                    reason=f"Scaling activity initiated by (deployment {OLD_ID})",
                    code="ServiceSchedulerInitiated",
                    exit_code=0,
                ),
            ],
            "failures": [],
        },
        {"cluster": CLUSTER, "tasks": [f"{task}/t1", f"{task}/t2", f"{task}/t0"]},
    )
    fake = FakeTime()

    result, updates = _follow(ecs_client, elb_client, fake)

    assert result.outcome == "FAILED" and not result.succeeded
    assert result.reason == (
        "ECS deployment circuit breaker: tasks failed to start. "
        "(the service is back on rails-app:3)"
    )
    assert result.events == [
        STARTED["message"],
        unhealthy["message"],
        failed_event["message"],
        rolling_back["message"],
    ]
    # Newest first, only tasks of our revision.
    assert [
        (s.task_arn.rsplit("/", 1)[-1], s.task_definition, s.stop_code, s.stopped_reason)
        for s in result.stopped_tasks
    ] == [
        ("t2", "rails-app:4", "EssentialContainerExited", "Essential container in task exited"),
        (
            "t1",
            "rails-app:4",
            "ServiceSchedulerInitiated",
            f"Task failed ELB health checks in (target-group {TG})",
        ),
    ]
    assert [c.exit_code for s in result.stopped_tasks for c in s.containers] == [1, 137]
    assert result.stopped_tasks[0].text() == (
        "task t2 (rails-app:4) stopped [EssentialContainerExited]: "
        "Essential container in task exited; rails-app: exit code 1"
    )
    mismatch = next(t for u in updates for t in u.targets if t.state == "unhealthy")
    assert "health_check_path" in mismatch.text() and "[301]" in mismatch.text()
    assert _deployment_lines(updates)[-2:] == [
        (ROLLBACK_ID, "PRIMARY", "rails-app:3", "IN_PROGRESS", 2, 0, 2),
        (NEW_ID, "ACTIVE", "rails-app:4", "FAILED", 0, 0, 0),
    ]
    assert fake.sleeps == [5, 5]


def _stopped(arn: str, td: str, *, at: int, reason: str, code: str, exit_code: int) -> dict:
    return {
        "taskArn": arn,
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "taskDefinitionArn": td,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "launchType": "FARGATE",
        "group": f"service:{SERVICE}",
        "startedBy": NEW_ID,
        "createdAt": T0 + timedelta(seconds=at - 60),
        "stoppedAt": T0 + timedelta(seconds=at),
        "stopCode": code,
        "stoppedReason": reason,
        "containers": [
            {
                "containerArn": f"{arn}/container",
                "taskArn": arn,
                "name": "rails-app",
                "lastStatus": "STOPPED",
                "exitCode": exit_code,
            }
        ],
    }


def test_our_revision_no_longer_primary_is_a_failure(ecs, elbv2) -> None:
    """botocore Stubber: our deployment vanished and the old TD is PRIMARY again."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    poll(
        ecs_stub,
        elb_stub,
        described([deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2)], [STARTED]),
        health(),
    )
    poll(
        ecs_stub,
        elb_stub,
        described([deployment(ROLLBACK_ID, "PRIMARY", OLD_TD, "COMPLETED", running=2)], [STARTED]),
        health(),
    )
    ecs_stub.add_response(
        "list_tasks",
        {"taskArns": []},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED", "maxResults": 100},
    )

    result, _ = _follow(ecs_client, elb_client, FakeTime())

    assert result.outcome == "FAILED"
    assert result.reason == (
        "rails-app:4 is no longer the service's primary deployment, rails-app:3 is: "
        "the rollout was rolled back or replaced by another deploy"
    )
    assert result.stopped_tasks == []


def test_a_failed_deployment_gone_by_the_next_poll_is_named_from_its_event(ecs, elbv2) -> None:
    """botocore Stubber: between two polls the circuit breaker failed our deployment and
    the rollback completed, so ECS no longer lists it (found by the sandbox runtime, which
    does the same in seconds); the reason comes from the event ECS wrote."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    failed = event(
        "e6",
        30,
        f"(service {SERVICE}) (deployment {NEW_ID}) deployment failed: tasks failed to start.",
    )
    poll(
        ecs_stub,
        elb_stub,
        described([deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2)], [STARTED]),
        health(),
    )
    poll(
        ecs_stub,
        elb_stub,
        described(
            [deployment(ROLLBACK_ID, "PRIMARY", OLD_TD, "COMPLETED", running=2)], [STARTED, failed]
        ),
        health(),
    )
    ecs_stub.add_response(
        "list_tasks",
        {"taskArns": []},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED", "maxResults": 100},
    )

    result, _ = _follow(ecs_client, elb_client, FakeTime())

    assert result.outcome == "FAILED"
    assert result.reason == (
        "ECS deployment circuit breaker: tasks failed to start. "
        "(the service is back on rails-app:3)"
    )


def test_throttling_is_retried_with_backoff_and_the_rollout_still_completes(ecs, elbv2) -> None:
    """botocore Stubber: ThrottlingException, Throttling and TooManyRequestsException mid-way."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    in_progress = described([deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2)], [])
    poll(ecs_stub, elb_stub, in_progress, health())
    ecs_stub.add_client_error(
        "describe_services", "ThrottlingException", "Rate exceeded", 400, expected_params=DESCRIBE
    )
    ecs_stub.add_client_error(
        "describe_services",
        "TooManyRequestsException",
        "Too many requests",
        429,
        expected_params=DESCRIBE,
    )
    ecs_stub.add_response("describe_services", in_progress, DESCRIBE)
    elb_stub.add_client_error(
        "describe_target_health", "Throttling", "Rate exceeded", 400, expected_params=HEALTH
    )
    elb_stub.add_response("describe_target_health", health(), HEALTH)
    poll(
        ecs_stub,
        elb_stub,
        described([deployment(NEW_ID, "PRIMARY", NEW_TD, "COMPLETED", running=2)], []),
        health(),
    )
    fake = FakeTime()

    result, _ = _follow(ecs_client, elb_client, fake)

    assert result.outcome == "COMPLETED"
    # poll, throttled twice (1 s, then 2 s), throttled once (1 s), poll, done.
    assert fake.sleeps == [5, 1, 2, 1, 5]


def test_throttled_until_the_timeout_is_a_timeout_not_a_crash(ecs, elbv2) -> None:
    """botocore Stubber: AWS throttles every call until the deadline."""
    (ecs_client, ecs_stub), (elb_client, _) = ecs, elbv2
    for _ in range(3):  # waits 1 + 2 s, then a 4 s wait would pass the 5 s timeout
        ecs_stub.add_client_error(
            "describe_services",
            "ThrottlingException",
            "Rate exceeded",
            400,
            expected_params=DESCRIBE,
        )
    fake = FakeTime()

    result, updates = _follow(ecs_client, elb_client, fake, timeout=5)

    assert result.outcome == "TIMEOUT"
    assert "throttling" in (result.reason or "")
    assert fake.sleeps == [1, 2] and updates == []


def test_ctrl_c_during_the_wait_detaches(ecs, elbv2) -> None:
    """botocore Stubber: KeyboardInterrupt in sleep ends the wait; the rollout goes on."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    in_progress = described(
        [deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2)], [STARTED]
    )
    poll(ecs_stub, elb_stub, in_progress, health())
    poll(ecs_stub, elb_stub, in_progress, health())
    fake = Interrupting(at=2)

    result, updates = _follow(ecs_client, elb_client, fake)

    assert result.outcome == "DETACHED"
    assert "continues on AWS" in (result.reason or "")
    assert result.events == [STARTED["message"]]
    assert result.elapsed == 10
    assert len(updates) == 1


def test_timeout(ecs, elbv2) -> None:
    """botocore Stubber: a rollout that never finishes ends with TIMEOUT at the deadline."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    in_progress = described(
        [deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=2)], [STARTED]
    )
    for _ in range(4):  # at 0, 5, 10 and 12 s
        poll(ecs_stub, elb_stub, in_progress, health())
    fake = FakeTime()

    result, updates = _follow(ecs_client, elb_client, fake, timeout=12)

    assert result.outcome == "TIMEOUT"
    assert "12 s" in (result.reason or "")
    assert fake.sleeps == [5, 5, 2]
    assert result.elapsed == 12
    assert len(updates) == 1


def test_every_target_health_reason_is_explained_in_words(ecs, elbv2) -> None:
    """botocore Stubber: one target per ELB reason code, each line explains its code."""
    (ecs_client, ecs_stub), (elb_client, elb_stub) = ecs, elbv2
    assert set(REQUIRED_REASONS) <= set(TARGET_REASONS)
    states = {
        "Elb.RegistrationInProgress": ("initial", "Target registration is in progress"),
        "Elb.InitialHealthChecking": ("initial", "Initial health checks in progress"),
        "Target.ResponseCodeMismatch": (
            "unhealthy",
            "Health checks failed with these codes: [302]",
        ),
        "Target.Timeout": ("unhealthy", "Request timed out"),
        "Target.FailedHealthChecks": ("unhealthy", "Health checks failed"),
        "Elb.InternalError": ("unhealthy", "Health checks failed due to an internal error"),
        "Target.NotRegistered": ("unused", "Target is not registered to the target group"),
        "Target.NotInUse": (
            "unused",
            "Target group is not configured to receive traffic from the load balancer",
        ),
        "Target.InvalidState": ("unused", "Target is in the stopped state"),
        "Target.IpUnusable": ("unused", "The IP address is in use by a load balancer"),
        "Target.DeregistrationInProgress": ("draining", "Target deregistration is in progress"),
        "Target.HealthCheckDisabled": ("unavailable", "Health checks disabled"),
    }
    targets = [
        target(f"10.0.10.{i}", state, reason, text)
        for i, (reason, (state, text)) in enumerate(states.items(), start=10)
    ]
    poll(
        ecs_stub,
        elb_stub,
        described([deployment(NEW_ID, "PRIMARY", NEW_TD, "COMPLETED", running=2)], []),
        health(*targets),
    )

    result, updates = _follow(ecs_client, elb_client, FakeTime())

    assert result.outcome == "COMPLETED"
    lines = {t.reason: t for u in updates for t in u.targets}
    assert set(lines) == set(REQUIRED_REASONS)
    for reason, line in lines.items():
        assert line.explanation == TARGET_REASONS[reason]
        assert line.text().endswith(f" - {TARGET_REASONS[reason]}")
        assert f"({reason}): {states[reason][1]}" in line.text()
    assert "force_ssl" in lines["Target.ResponseCodeMismatch"].text()
    assert "security group" in lines["Target.Timeout"].text()
    assert lines["Target.Timeout"].text().startswith("target 10.0.10.13:3000 unhealthy ")


def test_deployment_line_text() -> None:
    line = DeploymentLine(NEW_ID, "ACTIVE", "FAILED", "x", "rails-app:4", 0, 0, 0, True)
    assert line.text() == "ACTIVE  rails-app:4 desired 0 pending 0 running 0 FAILED"


# --- release tasks ----------------------------------------------------------------------

TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _task(status: str, **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{CLUSTER}/c0",
        "taskArn": TASK,
        "name": "rails-app",
        "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app:4f2c9e1",
        "lastStatus": status,
    }
    container.update(extra.pop("container", {}))
    return {
        "tasks": [
            {
                "taskArn": TASK,
                "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
                "taskDefinitionArn": NEW_TD,
                "lastStatus": status,
                "desiredStatus": "STOPPED" if status == "STOPPED" else "RUNNING",
                "launchType": "FARGATE",
                "startedBy": "hakobu-release",
                "overrides": {
                    "containerOverrides": [
                        {"name": "rails-app", "command": ["bin/rails", "db:migrate"]}
                    ]
                },
                "containers": [container],
                **extra,
            }
        ],
        "failures": [],
    }


def _describe_task(stub: Stubber, response: dict[str, Any]) -> None:
    stub.add_response("describe_tasks", response, {"cluster": CLUSTER, "tasks": [TASK]})


def test_release_task_that_exits_1(ecs) -> None:
    """botocore Stubber: the migration task exits 1; its exit code and reason come back."""
    client, stub = ecs
    for status in ("PROVISIONING", "PENDING", "RUNNING", "RUNNING"):
        _describe_task(stub, _task(status))
    _describe_task(
        stub,
        _task(
            "STOPPED",
            stopCode="EssentialContainerExited",
            stoppedReason="Essential container in task exited",
            stoppedAt=T0,
            container={"exitCode": 1},
        ),
    )
    fake, statuses = FakeTime(), []

    outcome = wait_for_task(
        client, CLUSTER, TASK, on_status=statuses.append, sleep=fake.sleep, clock=fake.clock
    )

    assert statuses == ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]
    assert outcome.last_status == "STOPPED"
    assert outcome.exit_code == 1 and not outcome.succeeded
    assert outcome.stopped_reason == "Essential container in task exited"
    assert outcome.stop_code == "EssentialContainerExited"
    assert outcome.container_reason is None
    assert fake.sleeps == [3, 3, 3, 3]


def test_release_task_that_cannot_pull_its_image(ecs) -> None:
    """botocore Stubber: CannotPullContainerError: the task stops without an exit code."""
    client, stub = ecs
    pull = (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
        f"resolve ref {ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app:4f2c9e1: not found"
    )
    _describe_task(stub, _task("PENDING"))
    _describe_task(
        stub,
        _task(
            "STOPPED",
            stopCode="TaskFailedToStart",
            stoppedReason=pull,
            container={"reason": pull},
        ),
    )
    fake = FakeTime()

    outcome = wait_for_task(client, CLUSTER, TASK, sleep=fake.sleep, clock=fake.clock)

    assert outcome.exit_code is None and not outcome.succeeded
    assert outcome.stop_code == "TaskFailedToStart"
    assert outcome.stopped_reason == pull
    assert outcome.container_reason == pull


def test_release_task_still_running_at_the_timeout(ecs) -> None:
    """botocore Stubber: wait_for_task gives up with the stop-task command to run."""
    client, stub = ecs
    for _ in range(3):
        _describe_task(stub, _task("RUNNING"))
    fake = FakeTime()

    with pytest.raises(HakobuError) as raised:
        wait_for_task(client, CLUSTER, TASK, timeout=6, sleep=fake.sleep, clock=fake.clock)

    assert "did not stop within 6 s" in str(raised.value)
    assert "aws ecs stop-task" in (raised.value.fix or "")


def test_run_task_lists_failures(ecs) -> None:
    """botocore Stubber: RunTask answers with failures and no task."""
    client, stub = ecs
    request = {"cluster": CLUSTER, "taskDefinition": NEW_TD, "launchType": "FARGATE"}
    stub.add_response(
        "run_task",
        {
            "tasks": [],
            "failures": [
                {"arn": NEW_TD, "reason": "RESOURCE:ENI", "detail": "no free IP in subnet-0a1"}
            ],
        },
        request,
    )
    with pytest.raises(HakobuError) as raised:
        run_task(client, request)
    assert "RESOURCE:ENI no free IP in subnet-0a1" in str(raised.value)


def test_update_service_returns_the_new_primary_deployment(ecs) -> None:
    """botocore Stubber: UpdateService answers with the new PRIMARY and the old ACTIVE."""
    client, stub = ecs
    answer = described(
        [
            deployment(NEW_ID, "PRIMARY", NEW_TD, "IN_PROGRESS", pending=0),
            deployment(OLD_ID, "ACTIVE", OLD_TD, "COMPLETED", running=2),
        ],
        [],
    )["services"][0]
    stub.add_response(
        "update_service",
        {"service": answer},
        {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": NEW_TD},
    )
    assert update_service(client, CLUSTER, SERVICE, NEW_TD) == NEW_ID


def test_missing_and_deleted_services_say_run_hakobu_up(ecs) -> None:
    """botocore Stubber: DescribeServices with a MISSING failure, then an INACTIVE service."""
    client, stub = ecs
    stub.add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": SERVICE_ARN, "reason": "MISSING"}]},
        DESCRIBE,
    )
    inactive = described(
        [deployment(OLD_ID, "PRIMARY", OLD_TD, "COMPLETED")], [], status="INACTIVE"
    )
    stub.add_response("describe_services", inactive, DESCRIBE)
    stub.add_client_error(
        "describe_services",
        "ClusterNotFoundException",
        "Cluster not found.",
        400,
        expected_params=DESCRIBE,
    )
    for expected in ("(MISSING)", "(INACTIVE)", "cluster rails-app-cluster does not exist"):
        with pytest.raises(HakobuError) as raised:
            service_description(client, CLUSTER, SERVICE)
        assert expected in str(raised.value)
        assert raised.value.fix == "run hakobu up"


# --- logs -------------------------------------------------------------------------------


def test_task_log_lines_pages_forward_and_a_missing_stream_is_empty() -> None:
    """botocore Stubber: GetLogEvents pages until the token repeats; a missing stream is []."""
    logs = _client("logs")
    stream = "ecs/rails-app/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    base = {"logGroupName": "/ecs/rails-app", "logStreamName": stream, "startFromHead": True}
    ms = int(T0.timestamp() * 1000)
    with Stubber(logs) as stub:
        stub.add_response(
            "get_log_events",
            {
                "events": [
                    {
                        "timestamp": ms,
                        "message": "== 20250301 CreateUsers: migrating\n",
                        "ingestionTime": ms,
                    },
                    {
                        "timestamp": ms + 1000,
                        "message": "-- create_table(:users)",
                        "ingestionTime": ms,
                    },
                ],
                "nextForwardToken": "f/1",
                "nextBackwardToken": "b/0",
            },
            {**base, "limit": 100},
        )
        stub.add_response(
            "get_log_events",
            {
                "events": [
                    {"timestamp": ms + 2000, "message": "rake aborted!", "ingestionTime": ms}
                ],
                "nextForwardToken": "f/2",
                "nextBackwardToken": "b/1",
            },
            {**base, "limit": 98, "nextToken": "f/1"},
        )
        stub.add_response(
            "get_log_events",
            {"events": [], "nextForwardToken": "f/2", "nextBackwardToken": "b/2"},
            {**base, "limit": 97, "nextToken": "f/2"},
        )
        stub.add_client_error(
            "get_log_events",
            "ResourceNotFoundException",
            "The specified log stream does not exist.",
            400,
            expected_params={**base, "logStreamName": "ecs/rails-app/none", "limit": 100},
        )

        lines = task_log_lines(logs, "/ecs/rails-app", stream, limit=100)
        missing = task_log_lines(logs, "/ecs/rails-app", "ecs/rails-app/none", limit=100)
        stub.assert_no_pending_responses()

    assert [line.message for line in lines] == [
        "== 20250301 CreateUsers: migrating",
        "-- create_table(:users)",
        "rake aborted!",
    ]
    assert lines[0].timestamp == T0 and lines[2].timestamp == T0 + timedelta(seconds=2)
    assert {line.stream for line in lines} == {stream}
    assert missing == []
