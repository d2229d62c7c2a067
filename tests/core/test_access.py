"""AccessDenied said as what to grant: when the emulator's message names no resource, it is
rebuilt from the refused call's parameters, and it is one the policy of that kind grants
(so the message and `hakobu iam policy` agree).

The calls are real botocore calls to a closed loopback port: `watch` records their
parameters before they are sent, and each fails without reaching anything."""

from __future__ import annotations

import fnmatch
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from hakobu.core import access
from hakobu.provision.iam_policies import Scope, policy
from tests.conftest import environment_of

REGION, ACCOUNT = "ap-northeast-1", "123456789012"
DENIED = f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: {{action}}"
TASKS = "arn:aws:ecs:ap-northeast-1:123456789012:task/rails-app-cluster"


def _refused_call(method: str, params: dict[str, Any]) -> None:
    client = boto3.client(
        "ecs",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",  # discard: nothing listens
        aws_access_key_id="hakobu-test",
        aws_secret_access_key="hakobu-test-secret",
        config=Config(proxies={}, retries={"max_attempts": 0}, connect_timeout=1),
    )
    with pytest.raises(EndpointConnectionError):
        getattr(access.watch(client), method)(**params)


@pytest.mark.parametrize(
    ("kind", "method", "params", "resource"),
    [
        (
            "deploy",
            "register_task_definition",
            {"family": "rails-app", "containerDefinitions": []},
            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/rails-app:*",
        ),
        (
            "deploy",
            "deregister_task_definition",
            {"taskDefinition": "rails-app:3"},
            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/rails-app:3",
        ),
        (
            "deploy",
            "run_task",
            {"cluster": "rails-app-cluster", "taskDefinition": "rails-app:4"},
            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/rails-app:4",
        ),
        (
            "deploy",
            "update_service",
            {"cluster": "rails-app-cluster", "service": "rails-app-service"},
            "arn:aws:ecs:ap-northeast-1:123456789012:service/rails-app-cluster/rails-app-service",
        ),
        (
            "operate",
            "list_tasks",
            {"cluster": "rails-app-cluster"},
            "arn:aws:ecs:ap-northeast-1:123456789012:container-instance/rails-app-cluster/*",
        ),
        (
            "operate",
            "describe_tasks",
            {"cluster": "rails-app-cluster", "tasks": [f"{TASKS}/abc"]},
            f"{TASKS}/abc",
        ),
    ],
)
def test_the_rebuilt_resource_is_the_one_the_policy_grants(
    kind: str, method: str, params: dict[str, Any], resource: str
) -> None:
    _refused_call(method, params)
    operation = "".join(part.title() for part in method.split("_"))
    action = f"ecs:{operation}"
    named = access.denied_resource(DENIED.format(action=action), action, operation)
    assert named == resource
    env = environment_of({"app": "rails-app", "framework": "rails"})
    statements = policy(env, kind, Scope("aws", REGION, ACCOUNT))["Statement"]
    granting = [s for s in statements if action in s["Action"]]
    assert granting, action
    patterns = [r for s in granting for r in ([s["Resource"]] if isinstance(s["Resource"], str)
                                              else s["Resource"])]  # fmt: skip
    assert any(fnmatch.fnmatchcase(named, pattern) for pattern in patterns), patterns


def test_aws_s_own_resource_wins() -> None:
    message = (
        f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: ecs:UpdateService "
        "on resource: arn:aws:ecs:ap-northeast-1:123456789012:service/c/s because no "
        "identity-based policy allows the ecs:UpdateService action"
    )
    assert access.denied_action(message) == "ecs:UpdateService"
    resource = access.denied_resource(message, "ecs:UpdateService", "UpdateService")
    assert resource == "arn:aws:ecs:ap-northeast-1:123456789012:service/c/s"
