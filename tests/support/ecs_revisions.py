"""Task-definition revisions as a deploy and `hakobu up` leave them, on the sandbox emulator
(the control plane only: no container engine, so nothing runs): a release's revision runs an
image digest, Terraform's runs the :bootstrap placeholder. For the tests of what the next
revision is built on (tests/ship/test_config_base.py, tests/operate/test_config_rollout.py)
and of what runs the schedules (tests/provision/test_schedule_release.py,
tests/operate/test_schedule_pausing.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.target import Target
from hakobu.sandbox import emulator as sandbox
from tests.conftest import make_rails_app

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
CLUSTER = "rails-app-cluster"
REPOSITORY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app"
RELEASE = f"{REPOSITORY}@sha256:" + "a" * 64
NEXT_RELEASE = f"{REPOSITORY}@sha256:" + "b" * 64
BOOTSTRAP = f"{REPOSITORY}:bootstrap"
RELEASE_TAGS = {"hakobu:image-tag": "v7", "hakobu:git-commit": "0123456789ab"}
DB_PASSWORD = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rails-app-db-password-AbCdEf"
# Named as `hakobu secrets set` names an app secret (`{prefix}-app-NAME`).
APP_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rails-app-app-API_KEY-GhIjKl"


@contextmanager
def sandbox_target(tmp_path: Path) -> Iterator[Target]:
    """The sandbox emulator (real ECS API over HTTP) with the app's cluster, and its target."""
    root = make_rails_app(tmp_path / "rails-app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAKOBU_CONTAINER_ENGINE", "none")  # the control plane only
        server, _ = sandbox.start(root)
    target = Target(REGION, server.endpoint, sandbox.client_environment(server, REGION))
    target.client("ecs").create_cluster(clusterName=CLUSTER)
    try:
        yield target
    finally:
        sandbox.stop(root)


def register(
    ecs: Any,
    family: str,
    image: str,
    environment: dict[str, str],
    secrets: dict[str, str] | None = None,
    command: list[str] | None = None,
    memory: int = 512,
    tags: dict[str, str] | None = None,
) -> str:
    """A revision of `family` whose container runs `image` as given; its ARN."""
    container: dict[str, Any] = {
        "name": "rails-app",
        "image": image,
        "memory": memory,
        "environment": [{"name": k, "value": v} for k, v in environment.items()],
        "secrets": [{"name": k, "valueFrom": v} for k, v in (secrets or {}).items()],
    }
    if command is not None:
        container["command"] = command
    extra = {"tags": [{"key": k, "value": v} for k, v in tags.items()]} if tags else {}
    described = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory=str(memory),
        containerDefinitions=[container],
        **extra,
    )
    return str(described["taskDefinition"]["taskDefinitionArn"])


def run_service(ecs: Any, service: str, arn: str) -> None:
    ecs.create_service(cluster=CLUSTER, serviceName=service, taskDefinition=arn, desiredCount=0)


def service_runs(ecs: Any, service: str) -> str:
    """`family:N` the service points at."""
    described = ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]
    return str(described["taskDefinition"]).rsplit("/", 1)[-1]


def described(ecs: Any, revision: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The revision's one container and its tags."""
    found = ecs.describe_task_definition(taskDefinition=revision, include=["TAGS"])
    [container] = found["taskDefinition"]["containerDefinitions"]
    return container, {t["key"]: t["value"] for t in found.get("tags", [])}


def variables(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def secret_refs(container: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}
