"""What a deploy, a `hakobu secrets` change and a rollback build on, once `hakobu up` changed a
container definition after the first deploy: Terraform registered a newer revision running
the :bootstrap placeholder, and the service kept its own. The next revision must carry
Terraform's change (an [env] value, a worker's size), the release's image and tags, and the
app secrets `hakobu secrets set` gave the running revision. Against the sandbox emulator
(real ECS API calls over HTTP, no container engine: nothing runs, rollouts are not
followed); each test puts there the revisions a deploy and `up` would have left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.errors import HakobuError
from hakobu.core.target import Target
from hakobu.operate.secrets import AppSecrets
from hakobu.ship import commands
from hakobu.ship.deploy import Deployer, Release, RolloutFollower
from tests.conftest import environment_of
from tests.support.ecs_revisions import (
    APP_SECRET,
    BOOTSTRAP,
    DB_PASSWORD,
    NEXT_RELEASE,
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
OLD_ENV = {"RAILS_ENV": "production", "STORAGE_BUCKET": "old-bucket"}
NEW_ENV = {"RAILS_ENV": "production", "STORAGE_BUCKET": "new-bucket"}
WITH_APP_SECRET = {"DATABASE_PASSWORD": DB_PASSWORD, "API_KEY": APP_SECRET}


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    with sandbox_target(tmp_path) as found:
        yield found


def _env(tmp_path: Path, workers: bool = False) -> Any:
    raw: dict[str, Any] = {"app": "rails-app", "framework": "rails"}
    raw["deploy"] = {"release_command": ""}
    if workers:
        raw["processes"] = {"worker": {"command": ["bin/jobs"]}}
    return environment_of(raw, root=tmp_path)


def _deploy(tmp_path: Path, target: Target, events: Recorder, workers: bool = False) -> str:
    release = Release(image=NEXT_RELEASE, tag="v8", commit="fedcba987654")
    deployer = Deployer(_env(tmp_path, workers), target, events, lambda: release)
    return deployer.run().task_definition_arn.rsplit("/", 1)[-1]


def test_a_deploy_after_up_changed_the_environment_carries_the_change(
    tmp_path: Path, target: Target
) -> None:
    ecs, events = target.client("ecs"), Recorder()
    register(ecs, "rails-app", BOOTSTRAP, OLD_ENV, {"DATABASE_PASSWORD": DB_PASSWORD})  # :1
    run_service(
        ecs, WEB, register(ecs, "rails-app", RELEASE, OLD_ENV, WITH_APP_SECRET, tags=RELEASE_TAGS)
    )  # :2, the last deploy (with an app secret set since)
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV, {"DATABASE_PASSWORD": DB_PASSWORD})  # :3

    revision = _deploy(tmp_path, target, events)

    assert revision == "rails-app:4"
    assert service_runs(ecs, WEB) == "rails-app:4"
    container, tags = described(ecs, revision)
    assert container["image"] == NEXT_RELEASE
    assert variables(container) == NEW_ENV
    assert secret_refs(container) == WITH_APP_SECRET  # the app secret is still injected
    assert tags["hakobu:image-tag"] == "v8" and tags["hakobu:git-commit"] == "fedcba987654"
    assert any(line.startswith("Configuration: from rails-app:3") for line in events.lines)


def test_without_a_newer_terraform_revision_a_deploy_builds_on_the_running_one(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    register(ecs, "rails-app", BOOTSTRAP, OLD_ENV)  # :1, Terraform's first
    run_service(ecs, WEB, register(ecs, "rails-app", RELEASE, NEW_ENV, WITH_APP_SECRET))  # :2

    revision = _deploy(tmp_path, target, Recorder())

    container, _ = described(ecs, revision)
    assert (container["image"], variables(container)) == (NEXT_RELEASE, NEW_ENV)
    assert secret_refs(container) == WITH_APP_SECRET


def test_a_release_left_newest_by_a_rolled_back_rollout_does_not_hide_terraforms_change(
    tmp_path: Path, target: Target
) -> None:
    """A deploy built :3 on Terraform's :2 and ECS rolled it back to :1: the next deploy
    still builds on :2, the newest placeholder above the running revision."""
    ecs = target.client("ecs")
    run_service(ecs, WEB, register(ecs, "rails-app", RELEASE, OLD_ENV, tags=RELEASE_TAGS))  # :1
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV)  # :2
    register(ecs, "rails-app", NEXT_RELEASE, {"STORAGE_BUCKET": "from-a-failed-deploy"})  # :3

    revision = _deploy(tmp_path, target, Recorder())

    assert revision == "rails-app:4"
    assert variables(described(ecs, revision)[0]) == NEW_ENV


def test_each_worker_is_built_on_terraforms_newer_definition_of_its_own_family(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    run_service(ecs, WEB, register(ecs, "rails-app", RELEASE, OLD_ENV))  # nothing changed
    old = register(ecs, WORKER, RELEASE, OLD_ENV, command=["bin/jobs"], tags=RELEASE_TAGS)
    run_service(ecs, WORKER, old)
    register(ecs, WORKER, BOOTSTRAP, NEW_ENV, command=["bin/jobs"], memory=1024)  # [processes]

    _deploy(tmp_path, target, Recorder(), workers=True)

    assert service_runs(ecs, WEB) == "rails-app:2"
    assert variables(described(ecs, "rails-app:2")[0]) == OLD_ENV
    assert service_runs(ecs, WORKER) == f"{WORKER}:3"
    worker, _ = described(ecs, f"{WORKER}:3")
    assert (worker["image"], worker["memory"], worker["command"]) == (
        NEXT_RELEASE,
        1024,
        ["bin/jobs"],
    )
    assert variables(worker) == NEW_ENV


def test_secrets_set_after_up_keeps_the_running_image_and_takes_terraforms_change(
    tmp_path: Path, target: Target
) -> None:
    """Built on the running revision alone, the secret's revision would become the newest
    non-placeholder one over Terraform's, and no later deploy would carry the change."""
    ecs = target.client("ecs")
    run_service(
        ecs, WEB, register(ecs, "rails-app", RELEASE, OLD_ENV, WITH_APP_SECRET, tags=RELEASE_TAGS)
    )  # :1
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV, {"DATABASE_PASSWORD": DB_PASSWORD})  # :2
    secrets = AppSecrets(RolloutFollower(_env(tmp_path), target, Recorder()))

    current = secrets.current()
    arns = secrets.remove_reference("API_KEY", current)

    assert arns is not None and arns["web"].endswith("/rails-app:3")
    container, tags = described(ecs, "rails-app:3")
    assert container["image"] == RELEASE
    assert variables(container) == NEW_ENV
    assert secret_refs(container) == {"DATABASE_PASSWORD": DB_PASSWORD}
    assert tags["hakobu:image-tag"] == "v7"  # still that release, as `releases` shows it
    assert tags["hakobu:change"] == "secrets unset API_KEY"


