"""The README's rehearsal, for real: the bundled Django app (examples/django-app) is
provisioned with `hakobu up --sandbox`, then `hakobu deploy --sandbox` builds it from its
Dockerfile into the local store, runs its migration as a one-off task against the sandbox's
MySQL-compatible server, rolls the service out and serves it through the sandbox's load
balancer on 127.0.0.1. A row written straight into that database is on the next page the
app serves: the app, its secrets and its database are really wired together.

Its base image (python:3.12-slim) cannot be pulled here: .ci/install-runtime-deps builds a
stand-in from Debian's packages."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from hakobu.sandbox import emulator
from tests.conftest import Run, run_hakobu
from tests.support.images import engine_or_unavailable, python_base
from tests.support.sandbox_app import git

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django-app"
APP = "django-app"


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    python_base(engine_or_unavailable(tmp_path_factory.mktemp("engine")))
    if not (EXAMPLE / "wheels").is_dir():
        pytest.fail("examples/django-app/wheels is missing: run .ci/install-runtime-deps")
    root = tmp_path_factory.mktemp("rehearsal") / APP
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".hakobu", ".ruff_cache"))
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "the example app")
    try:
        up = run_hakobu("up", "--sandbox", "--yes", cwd=root, timeout=900)
        assert up.code == 0, up.output
        deploy = run_hakobu("deploy", "--sandbox", cwd=root, timeout=900)
        yield {"root": root, "deploy": deploy}
    finally:
        run_hakobu("sandbox", "stop", cwd=root)


def test_deploy_migrates_rolls_out_and_gives_the_local_url(rehearsed: dict[str, Any]) -> None:
    deploy: Run = rehearsed["deploy"]
    assert deploy.code == 0, deploy.output
    assert "Applying users.0001_initial... OK" in deploy.output
    assert "nothing is pushed" in deploy.output
    assert f"Deployed {APP}:2" in deploy.output
    assert _url(rehearsed["root"]) in deploy.output


def test_the_app_serves_what_its_database_holds(rehearsed: dict[str, Any]) -> None:
    root = rehearsed["root"]
    assert rehearsed["deploy"].code == 0, rehearsed["deploy"].output
    assert "0 members." in _page(root)
    database = emulator.runtime_facts(root)["databases"][f"{APP}-db"]  # type: ignore[index]
    server = emulator.running(root)
    assert server is not None
    secrets = emulator.client(server, "ap-northeast-1", "secretsmanager")
    password = secrets.get_secret_value(SecretId=f"{APP}-db-password")["SecretString"]
    connection = pymysql.connect(
        host=database["host"],
        port=int(database["port"]),
        user=database["username"],
        password=password,
        database=database["database"],
    )
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_member (name, email, created_at) VALUES (%s, %s, NOW())",
            ("Hanako", "hanako@example.invalid"),
        )
        connection.commit()
    page = _page(root)
    assert "1 member." in page and "hanako@example.invalid" in page


def _url(root: Path) -> str:
    facts = emulator.runtime_facts(root)
    assert facts is not None, "the sandbox runtime published nothing: is podman installed?"
    return str(facts["load_balancers"][f"{APP}-alb"]["url"])


def _page(root: Path) -> str:
    with urllib.request.urlopen(_url(root) + "/", timeout=10) as answer:
        return str(answer.read().decode())
