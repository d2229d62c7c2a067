"""`build_and_push` end to end: a real builder (docker, podman or buildah, whichever
`find_builder` picks here), a real registry on loopback (tests/registry.py) that accepts
the sandbox emulator's ECR token, and the image read back over the registry's HTTP API.

The emulator's ECR cannot receive images (no registry protocol), so the push goes to the
local registry with the emulator's token, as `hakobu deploy --sandbox` does. About 3 s.
Skipped when the registry or a builder is missing, except under CI, where that fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.errors import PreflightError
from hakobu.sandbox import emulator as sandbox
from hakobu.ship.git import source_revision
from hakobu.ship.image import (
    Builder,
    PushedImage,
    RegistryLogin,
    build_and_push,
    ecr_login,
    find_builder,
)
from tests.support.registry import Registry, missing, start_registry

pytestmark = pytest.mark.integration
REGION = "ap-northeast-1"
REPO = "rails-app"


def _builder_or_none() -> Builder | None:
    try:
        return find_builder()
    except PreflightError:
        return None


@pytest.fixture(scope="module")
def builder() -> Builder:
    lacks = missing()
    found = _builder_or_none()
    if found is None:
        lacks.append("an image builder (apt-get install buildah)")
    if lacks:
        reason = "image push test needs " + ", ".join(lacks)
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs them: a missing one is a broken CI, not a skip
        pytest.skip(reason)
    assert found is not None
    return found


@pytest.fixture
def isolated_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """podman/buildah keep this test's layers under tmp_path, not the machine's store.

    vfs, as in a container where overlay may not work (HAKOBU_BUILDAH_VFS, hakobu.ship.image).
    """
    conf = tmp_path / "storage.conf"
    conf.write_text(
        "[storage]\n"
        'driver = "vfs"\n'
        f'graphroot = "{tmp_path / "containers" / "storage"}"\n'
        f'runroot = "{tmp_path / "containers" / "run"}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(conf))
    monkeypatch.setenv("HAKOBU_BUILDAH_VFS", "1")


@pytest.fixture
def ecr_client(tmp_path: Path) -> Iterator[Any]:
    """An ECR client of the sandbox emulator, started for this test and stopped after."""
    root = tmp_path / "app-state"
    server, _ = sandbox.start(root)
    try:
        yield sandbox.client(server, REGION, "ecr")
    finally:
        sandbox.stop(root)


@pytest.fixture
def ecr_password(ecr_client: Any) -> str:
    """The emulator's ECR token password (what `aws ecr get-login-password` prints)."""
    return ecr_login(ecr_client).password


@pytest.fixture
def registry(tmp_path: Path, ecr_password: str) -> Iterator[Registry]:
    running = start_registry(tmp_path / "registry", "AWS", ecr_password)
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Recorded:
    argv: list[list[str]]
    envs: list[dict[str, str]]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """Every process started from here on (subprocess.run goes through Popen too)."""
    calls = Recorded(argv=[], envs=[])
    real_popen = subprocess.Popen

    class RecordingPopen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            calls.argv.append([str(arg) for arg in args])
            calls.envs.append(dict(kwargs.get("env") or os.environ))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    return calls


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=hakobu", "-c", "user.email=hakobu@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip


def _app(root: Path) -> Path:
    """A committed build context: FROM scratch (nothing to pull) plus one small file."""
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (root / "hello.txt").write_text("hello from hakobu\n")
    _git(root, "init", "--quiet")
    _git(root, "add", "-A")
    _git(root, "commit", "--quiet", "-m", "app")
    return root


def test_build_and_push_to_loopback_registry_with_ecr_token(
    tmp_path: Path,
    builder: Builder,
    isolated_storage: None,
    ecr_client: Any,
    ecr_password: str,
    registry: Registry,
    recorded: Recorded,
) -> None:
    app = _app(tmp_path / "app")
    revision = source_revision(app)
    assert not revision.dirty and revision.tag == revision.commit[:12]
    # The login is the emulator's ECR token; only the host is the local registry's.
    login = ecr_login(ecr_client, registry=registry.host)
    assert login == RegistryLogin(registry.host, "AWS", ecr_password)
    lines: list[str] = []
    repository = f"{registry.host}/{REPO}"
    tags = [revision.tag, "release"]

    pushed = build_and_push(
        builder, app, repository, tags, "linux/amd64", login, on_line=lines.append
    )

    assert pushed.repository == repository and pushed.tags == tuple(tags)
    assert pushed.uri == f"{repository}@{pushed.digest}"
    _assert_registry_holds(registry, pushed, ecr_password)
    _assert_password_never_shown(ecr_password, recorded, lines, login)


def _assert_registry_holds(registry: Registry, pushed: PushedImage, password: str) -> None:
    for ref in (*pushed.tags, pushed.digest):
        found = registry.manifest(REPO, ref, "AWS", password)
        assert found.status == 200, registry.log()[-2000:]
        assert found.digest == pushed.digest
    config = registry.image_config(REPO, pushed.digest, "AWS", password)
    assert (config["os"], config["architecture"]) == ("linux", "amd64")  # --platform held
    assert registry.manifest(REPO, pushed.tags[0], "AWS", password + "x").status == 401
    assert registry.manifest(REPO, pushed.tags[0], "AWS", "").status == 401


def _assert_password_never_shown(
    password: str, recorded: Recorded, lines: list[str], login: RegistryLogin
) -> None:
    assert any("--password-stdin" in argv for argv in recorded.argv), recorded.argv
    for argv in recorded.argv:
        assert not any(password in arg for arg in argv), argv
    for env in recorded.envs:
        assert password not in env.values()
    assert lines and not any(password in line for line in lines)
    assert password not in repr(login)
