"""The push path for real: `hakobu deploy --sandbox` builds the app with the machine's
builder (buildah here, no Docker engine), logs in with the emulator's ECR token and pushes
to a real registry on loopback (Debian's docker-registry with htpasswd user AWS), then
registers a revision running the pushed digest. The digest the registry serves for the
commit tag must be the one in the task definition."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from hakobu.core.errors import PreflightError
from hakobu.ship.image import ecr_login, find_builder
from tests.conftest import SandboxStack, run_hakobu
from tests.support.registry import Registry, missing, start_registry
from tests.support.sandbox_app import git

pytestmark = pytest.mark.integration
APP = "rails-app"


def _require_tools() -> None:
    lacks = missing()
    try:
        find_builder()
    except PreflightError:
        lacks.append("an image builder (apt-get install buildah)")
    if lacks:
        reason = "the push test needs " + ", ".join(lacks)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def pushed(
    sandbox_stack: SandboxStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Registry, str, str]]:
    _require_tools()
    root = sandbox_stack.root
    password = ecr_login(sandbox_stack.client("ecr")).password
    registry = start_registry(tmp_path_factory.mktemp("registry"), "AWS", password)
    config = root / "hakobu.toml"
    original = config.read_text()
    try:
        config.write_text(
            original.replace("[registry]\n", f'[registry]\nurl = "{registry.host}/{APP}"\n', 1)
        )
        (root / "Dockerfile").write_text("FROM scratch\nCOPY config/application.rb /app.rb\n")
        (root / ".gitignore").write_text(".hakobu/\nconfig/master.key\n")
        git(root, "init", "--quiet")
        git(root, "add", "-A")
        git(root, "commit", "--quiet", "-m", "app")
        commit = git(root, "rev-parse", "HEAD")
        storage = tmp_path_factory.mktemp("containers")
        (storage / "storage.conf").write_text(
            f'[storage]\ndriver = "vfs"\ngraphroot = "{storage / "graph"}"\n'
            f'runroot = "{storage / "run"}"\n'
        )
        result = run_hakobu(
            "deploy",
            "--sandbox",
            cwd=root,
            env={
                "CONTAINERS_STORAGE_CONF": str(storage / "storage.conf"),
                "HAKOBU_BUILDAH_VFS": "1",
            },
        )
        # The release command runs first and cannot start: the image went to a registry the
        # runtime does not pull from (ECS would need repositoryCredentials), so the deploy
        # stops before the service moves.
        assert result.code == 1, result.output
        assert "the service was not changed" in result.output, result.output
        assert "it never ran" in result.output, result.output
        assert password not in result.output
        yield registry, password, commit
    finally:
        config.write_text(original)
        registry.stop()


def test_task_definition_runs_the_digest_the_registry_serves(
    sandbox_stack: SandboxStack, pushed: tuple[Registry, str, str]
) -> None:
    registry, password, commit = pushed
    served = registry.manifest(APP, commit[:12], "AWS", password)
    assert served.status == 200 and served.digest and served.digest.startswith("sha256:")
    assert registry.manifest(APP, "latest", "AWS", password).digest == served.digest
    ecs = sandbox_stack.client("ecs")
    # The deploy registered the revision, then withdrew it when the release command could
    # not run (so `rollback` never picks it): the newest INACTIVE one.
    arns = ecs.list_task_definitions(familyPrefix=APP, status="INACTIVE")["taskDefinitionArns"]
    arn = max(arns, key=lambda a: int(a.rsplit(":", 1)[1]))  # moto ignores sort="DESC"
    described = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    image = described["taskDefinition"]["containerDefinitions"][0]["image"]
    assert image == f"{registry.host}/{APP}@{served.digest}"
    tags = {t["key"]: t["value"] for t in described["tags"]}
    assert (tags["hakobu:git-commit"], tags["hakobu:image-tag"]) == (commit, commit[:12])
