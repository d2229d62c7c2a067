"""`hakobu deploy --sandbox --image`, `releases`, `rollback` and `images` as separate
processes against the shared sandbox stack, and the promise that Terraform never reverts a
deploy. The image is real (busybox httpd, built locally and recorded in the emulated ECR):
the sandbox runtime runs the release command and the service's task, and its load balancer
serves it on loopback, and the deploy follows both as it does on AWS."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.conftest import SandboxStack, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import record_in_ecr, served_body

pytestmark = pytest.mark.integration
APP = "rails-app"
UP_BODY = "deployed through the sandbox"


@pytest.fixture(scope="module")
def deployed(
    sandbox_stack: SandboxStack, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Build a real image (busybox httpd answering /up, with a `bin/rails` for the release
    command), record it in the emulated ECR as `deploy --sandbox` does (the image stays in
    the engine's store), then deploy it by tag."""
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    local = http_image(engine, tmp_path_factory.mktemp("image"), up_body=UP_BODY)
    uri, digest = record_in_ecr(sandbox_stack.client("ecr"), engine, local, APP, "v1")
    ecs = sandbox_stack.client("ecs")
    before = _service(ecs)["taskDefinition"]
    result = run_hakobu(
        "deploy",
        "--sandbox",
        "--image",
        f"{uri}:v1",
        cwd=sandbox_stack.root,
    )
    return {
        "result": result,
        "digest": digest,
        "uri": uri,
        "before": before,
    }


def _service(ecs: Any) -> dict[str, Any]:
    return ecs.describe_services(cluster=f"{APP}-cluster", services=[f"{APP}-service"])["services"][
        0
    ]


