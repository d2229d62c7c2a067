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
from hakobu.provision.schedule_release import reinstate_release
from tests.conftest import environment_of
from tests.support.ecs_revisions import (
    APP_SECRET,
    BOOTSTRAP,
    DB_PASSWORD,
    REGION,
    RELEASE,
    RELEASE_TAGS,
    described,
    register,
    run_service,
    sandbox_target,
    secret_refs,
)

SERVICE, FAMILY = "rails-app-service", "rails-app-schedules"


@pytest.fixture
def ecs(tmp_path: Path) -> Iterator[Any]:
    with sandbox_target(tmp_path) as target:
        yield target.client("ecs")


def _env(schedules: bool = True) -> Environment:
    raw: dict[str, Any] = {"app": "rails-app", "framework": "rails"}
    if schedules:
        raw["schedules"] = [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}]
    return environment_of(raw)


def _web_runs(
    ecs: Any, image: str, tags: dict[str, str] | None = None, secrets: dict[str, str] | None = None
) -> None:
    run_service(ecs, SERVICE, register(ecs, "rails-app", image, {}, secrets, tags=tags))


def _newest_revision(ecs: Any) -> int:
    return int(ecs.describe_task_definition(taskDefinition=FAMILY)["taskDefinition"]["revision"])


def test_a_placeholder_revision_gets_webs_release_and_keeps_the_new_definition(ecs: Any) -> None:
    _web_runs(ecs, RELEASE, RELEASE_TAGS)
    last_deploy = {"STORAGE_REGION": "old"}
    register(ecs, FAMILY, RELEASE, last_deploy, tags=RELEASE_TAGS)
    register(ecs, FAMILY, BOOTSTRAP, {"STORAGE_REGION": REGION})  # Terraform's new one

    arn = reinstate_release(ecs, _env())

    assert arn is not None and arn.endswith(f":task-definition/{FAMILY}:3")
    container, tags = described(ecs, FAMILY)
    assert container["image"] == RELEASE
    assert container["environment"] == [{"name": "STORAGE_REGION", "value": REGION}]
    assert tags == RELEASE_TAGS  # `schedules` and `releases` name the same release


def test_the_reinstated_revision_reads_the_app_secrets_web_reads(ecs: Any) -> None:
    """`hakobu secrets set` records an app secret in web's revisions only; Terraform's new
    schedules revision names the managed secrets alone, so they come from web's."""
    _web_runs(ecs, RELEASE, RELEASE_TAGS, {"DATABASE_PASSWORD": DB_PASSWORD, "API": APP_SECRET})
    register(ecs, FAMILY, BOOTSTRAP, {}, {"DATABASE_PASSWORD": DB_PASSWORD})

    assert reinstate_release(ecs, _env()) is not None

    container, _ = described(ecs, FAMILY)
    assert secret_refs(container) == {"DATABASE_PASSWORD": DB_PASSWORD, "API": APP_SECRET}


def test_a_newest_revision_that_runs_a_release_is_left_alone(ecs: Any) -> None:
    _web_runs(ecs, RELEASE, RELEASE_TAGS)
    register(ecs, FAMILY, RELEASE, {}, tags=RELEASE_TAGS)
    assert reinstate_release(ecs, _env()) is None
    assert _newest_revision(ecs) == 1


def test_before_the_first_deploy_nothing_is_registered(ecs: Any) -> None:
    _web_runs(ecs, BOOTSTRAP)
    register(ecs, FAMILY, BOOTSTRAP, {})
    assert reinstate_release(ecs, _env()) is None
    assert _newest_revision(ecs) == 1


def test_an_app_without_schedules_calls_nothing() -> None:
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"called ecs.{name}")

    assert reinstate_release(NoCalls(), _env(schedules=False)) is None
