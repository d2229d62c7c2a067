"""`hakobu deploy --sandbox` in an app folder, with no `--image` and no `registry.url`: the
image is built into the local engine's store and recorded in the emulated ECR (a manifest
whose config digest is the image's ID), with no registry login and no push, so nothing
leaves the machine. The sandbox runtime then runs that image: the release command, the
service's task, and the load balancer serves it on loopback."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.conftest import SandboxStack, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import git, served_body

pytestmark = pytest.mark.integration
APP = "rails-app"
BODY = "built by hakobu deploy in the sandbox"


@pytest.fixture(scope="module")
def built(sandbox_stack: SandboxStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    base = http_image(engine, tmp_path_factory.mktemp("image"))
    root = sandbox_stack.root
    # The app's own Dockerfile, on a local base (nothing can be pulled here).
    (root / "Dockerfile").write_text(f'FROM {base}\nENV UP_BODY="{BODY}"\n')
    (root / ".gitignore").write_text(".hakobu/\nconfig/master.key\n")
    (root / ".dockerignore").write_text(".hakobu/\n.git/\n")
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "app")
    commit = git(root, "rev-parse", "HEAD")
    result = run_hakobu("deploy", "--sandbox", cwd=root)
    return {"result": result, "commit": commit, "engine": engine}


def test_the_image_is_built_locally_and_recorded_in_ecr_without_a_push(
    sandbox_stack: SandboxStack, built: dict[str, Any]
) -> None:
    result = built["result"]
    assert result.code == 0, result.output
    assert "nothing is pushed" in result.output
    said = result.output.lower()
    assert " login" not in said and " push " not in said, result.output
    tag = built["commit"][:12]
    ecr = sandbox_stack.client("ecr")
    found = ecr.batch_get_image(repositoryName=APP, imageIds=[{"imageTag": tag}])["images"]
    assert len(found) == 1, found
    config = json.loads(found[0]["imageManifest"])["config"]["digest"]
    engine = built["engine"]
    local = subprocess.run(
        [engine.executable, "image", "inspect", "--format", "{{.Id}}", f"{_uri(ecr)}:{tag}"],
        env=engine.environment(), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert config.removeprefix("sha256:") == local.removeprefix("sha256:")
    ecs = sandbox_stack.client("ecs")
    service = ecs.describe_services(cluster=f"{APP}-cluster", services=[f"{APP}-service"])
    arn = service["services"][0]["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=arn)
    image = definition["taskDefinition"]["containerDefinitions"][0]["image"]
    assert image == f"{_uri(ecr)}@{found[0]['imageId']['imageDigest']}"


def test_the_runtime_runs_the_built_image_behind_the_load_balancer(
    sandbox_stack: SandboxStack, built: dict[str, Any]
) -> None:
    assert built["result"].code == 0, built["result"].output

    served = wait_until(
        lambda: served_body(sandbox_stack.root, "/up", BODY),
        "the load balancer to serve the built image",
        120,
    )
    assert served == BODY


def _uri(ecr: Any) -> str:
    return str(ecr.describe_repositories(repositoryNames=[APP])["repositories"][0]["repositoryUri"])
