"""botocore's Stubber behind a Target look-alike, and the ECS responses the Stubber tests
share: the service, its deployments, the task definition, shaped like AWS's own.

`StubbedAws().stub("ecs")` is a strict queue: an extra call fails at once, a missing one
fails `verify()`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from hakobu.ship.rollout import RolloutUpdate

CLUSTER, SERVICE = "rails-app-cluster", "rails-app-service"
ACCOUNT = "123456789012"
TD = f"arn:aws:ecs:ap-northeast-1:{ACCOUNT}:task-definition/rails-app"
OLD, NEW = f"{TD}:4", f"{TD}:5"
TG = f"arn:aws:elasticloadbalancing:ap-northeast-1:{ACCOUNT}:targetgroup/rails-app-tg/0123"
TASK = f"arn:aws:ecs:ap-northeast-1:{ACCOUNT}:task/{CLUSTER}/0f3d2c1b"
IMAGE = f"{ACCOUNT}.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app@sha256:" + "b" * 64
NETWORK = {
    "subnets": ["subnet-0a", "subnet-0c"],
    "securityGroups": ["sg-0ecs"],
    "assignPublicIp": "DISABLED",
}
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class StubbedAws:
    """A Target look-alike whose clients answer from botocore Stubbers."""

    sandbox = False
    runs_tasks = True

    def __init__(self) -> None:
        self.stubbers: dict[str, Stubber] = {}
        self.clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self.clients:
            client = boto3.client(
                name,
                region_name="ap-northeast-1",
                aws_access_key_id="stub",
                aws_secret_access_key="stub",
            )
            self.stubbers[name] = Stubber(client)
            self.stubbers[name].activate()
            self.clients[name] = client
        return self.clients[name]

    def stub(self, name: str) -> Stubber:
        self.client(name)
        return self.stubbers[name]

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


class Recorder:
    """A deploy's events (steps, output lines, rollout updates) as lines of text."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, title: str, detail: str = "") -> None:
        self.lines.append(f"{title}: {detail}")

    def output(self, line: str) -> None:
        self.lines.append(line)

    def rollout(self, update: RolloutUpdate) -> None:
        self.lines.extend(update.lines())


def service_entry(
    deployments: list[dict[str, Any]], task_definition: str = OLD, **fields: Any
) -> dict[str, Any]:
    """The one service as `describe_services` lists it, with these deployments; `fields`
    replace or add top-level keys (`desiredCount=2`, `events=[...]`, ...)."""
    return {
        "serviceName": SERVICE,
        "serviceArn": f"arn:aws:ecs:::service/{CLUSTER}/{SERVICE}",
        "status": "ACTIVE",
        "taskDefinition": task_definition,
        "desiredCount": 1,
        "runningCount": 1,
        "pendingCount": 0,
        "networkConfiguration": {"awsvpcConfiguration": NETWORK},
        "loadBalancers": [
            {"targetGroupArn": TG, "containerName": "rails-app", "containerPort": 3000}
        ],
        "deployments": deployments,
        "events": [],
        **fields,
    }


def service_response(
    deployments: list[dict[str, Any]], task_definition: str = OLD, **fields: Any
) -> dict[str, Any]:
    """A `describe_services` response for the one service (see `service_entry`)."""
    return {"services": [service_entry(deployments, task_definition, **fields)], "failures": []}


def deployment_entry(
    ident: str, status: str, task_definition: str, state: str, reason: str = "", **fields: Any
) -> dict[str, Any]:
    """One entry of a service's `deployments`, as DescribeServices gives it; `fields`
    replace or add keys (`runningCount=0`, `failedTasks=2`, ...)."""
    return {
        "id": ident,
        "status": status,
        "taskDefinition": task_definition,
        "desiredCount": 1,
        "pendingCount": 0,
        "runningCount": 1,
        "rolloutState": state,
        "rolloutStateReason": reason,
        "createdAt": NOW,
        **fields,
    }


CURRENT = [deployment_entry("ecs-svc/1", "PRIMARY", OLD, "COMPLETED")]
TASK_DEFINITION = {
    "taskDefinition": {
        "taskDefinitionArn": OLD,
        "family": "rails-app",
        "revision": 4,
        "status": "ACTIVE",
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-execution-role",
        "containerDefinitions": [
            {
                "name": "rails-app",
                "image": "old@sha256:" + "a" * 64,
                "memory": 512,
                "essential": True,
            }
        ],
    }
}


def no_newer_revision(ecs: Stubber, family: str = "rails-app", revision: int = 4) -> None:
    """The family lists no revision above the running one (`hakobu up` changed nothing
    since): a deploy or a secrets change builds on the running revision."""
    running = f"arn:aws:ecs:ap-northeast-1:{ACCOUNT}:task-definition/{family}:{revision}"
    ecs.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": [running]},
        {"familyPrefix": family, "sort": "DESC"},
    )
