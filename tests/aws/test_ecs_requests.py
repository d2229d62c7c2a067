"""The ECS requests of a deploy, as exact values (pure functions: no client, no network)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from hakobu.aws.ecs import release_task_request, revision_request, task_id
from hakobu.aws.logs import LogLine, last_lines, task_log_stream
from hakobu.core.errors import HakobuError

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rails-app-db-password-AbCdEf"
KEY = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rails-app-rails-master-key-GhIjKl"


def _app_container(image: str) -> dict:
    return {
        "name": "rails-app",
        "image": image,
        "cpu": 0,
        "memory": 1024,
        "essential": True,
        "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
        "environment": [
            {"name": "RAILS_ENV", "value": "production"},
            {"name": "DATABASE_HOST", "value": "rails-app-db.abc.ap-northeast-1.rds.amazonaws.com"},
        ],
        "secrets": [
            {"name": "DATABASE_PASSWORD", "valueFrom": SECRET},
            {"name": "RAILS_MASTER_KEY", "valueFrom": KEY},
        ],
        "mountPoints": [],
        "volumesFrom": [],
        "linuxParameters": {"initProcessEnabled": True},
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/rails-app",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "ecs",
            },
        },
    }


SIDECAR = {"name": "log-router", "image": "public.ecr.aws/aws-observability/fluent-bit:2.32"}

# What `describe_task_definition(..., include=["TAGS"])["taskDefinition"]` returns.
DESCRIBED = {
    "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:3",
    "containerDefinitions": [_app_container(f"{REPO}:bootstrap"), SIDECAR],
    "family": "rails-app",
    "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-role",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-execution-role",
    "networkMode": "awsvpc",
    "revision": 3,
    "volumes": [],
    "status": "ACTIVE",
    "requiresAttributes": [
        {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
        {"name": "ecs.capability.secrets.asm.environment-variables"},
    ],
    "placementConstraints": [],
    "compatibilities": ["EC2", "FARGATE"],
    "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "registeredAt": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    "registeredBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci",
    "deregisteredAt": datetime(2025, 2, 2, 3, 4, 5, tzinfo=UTC),
}
NEW_IMAGE = f"{REPO}@sha256:{'ab' * 32}"


def test_revision_request_keeps_everything_but_the_image() -> None:
    request = revision_request(DESCRIBED, "rails-app", NEW_IMAGE, {"hakobu:commit": "4f2c9e1"})
    assert request == {
        "containerDefinitions": [_app_container(NEW_IMAGE), SIDECAR],
        "family": "rails-app",
        "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-role",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-execution-role",
        "networkMode": "awsvpc",
        "volumes": [],
        "placementConstraints": [],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "tags": [{"key": "hakobu:commit", "value": "4f2c9e1"}],
    }


def test_revision_request_drops_every_read_only_field() -> None:
    request = revision_request(DESCRIBED, "rails-app", NEW_IMAGE, {})
    for field in (
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
    ):
        assert field not in request
    assert "tags" not in request  # no tags: none sent


def test_revision_request_tags_keep_their_order_and_replace_described_tags() -> None:
    described = {**DESCRIBED, "tags": [{"key": "old", "value": "1"}]}
    request = revision_request(
        described, "rails-app", NEW_IMAGE, {"hakobu:commit": "4f2c9e1", "hakobu:env": "production"}
    )
    assert request["tags"] == [
        {"key": "hakobu:commit", "value": "4f2c9e1"},
        {"key": "hakobu:env", "value": "production"},
    ]


def test_revision_request_does_not_touch_its_input() -> None:
    before = copy.deepcopy(DESCRIBED)
    request = revision_request(DESCRIBED, "rails-app", NEW_IMAGE, {})
    request["containerDefinitions"][0]["environment"].append({"name": "X", "value": "1"})
    assert before == DESCRIBED


def test_revision_request_names_the_missing_container() -> None:
    with pytest.raises(HakobuError) as raised:
        revision_request(DESCRIBED, "web", NEW_IMAGE, {})
    assert "no container named 'web'" in str(raised.value)
    assert "rails-app, log-router" in str(raised.value)
    assert raised.value.fix


def test_release_task_request() -> None:
    network = {
        "subnets": ["subnet-0a1", "subnet-0c2"],
        "securityGroups": ["sg-0ecs"],
        "assignPublicIp": "ENABLED",  # ignored: a release task never gets a public IP
    }
    request = release_task_request(
        "rails-app-cluster",
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:4",
        "rails-app",
        ["bin/rails", "db:migrate"],
        network,
        "hakobu-release-4f2c9e1",
    )
    assert request == {
        "cluster": "rails-app-cluster",
        "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:4",
        "launchType": "FARGATE",
        "count": 1,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-0a1", "subnet-0c2"],
                "securityGroups": ["sg-0ecs"],
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {
            "containerOverrides": [{"name": "rails-app", "command": ["bin/rails", "db:migrate"]}]
        },
        "startedBy": "hakobu-release-4f2c9e1",
        "enableExecuteCommand": False,
    }
    request["networkConfiguration"]["awsvpcConfiguration"]["subnets"].append("subnet-x")
    assert network["subnets"] == ["subnet-0a1", "subnet-0c2"]  # copied, not shared


def test_task_ids_and_log_streams() -> None:
    long_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/rails-app-cluster/0123456789abcdef"
    assert task_id(long_arn) == "0123456789abcdef"
    assert task_id(f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/0123456789abcdef") == "0123456789abcdef"
    assert task_log_stream("rails-app", "0123456789abcdef") == "ecs/rails-app/0123456789abcdef"
    assert task_log_stream("rails-app", long_arn, prefix="web") == "web/rails-app/0123456789abcdef"


def test_last_lines() -> None:
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    lines = [LogLine(stamp, f"line {i}", "s") for i in range(30)]
    assert [x.message for x in last_lines(lines, 3)] == ["line 27", "line 28", "line 29"]
    assert len(last_lines(lines)) == 20
    assert last_lines(lines[:2]) == lines[:2]
    assert last_lines(lines, 0) == []
