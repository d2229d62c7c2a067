"""What `hakobu plan` says `up` will roll out once the plan is applied: the processes that
`up`'s own rule (config_rollout.pending_changes) finds once the plan's task definitions are
registered, each with what changes in it (names, never values), or why nothing follows.
Against the sandbox emulator's ECS over HTTP, with `terraform show -json`-shaped plans (the
real plan of a real stack: tests/integration/test_deploy_sandbox.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.target import Target
from hakobu.operate.pausing.record import PauseRecord, save_record, state_path
from hakobu.operate.rollout_preview import (
    ALREADY_NEWER,
    RolloutPreview,
    _AfterApply,
    _planned,
    preview_line,
    rollout_after_plan,
)
from tests.conftest import environment_of
from tests.support.ecs_revisions import (
    BOOTSTRAP,
    RELEASE,
    RELEASE_TAGS,
    register,
    run_service,
    sandbox_target,
    service_runs,
)

WEB, WORKER = "rails-app-service", "rails-app-worker"
OLD_ENV = {"STORAGE_BUCKET": "old-bucket-value"}
DEPLOY = "hakobu deploy --sandbox"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    with sandbox_target(tmp_path) as found:
        yield found


def _env(tmp_path: Path) -> Any:
    raw = {"app": "rails-app", "framework": "rails", "processes": {"worker": {"command": ["w"]}}}
    return environment_of(raw, root=tmp_path)


def _deployed(ecs: Any, family: str, service: str, **fields: Any) -> None:
    register(ecs, family, BOOTSTRAP, OLD_ENV, **fields)  # :1, the first `hakobu up`
    run_service(ecs, service, register(ecs, family, RELEASE, OLD_ENV, tags=RELEASE_TAGS, **fields))


def _definition(memory: int, environment: dict[str, str], **container: Any) -> dict[str, Any]:
    """A task definition's attributes as the plan shows them (before: from the state)."""
    definition = {
        "name": "rails-app",
        "image": BOOTSTRAP,
        "memory": memory,  # as the blueprint sets it: the task's
        "environment": [{"name": k, "value": v} for k, v in environment.items()],
        **container,
    }
    return {
        "family": "rails-app",
        "cpu": "256",
        "memory": str(memory),
        "container_definitions": json.dumps([definition]),
        "execution_role_arn": "arn:aws:iam::123456789012:role/rails-app-execution",
        "runtime_platform": [{"cpu_architecture": "X86_64", "operating_system_family": "LINUX"}],
    }


def _replaced(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    change = {"actions": ["delete", "create"], "before": before, "after": after}
    return {
        "resource_changes": [
            {
                "address": "aws_ecs_task_definition.app",
                "type": "aws_ecs_task_definition",
                # Terraform's shape of "nothing unknown" for a block: [{}].
                "change": {**change, "after_unknown": {"arn": True, "runtime_platform": [{}]}},
            }
        ]
    }


def test_a_changed_task_size_and_variable_roll_web_out_and_say_why(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    _deployed(ecs, WORKER, WORKER, command=["w"])
    # AWS's defaults read back into the state are no change of the user's.
    before = _definition(512, OLD_ENV, essential=True, mountPoints=[])
    plan = _replaced(before, _definition(1024, {"STORAGE_BUCKET": "new-bucket-value"}))
    listed = ecs.list_task_definitions()["taskDefinitionArns"]

    preview = rollout_after_plan(_env(tmp_path), target, plan, empty=False)

    assert preview.rolled_out == (("web", "memory 512 → 1024 MiB, environment: STORAGE_BUCKET"),)
    line = preview_line(preview, DEPLOY)
    assert line == (
        "After the apply, `hakobu up` rolls out web (memory 512 → 1024 MiB, environment: "
        "STORAGE_BUCKET) on the new task definition, with the release it runs."
    )
    assert "bucket-value" not in line  # names only, never a value
    # Only read: nothing registered, nothing moved.
    assert ecs.list_task_definitions()["taskDefinitionArns"] == listed
    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:2", f"{WORKER}:2")


def test_a_newer_revision_not_running_yet_rolls_out_with_any_apply(
    tmp_path: Path, target: Target
) -> None:
    """A paused `up` (or a rolled-back rollout) left Terraform's revision unused: the next
    apply's rollout takes it, even when the plan changes nothing in ECS."""
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    register(ecs, "rails-app", BOOTSTRAP, {"STORAGE_BUCKET": "new"})  # :3

    preview = rollout_after_plan(_env(tmp_path), target, None, empty=False)

    assert preview.rolled_out == (("web", ALREADY_NEWER),)
    nothing = rollout_after_plan(_env(tmp_path), target, None, empty=True)
    assert preview_line(nothing, DEPLOY) == "No rollout follows: the plan applies nothing."


def test_before_the_first_deploy_the_deploy_ships_the_new_definition(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    run_service(ecs, WEB, register(ecs, "rails-app", BOOTSTRAP, OLD_ENV))
    plan = _replaced(_definition(512, OLD_ENV), _definition(1024, OLD_ENV))

    preview = rollout_after_plan(_env(tmp_path), target, plan, empty=False)

    assert preview_line(preview, DEPLOY) == (
        "No rollout follows: no release runs web yet; the first `hakobu deploy --sandbox` "
        "ships the new task definition."
    )


def test_a_plan_that_changes_no_task_definition_rolls_nothing_out(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    preview = rollout_after_plan(_env(tmp_path), target, {"resource_changes": []}, empty=False)
    assert preview_line(preview, DEPLOY) == (
        "No rollout follows: no running service's task definition changes."
    )


def test_while_paused_the_next_deploy_takes_it(tmp_path: Path, target: Target) -> None:
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    env = _env(tmp_path)
    paused = PauseRecord(
        environment="production",
        paused_at=datetime(2026, 12, 4, tzinfo=UTC),
        deep=False,
        desired_count=1,
        task_definition="rails-app:2",
        database="rails-app-db",
        database_status="available",
        database_stopped_at=None,
        monthly_saving=None,
        saving_complete=False,
    )
    save_record(state_path(env, sandbox=True), paused)
    plan = _replaced(_definition(512, OLD_ENV), _definition(1024, OLD_ENV))

    preview = rollout_after_plan(env, target, plan, empty=False)

    assert preview_line(preview, DEPLOY) == (
        "No rollout follows while paused: web (memory 512 → 1024 MiB) gets the new task "
        "definition with the next `hakobu deploy --sandbox`."
    )


def test_the_view_of_ecs_after_the_apply_refuses_every_change(target: Target) -> None:
    view = _AfterApply(target.client("ecs"), _planned({}), {}, "rails-app")
    for call in ("register_task_definition", "update_service", "create_service"):
        with pytest.raises(AttributeError, match="only reads ECS"):
            getattr(view, call)


def test_several_processes_are_listed_in_one_line() -> None:
    preview = RolloutPreview(rolled_out=(("web", "cpu 256 → 512 CPU units"), ("worker", "command")))
    assert preview_line(preview, DEPLOY) == (
        "After the apply, `hakobu up` rolls out web (cpu 256 → 512 CPU units) and worker "
        "(command) on the new task definition, each with the release it runs."
    )
