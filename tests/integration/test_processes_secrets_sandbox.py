"""A worker, a scheduled task and a worker added later read the app secrets web reads, and
the added worker runs the release web runs, on the sandbox runtime (real containers: the
busybox test image, recorded in the emulated ECR) through the commands a user runs.

`up`, `deploy`, then `secrets set TEST_API_KEY`: web and the worker roll out together (one
line each) and the worker's own container sees the secret (it logs the value's length,
never the value); `schedules run` runs a task that sees it too. Then `[processes.mailer]`
is added to hakobu.toml and `up` applied: the new service runs web's image digest, not the
never-pushed :bootstrap placeholder, and its container sees the secret as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.sandbox import emulator as sandbox
from tests.conftest import make_rails_app, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import record_in_ecr, served_body

pytestmark = pytest.mark.integration
APP = "psec-app"
REGION = "ap-northeast-1"
CLUSTER, WEB = f"{APP}-cluster", f"{APP}-service"
WORKER, MAILER = f"{APP}-worker", f"{APP}-mailer"
UP_BODY = "psec one"
VALUE = "sk_test_integration-value-7f3a"  # 30 characters; only its length is ever logged
SEES = f"key of {len(VALUE)} chars"


def _loop(name: str) -> str:
    """A process that logs, every second, which release it runs and how long its secret is."""
    script = (
        "trap 'exit 0' TERM; while true; do "
        f'echo "{name} of $UP_BODY, key of ${{#TEST_API_KEY}} chars"; sleep 1; done'
    )
    # A JSON string is a TOML basic string.
    return f"\n[processes.{name}]\ncommand = {json.dumps(['/bin/sh', '-c', script])}\n"


SCHEDULE = """
[[schedules]]
name = "nightly"
cron = "0 3 * * *"
command = ["/bin/sh", "-c", "echo \\"nightly on $UP_BODY, key of ${#TEST_API_KEY} chars\\""]
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("psec")
    engine_or_unavailable(base / "engine")  # real containers: skip (or fail under CI) without
    app = make_rails_app(base / "app", app=APP)
    with (app / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write(_loop("worker") + SCHEDULE)
    try:
        yield app
    finally:
        run_hakobu("destroy", "production", "--sandbox", "--yes", cwd=app)
        sandbox.stop(app)


def _client(root: Path, service: str) -> Any:
    server = sandbox.running(root)
    assert server is not None, "the app's emulator is not running"
    return sandbox.client(server, REGION, service)


def _hakobu(root: Path, *args: str, input_text: str | None = None) -> str:
    result = run_hakobu(*args, "--sandbox", cwd=root, input_text=input_text)
    assert result.code == 0, f"hakobu {' '.join(args)}:\n{result.output}"
    assert VALUE not in result.output
    return result.output


def _push(root: Path) -> str:
    engine = engine_or_unavailable(root.parent / "engine")
    local = http_image(engine, root.parent / "images", up_body=UP_BODY)
    uri, digest = record_in_ecr(_client(root, "ecr"), engine, local, APP, "v1")
    return f"{uri}@{digest}"


def _runs(root: Path, service: str) -> tuple[str, str]:
    """(`family:N` the service runs, that revision's image)."""
    ecs = _client(root, "ecs")
    [found] = ecs.describe_services(cluster=CLUSTER, services=[service])["services"]
    described = ecs.describe_task_definition(taskDefinition=found["taskDefinition"])
    image = described["taskDefinition"]["containerDefinitions"][0]["image"]
    return str(found["taskDefinition"]).rsplit("/", 1)[-1], str(image)


def _says(root: Path, process: str, line: str) -> None:
    """The process's one RUNNING task, of the revision its service runs, logs `line`."""
    ecs = _client(root, "ecs")
    service = f"{APP}-{process}"

    def running_task() -> str | None:
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus="RUNNING")
        if not arns["taskArns"]:
            return None
        tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns["taskArns"])["tasks"]
        revision = _runs(root, service)[0]
        ours = [
            t
            for t in tasks
            if t["lastStatus"] == "RUNNING" and t["taskDefinitionArn"].endswith(revision)
        ]
        return str(ours[0]["taskArn"]).rsplit("/", 1)[-1] if ours else None

    task = wait_until(running_task, f"a running task of {service}'s revision")

    def said() -> bool:
        shown = run_hakobu(
            "logs", "--process", process, "--task", task, "--since", "5m", "--sandbox", cwd=root
        )
        assert shown.code == 0, shown.output
        return line in shown.stdout

    wait_until(said, f"{process}'s task {task} logging {line!r}")


def test_every_process_and_a_worker_added_later_read_the_app_secrets(root: Path) -> None:
    _hakobu(root, "up", "--yes")
    image = _push(root)
    _hakobu(root, "deploy", "--image", image)
    assert wait_until(lambda: served_body(root, "/up", UP_BODY), "web serving")
    _says(root, "worker", f"worker of {UP_BODY}, key of 0 chars")

    out = " ".join(_hakobu(root, "secrets", "set", "TEST_API_KEY", input_text=VALUE).split())
    web_revision, worker_revision = _runs(root, WEB)[0], _runs(root, WORKER)[0]
    assert f"Rolling out {WEB} -> {web_revision}" in out, out
    assert f"Rolling out {WORKER} -> {worker_revision}" in out, out
    assert f"Schedules 1 schedule(s) now run {APP}-schedules:" in out, out
    assert _runs(root, WORKER)[1] == image  # the worker kept its release
    _says(root, "worker", f"worker of {UP_BODY}, {SEES}")
    ran = run_hakobu("schedules", "run", "nightly", "--sandbox", cwd=root)
    assert ran.code == 0, ran.output
    assert f"nightly on {UP_BODY}, {SEES}" in ran.output, ran.output

    with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write(_loop("mailer"))
    out = " ".join(_hakobu(root, "up", "--yes").split())
    assert f"(mailer: {web_revision}'s release, which web runs)" in out, out
    mailer_revision, mailer_image = _runs(root, MAILER)
    assert mailer_image == image, mailer_image  # web's digest, not :bootstrap
    assert f"Rolling out {MAILER} -> {mailer_revision}" in out, out
    _says(root, "mailer", f"mailer of {UP_BODY}, {SEES}")
    assert _runs(root, WEB)[0] == web_revision  # web had nothing to move
