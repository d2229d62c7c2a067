"""After `hakobu up`: each process whose service runs a release, and whose family has a newer
revision from Terraform (running the :bootstrap placeholder), gets that definition with the
release it runs, and its service moves to it; nothing happens before the first deploy or
when nothing changed. Against the sandbox emulator (real ECS API calls over HTTP, no
container engine: the rollout is not followed, and the result says so). A rollout that
fails is followed and rolled back as a deploy's (tests/ship/test_deploy_stubbed.py); on the
sandbox runtime: tests/integration/test_deploy_sandbox.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.target import Target
from hakobu.operate.config_rollout import (
    CHANGE,
    pending_changes,
    roll_out_after_apply,
    roll_out_configuration,
)
from hakobu.ship.deploy import SANDBOX_ROLLOUT_NOTE, RolloutFollower
from tests.conftest import environment_of
from tests.support.ecs_revisions import (
    APP_SECRET,
    BOOTSTRAP,
    DB_PASSWORD,
    RELEASE,
    RELEASE_TAGS,
    described,
    register,
    run_service,
    sandbox_target,
    secret_refs,
    service_runs,
    variables,
)
from tests.support.stubbed_aws import Recorder

WEB, WORKER = "rails-app-service", "rails-app-worker"
OLD_ENV, NEW_ENV = {"STORAGE_BUCKET": "old"}, {"STORAGE_BUCKET": "new"}


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    with sandbox_target(tmp_path) as found:
        yield found


def _env(tmp_path: Path) -> Any:
    raw = {"app": "rails-app", "framework": "rails", "processes": {"worker": {"command": ["w"]}}}
    return environment_of(raw, root=tmp_path)


def _deployed(ecs: Any, family: str, service: str, **fields: Any) -> None:
    register(ecs, family, BOOTSTRAP, OLD_ENV)  # :1, the first `hakobu up`
    run_service(ecs, service, register(ecs, family, RELEASE, OLD_ENV, tags=RELEASE_TAGS, **fields))


def test_a_changed_definition_is_rolled_out_with_the_release_each_process_runs(
    tmp_path: Path, target: Target
) -> None:
    ecs, events = target.client("ecs"), Recorder()
    _deployed(ecs, "rails-app", WEB, secrets={"DATABASE_PASSWORD": DB_PASSWORD, "API": APP_SECRET})
    _deployed(ecs, WORKER, WORKER, command=["w"])
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV, {"DATABASE_PASSWORD": DB_PASSWORD})  # :3
    register(ecs, WORKER, BOOTSTRAP, NEW_ENV, command=["w"], memory=1024)  # :3
    env = _env(tmp_path)

    pending = pending_changes(ecs, env)
    result = roll_out_configuration(RolloutFollower(env, target, events), pending)

    assert [(p.process, p.running) for p in pending] == [
        ("web", "rails-app:2"),
        ("worker", f"{WORKER}:2"),
    ]
    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:4", f"{WORKER}:4")
    web, tags = described(ecs, "rails-app:4")
    assert (web["image"], variables(web)) == (RELEASE, NEW_ENV)
    assert secret_refs(web) == {"DATABASE_PASSWORD": DB_PASSWORD, "API": APP_SECRET}
    assert tags["hakobu:image-tag"] == "v7" and tags["hakobu:change"] == CHANGE
    worker, _ = described(ecs, f"{WORKER}:4")
    assert (worker["image"], worker["memory"], worker["command"]) == (RELEASE, 1024, ["w"])
    assert secret_refs(worker) == {"API": APP_SECRET}  # the app secrets web reads
    assert result.notes == [SANDBOX_ROLLOUT_NOTE]  # no container engine: not followed
    assert pending_changes(ecs, env) == []  # the next `up` has nothing more to roll out


def test_a_worker_alone_can_move(tmp_path: Path, target: Target) -> None:
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    _deployed(ecs, WORKER, WORKER, command=["w"])
    register(ecs, WORKER, BOOTSTRAP, OLD_ENV, command=["w", "--fast"])  # [processes] command
    env = _env(tmp_path)

    result = roll_out_configuration(
        RolloutFollower(env, target, Recorder()), pending_changes(ecs, env)
    )

    assert service_runs(ecs, WEB) == "rails-app:2"
    assert result.task_definition_arn.endswith(f"/{WORKER}:4")
    assert described(ecs, f"{WORKER}:4")[0]["command"] == ["w", "--fast"]


def test_a_worker_added_after_the_first_deploy_starts_on_the_release_web_runs(
    tmp_path: Path, target: Target
) -> None:
    """[processes.worker] added to a deployed app: Terraform creates its service on its first
    revision, the never-pushed :bootstrap image. `up` gives it web's release (the same
    digest and tags) and web's app secrets; web itself has nothing to move."""
    ecs, events = target.client("ecs"), Recorder()
    _deployed(ecs, "rails-app", WEB, secrets={"DATABASE_PASSWORD": DB_PASSWORD, "API": APP_SECRET})
    secrets = {"DATABASE_PASSWORD": DB_PASSWORD}
    run_service(ecs, WORKER, register(ecs, WORKER, BOOTSTRAP, NEW_ENV, secrets, ["w"]))  # :1
    env = _env(tmp_path)

    after = roll_out_after_apply(env, target, events)

    assert after.changed == ("worker",)
    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:2", f"{WORKER}:2")
    worker, tags = described(ecs, f"{WORKER}:2")
    assert (worker["image"], worker["command"], variables(worker)) == (RELEASE, ["w"], NEW_ENV)
    assert secret_refs(worker) == {"DATABASE_PASSWORD": DB_PASSWORD, "API": APP_SECRET}
    assert tags["hakobu:image-tag"] == "v7" and tags["hakobu:change"] == CHANGE
    assert any("rails-app:2's release, which web runs" in line for line in events.lines)
    assert pending_changes(ecs, env) == []  # the next `up` has nothing more to do