def test_deploy_registers_a_revision_pinned_to_the_digest(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    result = deployed["result"]
    assert result.code == 0, result.output
    # Followed as on AWS: the runtime rolled it out, and the local URL is given.
    assert "Deployed rails-app:" in result.output and "http://127.0.0.1:" in result.output
    assert "Nothing real was created" in result.output
    ecs = sandbox_stack.client("ecs")
    now = _service(ecs)["taskDefinition"]
    assert now != deployed["before"]
    definition = ecs.describe_task_definition(taskDefinition=now, include=["TAGS"])
    container = definition["taskDefinition"]["containerDefinitions"][0]
    assert container["image"] == f"{deployed['uri']}@{deployed['digest']}"
    previous = ecs.describe_task_definition(taskDefinition=deployed["before"])["taskDefinition"]
    # Everything but the image is kept from the previous revision.
    assert container["secrets"] == previous["containerDefinitions"][0]["secrets"]
    assert (definition["taskDefinition"]["cpu"], definition["taskDefinition"]["memory"]) == (
        previous["cpu"],
        previous["memory"],
    )
    tags = {t["key"]: t["value"] for t in definition["tags"]}
    assert tags["hakobu:image-tag"] == "v1"
    assert tags["hakobu:deployed-by"].startswith("arn:aws:")


def test_the_sandbox_serves_the_deployed_image_on_loopback(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    """The runtime runs the recorded image (resolved through ECR to the local store) and
    its load balancer routes to the task once the target group's checks pass."""
    assert deployed["result"].code == 0, deployed["result"].output

    body = wait_until(
        lambda: served_body(sandbox_stack.root, "/up", UP_BODY),
        "the load balancer to serve the deployed task",
        timeout_s=120,
    )
    assert body == UP_BODY


def test_release_task_runs_migrations_in_the_private_subnets(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    ecs = sandbox_stack.client("ecs")
    arns = ecs.list_tasks(cluster=f"{APP}-cluster", startedBy="hakobu-release")["taskArns"]
    assert arns, deployed["result"].output
    task = ecs.describe_tasks(cluster=f"{APP}-cluster", tasks=arns[-1:])["tasks"][0]
    override = task["overrides"]["containerOverrides"][0]
    assert (override["name"], override["command"]) == (APP, ["bin/rails", "db:migrate"])
    # It really ran (the test image's bin/rails) and the deploy waited for its exit code.
    assert task["containers"][0]["exitCode"] == 0
    assert "bin/rails db:migrate: the test app has nothing to migrate" in deployed["result"].output
    assert task["taskDefinitionArn"] == _service(ecs)["taskDefinition"]


def test_releases_lists_the_history_newest_first(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    result = run_hakobu("releases", "--sandbox", "--json", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    records = json.loads(result.stdout)["releases"]
    assert [r["revision"] for r in records] == sorted(
        (r["revision"] for r in records), reverse=True
    )
    newest = records[0]
    assert newest["current"] and newest["image_tag"] == "v1"
    assert newest["digest"] == deployed["digest"]


def test_images_lists_the_pushed_image(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    result = run_hakobu("images", "--sandbox", "--json", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    found = json.loads(result.stdout)["images"]
    # test_deploy_build_sandbox.py's image may be listed too; the tag v1 is this one's.
    assert [i["digest"] for i in found if "v1" in i["tags"]] == [deployed["digest"]]


def test_a_later_plan_does_not_revert_the_deploy(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    result = run_hakobu("plan", "--sandbox", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    assert "No rollout follows: " in result.stdout, result.output  # nothing of the app changes
    workdir = sandbox_stack.root / ".hakobu" / "sandbox" / "production"
    shown = subprocess.run(
        ["terraform", "show", "-json", "tfplan"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "terraform.rc")},
    )
    changes = {c["address"]: c["change"] for c in json.loads(shown.stdout)["resource_changes"]}
    assert changes["aws_ecs_task_definition.app"]["actions"] == ["no-op"]
    service = changes["aws_ecs_service.app"]
    # moto drops enableExecuteCommand on create, so the service may show that update; the
    # task definition the deploy put in place must never be part of it.
    running = _service(sandbox_stack.client("ecs"))["taskDefinition"]
    assert running != deployed["before"]
    assert service["before"]["task_definition"] == running
    assert service["after"]["task_definition"] == running
    (workdir / "tfplan").unlink()


def test_rollback_goes_to_the_previous_revision_and_back(
    sandbox_stack: SandboxStack, deployed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The revision before `deployed` is up's :bootstrap placeholder when this module runs
    # alone on a fresh stack, and a placeholder cannot start: a second real version gives
    # rollback a previous revision that runs, whatever ran on the stack before.
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    local = http_image(engine, tmp_path_factory.mktemp("image"), up_body=f"{UP_BODY}, v2")
    uri, _ = record_in_ecr(sandbox_stack.client("ecr"), engine, local, APP, "v2")
    ecs = sandbox_stack.client("ecs")
    first_arn = _service(ecs)["taskDefinition"]
    second = run_hakobu("deploy", "--sandbox", "--image", f"{uri}:v2", cwd=sandbox_stack.root)
    assert second.code == 0, second.output
    second_arn = _service(ecs)["taskDefinition"]
    assert second_arn != first_arn

    back = run_hakobu("rollback", "--sandbox", cwd=sandbox_stack.root)
    assert back.code == 0, back.output
    assert _service(ecs)["taskDefinition"] == first_arn
    assert served_body(sandbox_stack.root, "/up", UP_BODY) == UP_BODY  # v1 serves again
    revision = int(second_arn.rsplit(":", 1)[1])
    forward = run_hakobu("rollback", "--sandbox", "--to", str(revision), cwd=sandbox_stack.root)
    assert forward.code == 0, forward.output
    assert _service(ecs)["taskDefinition"] == second_arn
    again = run_hakobu("rollback", "--sandbox", "--to", str(revision), cwd=sandbox_stack.root)
    assert again.code == 1 and "already running" in again.stderr


def _serving(sandbox_stack: SandboxStack) -> list[str]:
    """Which of this module's two versions the load balancer serves."""
    bodies = (UP_BODY, f"{UP_BODY}, v2")
    return [body for body in bodies if served_body(sandbox_stack.root, "/up", body) == body]


def test_up_after_a_deploy_rolls_a_changed_task_size_out_on_the_running_release(
    sandbox_stack: SandboxStack, deployed: dict[str, Any]
) -> None:
    """The service ignores task_definition, so the apply alone only registers Terraform's
    revision (running :bootstrap); `up` then rolls the release that runs out on it, as the
    plan it applies said it would, and the restoring `up` rolls it back to 512 MiB the same
    way."""
    ecs, path = sandbox_stack.client("ecs"), sandbox_stack.root / "hakobu.toml"
    config = path.read_text()
    running = _service(ecs)["taskDefinition"]
    image = ecs.describe_task_definition(taskDefinition=running)["taskDefinition"][
        "containerDefinitions"
    ][0]["image"]
    serving = _serving(sandbox_stack)
    path.write_text(config.replace("memory = 512\n", "memory = 1024\n", 1))
    try:
        planned = run_hakobu("plan", "--sandbox", cwd=sandbox_stack.root)
        assert planned.code == 0, planned.output
        said = (
            "After the apply, `hakobu up` rolls out web (memory 512 → 1024 MiB) on the new "
            "task definition, with the release it runs."
        )
        assert said in planned.stdout.splitlines(), planned.output
        assert _service(ecs)["taskDefinition"] == running  # planning moved nothing
        up = run_hakobu("up", "--sandbox", "--yes", cwd=sandbox_stack.root)  # applies that plan
        assert up.code == 0, up.output
        now = _service(ecs)["taskDefinition"]
        assert now != running and "Rolled out" in up.output, up.output
        described = ecs.describe_task_definition(taskDefinition=now)["taskDefinition"]
        assert described["memory"] == "1024"
        assert described["containerDefinitions"][0]["image"] == image  # the same release
        assert serving and _serving(sandbox_stack) == serving
    finally:
        path.write_text(config)
        back = run_hakobu("up", "--sandbox", "--yes", cwd=sandbox_stack.root)
    assert back.code == 0, back.output
    restored = ecs.describe_task_definition(taskDefinition=_service(ecs)["taskDefinition"])
    assert restored["taskDefinition"]["memory"] == "512"
