"""After an apply, the schedules keep running the deployed release: a newest revision of
`{prefix}-schedules` that runs the :bootstrap placeholder (Terraform registered it because
the family's definition changed) gets web's release image and tags, keeping the new
definition. Against the sandbox emulator (real ECS API calls over HTTP); each test puts
there the revisions it needs. (`hakobu up` on a whole stack: tests/integration.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.core.target import Target
from hakobu.provision.schedule_release import reinstate_release
from hakobu.sandbox import emulator as sandbox
from tests.conftest import environment_of, make_rails_app

REGION = "ap-northeast-1"
CLUSTER, SERVICE, FAMILY = "rails-app-cluster", "rails-app-service", "rails-app-schedules"
RELEASE = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app@sha256:" + "a" * 64
BOOTSTRAP = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app:bootstrap"
TAGS = {"hakobu:image-tag": "v7", "hakobu:commit": "0123456789ab"}


@pytest.fixture
def ecs(tmp_path: Path) -> Iterator[Any]:
    root = make_rails_app(tmp_path / "rails-app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAKOBU_CONTAINER_ENGINE", "none")  # the control plane only
        server, _ = sandbox.start(root)
    target = Target(REGION, server.endpoint, sandbox.client_environment(server, REGION))
    client = target.client("ecs")
    client.create_cluster(clusterName=CLUSTER)
    try:
        yield client
    finally:
        sandbox.stop(root)


def _env(schedules: bool = True) -> Environment:
    raw: dict[str, Any] = {"app": "rails-app", "framework": "rails"}
    if schedules:
        raw["schedules"] = [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}]
    return environment_of(raw)


def _register(ecs: Any, family: str, image: str, env: dict[str, str], tags: dict | None = None):
    container = {
        "name": "rails-app",
        "image": image,
        "memory": 512,
        "environment": [{"name": k, "value": v} for k, v in env.items()],
    }
    extra = {"tags": [{"key": k, "value": v} for k, v in tags.items()]} if tags else {}
    described = ecs.register_task_definition(
        family=family, containerDefinitions=[container], **extra
    )
    return described["taskDefinition"]["taskDefinitionArn"]


def _web_runs(ecs: Any, image: str, tags: dict | None = None) -> None:
    arn = _register(ecs, "rails-app", image, {}, tags)
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=arn, desiredCount=0)


def _newest(ecs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    described = ecs.describe_task_definition(taskDefinition=FAMILY, include=["TAGS"])
    return described["taskDefinition"], {t["key"]: t["value"] for t in described["tags"]}


def test_a_placeholder_revision_gets_webs_release_and_keeps_the_new_definition(ecs: Any) -> None:
    _web_runs(ecs, RELEASE, TAGS)
    _register(ecs, FAMILY, RELEASE, {"STORAGE_REGION": "old"}, TAGS)  # the last deploy's
    _register(ecs, FAMILY, BOOTSTRAP, {"STORAGE_REGION": REGION})  # Terraform's new one

    arn = reinstate_release(ecs, _env())

    assert arn is not None and arn.endswith(f":task-definition/{FAMILY}:3")
    newest, tags = _newest(ecs)
    [container] = newest["containerDefinitions"]
    assert container["image"] == RELEASE
    assert container["environment"] == [{"name": "STORAGE_REGION", "value": REGION}]
    assert tags == TAGS  # `schedules` and `releases` name the same release


def test_a_newest_revision_that_runs_a_release_is_left_alone(ecs: Any) -> None:
    _web_runs(ecs, RELEASE, TAGS)
    _register(ecs, FAMILY, RELEASE, {}, TAGS)
    assert reinstate_release(ecs, _env()) is None
    assert _newest(ecs)[0]["revision"] == 1


def test_before_the_first_deploy_nothing_is_registered(ecs: Any) -> None:
    _web_runs(ecs, BOOTSTRAP)
    _register(ecs, FAMILY, BOOTSTRAP, {})
    assert reinstate_release(ecs, _env()) is None
    assert _newest(ecs)[0]["revision"] == 1


def test_an_app_without_schedules_calls_nothing() -> None:
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"called ecs.{name}")

    assert reinstate_release(NoCalls(), _env(schedules=False)) is None
