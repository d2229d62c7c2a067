"""Every process reads the app secrets web reads: a `hakobu secrets set` or `unset` gives
web and each worker a revision reading the change and rolls every service out, then the
schedules' family gets it; a deploy and a rollback give each worker, and the schedules, the
app secrets of web's revision, also on a stack whose workers never got them. Against the
sandbox emulator (real ECS and Secrets Manager calls over HTTP, no container engine:
nothing runs, rollouts are not followed); each test puts there the revisions a deploy
would have left. The same on the sandbox runtime, through the CLI, with a worker reading
the secret: tests/integration/test_processes_secrets_sandbox.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.errors import HakobuError
from hakobu.core.target import Target
from hakobu.operate.secrets import AppSecrets
from hakobu.ship.deploy import Deployer, Release, RolloutFollower
from tests.conftest import environment_of
from tests.support.ecs_revisions import (
    APP_SECRET,
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
)
from tests.support.stubbed_aws import Recorder

WEB, WORKER, SCHEDULES = "rails-app-service", "rails-app-worker", "rails-app-schedules"
MANAGED = {"DATABASE_PASSWORD": DB_PASSWORD}
WITH_APP_SECRET = MANAGED | {"API_KEY": APP_SECRET}
COMMAND = ["bin/jobs"]


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    with sandbox_target(tmp_path) as found:
        yield found


def _env(tmp_path: Path) -> Any:
    raw: dict[str, Any] = {"app": "rails-app", "framework": "rails"}
    raw["deploy"] = {"release_command": ""}
    raw["processes"] = {"worker": {"command": COMMAND}}
    raw["schedules"] = [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}]
    return environment_of(raw, root=tmp_path)


def _released(ecs: Any, image: str, web: dict[str, str], others: dict[str, str]) -> None:
    """web, the worker and the schedules on `image`, as a deploy leaves them; web reads
    the secrets `web`, the worker and the schedules `others`."""
    run_service(ecs, WEB, register(ecs, "rails-app", image, {}, web, tags=RELEASE_TAGS))
    worker = register(ecs, WORKER, image, {}, others, COMMAND, tags=RELEASE_TAGS)
    run_service(ecs, WORKER, worker)
    register(ecs, SCHEDULES, image, {}, others, tags=RELEASE_TAGS)


def _refs(ecs: Any, revision: str) -> dict[str, str]:
    return secret_refs(described(ecs, revision)[0])


def _newest(ecs: Any, family: str) -> str:
    found = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    return f"{family}:{found['revision']}"


def test_secrets_set_and_unset_reach_every_process_and_the_schedules(
    tmp_path: Path, target: Target
) -> None:
    ecs, events = target.client("ecs"), Recorder()
    _released(ecs, RELEASE, MANAGED, MANAGED)
    secrets = AppSecrets(RolloutFollower(_env(tmp_path), target, events))

    arns = secrets.set("API_KEY", "sk_test_value", secrets.current())
    assert arns is not None and set(arns) == {"web", "worker"}
    secrets.roll_out(arns)

    secret = target.client("secretsmanager").describe_secret(SecretId="rails-app-app-API_KEY")
    expected = MANAGED | {"API_KEY": secret["ARN"]}
    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:2", f"{WORKER}:2")
    assert _newest(ecs, SCHEDULES) == f"{SCHEDULES}:2"
    for revision in ("rails-app:2", f"{WORKER}:2", f"{SCHEDULES}:2"):
        assert _refs(ecs, revision) == expected, revision
    worker, tags = described(ecs, f"{WORKER}:2")
    assert (worker["image"], worker["command"]) == (RELEASE, COMMAND)  # its release, as it was
    assert tags["hakobu:image-tag"] == "v7" and tags["hakobu:change"] == "secrets set API_KEY"
    assert described(ecs, f"{SCHEDULES}:2")[0]["image"] == RELEASE
    # One line per service that moved, then the schedules.
    assert f"Rolling out: {WEB} -> rails-app:2" in events.lines
    assert f"Rolling out: {WORKER} -> {WORKER}:2" in events.lines
    assert any(
        line.startswith(f"Schedules: 1 schedule(s) now run {SCHEDULES}:2") for line in events.lines
    )
    assert "sk_test_value" not in "\n".join(events.lines)

    arns = secrets.remove_reference("API_KEY", secrets.current())
    assert arns is not None
    secrets.roll_out(arns)

    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:3", f"{WORKER}:3")
    for revision in ("rails-app:3", f"{WORKER}:3", _newest(ecs, SCHEDULES)):
        assert _refs(ecs, revision) == MANAGED, revision


def test_a_redeploy_for_a_rotation_moves_every_process_and_leaves_the_schedules(
    tmp_path: Path, target: Target
) -> None:
    """A rotation changes a value, not a reference: every service gets new tasks (which
    read the new password); a scheduled task reads it at its next start anyway."""
    ecs = target.client("ecs")
    _released(ecs, RELEASE, WITH_APP_SECRET, WITH_APP_SECRET)
    secrets = AppSecrets(RolloutFollower(_env(tmp_path), target, Recorder()))

    secrets.roll_out(secrets.redeploy(secrets.current(), "secrets rotate-db"))

    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:2", f"{WORKER}:2")
    assert _refs(ecs, f"{WORKER}:2") == WITH_APP_SECRET
    assert _newest(ecs, SCHEDULES) == f"{SCHEDULES}:1"


def test_a_deploy_gives_each_worker_and_the_schedules_the_app_secrets_web_reads(
    tmp_path: Path, target: Target
) -> None:
    """A stack where `secrets set` reached web alone (before every process got them): the
    next deploy's worker and schedules revisions read web's app secrets."""
    ecs = target.client("ecs")
    _released(ecs, RELEASE, WITH_APP_SECRET, MANAGED)
    release = Release(image=NEXT_RELEASE, tag="v8", commit="fedcba987654")

    Deployer(_env(tmp_path), target, Recorder(), lambda: release).run()

    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:2", f"{WORKER}:2")
    for revision in ("rails-app:2", f"{WORKER}:2", _newest(ecs, SCHEDULES)):
        assert _refs(ecs, revision) == WITH_APP_SECRET, revision
        assert described(ecs, revision)[0]["image"] == NEXT_RELEASE, revision


def test_a_rollback_gives_each_worker_the_app_secrets_of_webs_revision(
    tmp_path: Path, target: Target
) -> None:
    """The worker's revision of that release read other app secrets than web's: rather than
    reuse it, the rollback registers one with the release's image and web's secrets."""
    ecs = target.client("ecs")
    _released(ecs, RELEASE, WITH_APP_SECRET, MANAGED)  # web :1, worker :1, schedules :1
    release = Release(image=NEXT_RELEASE, tag="v8", commit="fedcba987654")
    Deployer(_env(tmp_path), target, Recorder(), lambda: release).run()  # all :2

    Deployer(_env(tmp_path), target, Recorder()).roll_back(_arn(ecs, "rails-app:1"))

    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:1", f"{WORKER}:3")
    worker, _ = described(ecs, f"{WORKER}:3")
    assert (worker["image"], secret_refs(worker)) == (RELEASE, WITH_APP_SECRET)
    schedules, _ = described(ecs, _newest(ecs, SCHEDULES))
    assert (schedules["image"], secret_refs(schedules)) == (RELEASE, WITH_APP_SECRET)


def test_a_rollback_reuses_a_worker_revision_that_reads_webs_app_secrets(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    _released(ecs, RELEASE, WITH_APP_SECRET, WITH_APP_SECRET)
    release = Release(image=NEXT_RELEASE, tag="v8", commit="fedcba987654")
    Deployer(_env(tmp_path), target, Recorder(), lambda: release).run()

    Deployer(_env(tmp_path), target, Recorder()).roll_back(_arn(ecs, "rails-app:1"))

    assert (service_runs(ecs, WEB), service_runs(ecs, WORKER)) == ("rails-app:1", f"{WORKER}:1")


def _arn(ecs: Any, revision: str) -> str:
    found = ecs.describe_task_definition(taskDefinition=revision)["taskDefinition"]
    return str(found["taskDefinitionArn"])


def _web_alone(ecs: Any) -> None:
    """A stack whose hakobu.toml gained a worker that `hakobu up` has not created yet."""
    run_service(ecs, WEB, register(ecs, "rails-app", RELEASE, {}, MANAGED, tags=RELEASE_TAGS))


def test_secrets_set_with_a_worker_not_created_yet_stores_nothing(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    _web_alone(ecs)
    secrets = AppSecrets(RolloutFollower(_env(tmp_path), target, Recorder()))

    with pytest.raises(HakobuError) as caught:
        secrets.set("API_KEY", "sk_test_value", secrets.current())

    message = str(caught.value)
    assert f"'worker' ({WORKER})" in message and "nothing was changed" in message
    assert caught.value.fix is not None and "hakobu up" in caught.value.fix
    listed = target.client("secretsmanager").list_secrets()["SecretList"]
    assert not [s for s in listed if s["Name"].startswith("rails-app-app-")]
    assert _newest(ecs, "rails-app") == "rails-app:1"


def test_a_deploy_with_a_worker_not_created_yet_stops_before_building(
    tmp_path: Path, target: Target
) -> None:
    ecs = target.client("ecs")
    _web_alone(ecs)
    built: list[str] = []

    def build() -> Release:
        built.append("built")
        return Release(image=NEXT_RELEASE, tag="v8", commit="fedcba987654")

    with pytest.raises(HakobuError, match="no such service yet"):
        Deployer(_env(tmp_path), target, Recorder(), build).run()

    assert built == []
    assert (service_runs(ecs, WEB), _newest(ecs, "rails-app")) == ("rails-app:1", "rails-app:1")