def test_a_rollback_runs_the_earlier_release_as_it_was_and_the_next_deploy_takes_the_new_config(
    tmp_path: Path, target: Target
) -> None:
    """Rollback goes back to what ran (image and config, as Heroku's does); Terraform's
    newer revision is still above it, so the deploy after carries hakobu.toml again."""
    ecs, events = target.client("ecs"), Recorder()
    first = register(ecs, "rails-app", RELEASE, OLD_ENV, tags=RELEASE_TAGS)  # :1
    run_service(ecs, WEB, first)
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV)  # :2, `hakobu up`
    assert _deploy(tmp_path, target, events) == "rails-app:3"  # NEW_ENV runs

    Deployer(_env(tmp_path), target, events).roll_back(first)

    assert service_runs(ecs, WEB) == "rails-app:1"
    assert variables(described(ecs, "rails-app:1")[0]) == OLD_ENV
    revision = _deploy(tmp_path, target, events)
    assert revision == "rails-app:4"
    assert variables(described(ecs, revision)[0]) == NEW_ENV


def test_rollback_skips_terraforms_revisions_and_refuses_one_by_number(
    tmp_path: Path, target: Target
) -> None:
    """Between two releases sits the :bootstrap revision `up` registered: the revision just
    before the running one, it cannot start; the release before it is the way back."""
    ecs, events = target.client("ecs"), Recorder()
    run_service(ecs, WEB, register(ecs, "rails-app", RELEASE, OLD_ENV, tags=RELEASE_TAGS))  # :1
    register(ecs, "rails-app", BOOTSTRAP, NEW_ENV)  # :2
    assert _deploy(tmp_path, target, events) == "rails-app:3"

    with pytest.raises(HakobuError, match="revision 2 is one `hakobu up` registered"):
        commands.roll_back(_env(tmp_path), target, events, 2)
    commands.roll_back(_env(tmp_path), target, events, None)

    assert service_runs(ecs, WEB) == "rails-app:1"