def test_without_webs_service_a_worker_keeps_its_own_app_secrets(
    tmp_path: Path, target: Target
) -> None:
    """web's revision is the record of the app secrets; with no web service to read (deleted
    by hand), a worker's new configuration keeps what it read, rather than none."""
    ecs = target.client("ecs")
    _deployed(ecs, WORKER, WORKER, command=["w"], secrets={"API": APP_SECRET})
    register(ecs, WORKER, BOOTSTRAP, NEW_ENV, command=["w"])  # :3

    [pending] = pending_changes(ecs, _env(tmp_path))

    assert pending.process == "worker"
    assert secret_refs(pending.base["containerDefinitions"][0]) == {"API": APP_SECRET}


def test_before_the_first_deploy_nothing_is_pending(tmp_path: Path, target: Target) -> None:
    ecs = target.client("ecs")
    run_service(ecs, WEB, register(ecs, "rails-app", BOOTSTRAP, OLD_ENV))
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV)  # the deploy will take it
    assert pending_changes(ecs, _env(tmp_path)) == []  # and the worker is not created yet


def test_an_apply_that_changed_no_definition_leaves_the_services_alone(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    _deployed(ecs, WORKER, WORKER, command=["w"])
    assert pending_changes(ecs, _env(tmp_path)) == []


def test_up_rolls_out_what_changed_and_nothing_else(tmp_path: Path, target: Target) -> None:
    """What `hakobu up` calls once its apply is done (cli/provisioning.py renders it)."""
    ecs = target.client("ecs")
    _deployed(ecs, "rails-app", WEB)
    _deployed(ecs, WORKER, WORKER, command=["w"])
    env = _env(tmp_path)
    unchanged = roll_out_after_apply(env, target, Recorder())
    assert (unchanged.changed, unchanged.paused, unchanged.result) == ((), False, None)

    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV)  # :3, the apply's
    after = roll_out_after_apply(env, target, Recorder())

    assert (after.changed, after.paused) == (("web",), False)
    assert after.result is not None and after.result.task_definition_arn.endswith("/rails-app:4")
    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:4", f"{WORKER}:2")
