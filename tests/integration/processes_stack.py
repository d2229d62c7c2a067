"""The processes stack of the sandbox integration run: a Rails app with a worker, a schedule
and the storage bucket, in its own emulator.

`tests/integration/test_profiles_sandbox.py` brings it up and destroys it beside the other
stacks, all at once; the checks here run between the two, through the hakobu commands a
user runs (deploy, releases, rollback, schedules) and boto3 against the emulator. The
emulator runs no containers, so rollouts are not followed here (Stubber tests do that:
tests/ship/test_deploy_processes_stubbed.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hakobu.sandbox import emulator as sandbox
from tests.conftest import make_rails_app, run_hakobu

APP = "procs-app"
REGION = "ap-northeast-1"
SECTIONS = """
[processes.worker]
command = ["bin/jobs"]
cpu = 512
memory = 1024

[[schedules]]
name = "nightly"
cron = "0 3 * * *"
timezone = "Asia/Tokyo"
command = ["bin/rails", "runner", "Cleanup.run"]

[storage]
bucket = true
"""


def processes_app(root: Path) -> Path:
    make_rails_app(root, app=APP)
    with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write(SECTIONS)
    return root


def client(root: Path, service: str) -> Any:
    server = sandbox.running(root)
    assert server is not None, "the processes app's emulator is not running"
    return sandbox.client(server, REGION, service)


def _manifest(config_digit: str) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 2,
                "digest": "sha256:" + config_digit * 64,
            },
            # moto's ECR digest is the hash of the layers' digests: one layer per image.
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 2,
                    "digest": "sha256:" + config_digit * 64,
                }
            ],
        }
    )


def _push(root: Path, tag: str, digit: str) -> str:
    """An image in the emulated ECR (it speaks no registry protocol): its repo@digest."""
    ecr = client(root, "ecr")
    pushed = ecr.put_image(repositoryName=APP, imageManifest=_manifest(digit), imageTag=tag)
    uri = ecr.describe_repositories(repositoryNames=[APP])["repositories"][0]["repositoryUri"]
    return f"{uri}@{pushed['image']['imageId']['imageDigest']}"


def _running(root: Path) -> dict[str, str]:
    """service -> the image its task definition runs."""
    ecs = client(root, "ecs")
    services = ecs.describe_services(
        cluster=f"{APP}-cluster", services=[f"{APP}-service", f"{APP}-worker"]
    )["services"]
    return {s["serviceName"]: _image(ecs, s["taskDefinition"]) for s in services}


def _image(ecs: Any, task_definition: str) -> str:
    described = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return str(described["containerDefinitions"][0]["image"])


def _hakobu(root: Path, *args: str) -> str:
    result = run_hakobu(*args, "--sandbox", cwd=root)
    assert result.code == 0, f"hakobu {' '.join(args)}:\n{result.output}"
    return result.stdout


def check_processes_stack(root: Path) -> None:
    _check_provisioned(root)
    first, second = _push(root, "v1", "1"), _push(root, "v2", "2")
    assert first != second
    _check_deploy_moves_every_process(root, first, second)
    _check_rollback_moves_every_process(root, first)
    _check_schedules(root)


def _check_provisioned(root: Path) -> None:
    ecs = client(root, "ecs")
    [worker] = ecs.describe_services(cluster=f"{APP}-cluster", services=[f"{APP}-worker"])[
        "services"
    ]
    assert worker["desiredCount"] == 1 and worker["launchType"] == "FARGATE"
    assert not worker.get("loadBalancers")
    definition = ecs.describe_task_definition(taskDefinition=worker["taskDefinition"])
    container = definition["taskDefinition"]["containerDefinitions"][0]
    assert container["command"] == ["bin/jobs"]
    assert definition["taskDefinition"]["cpu"] == "512"
    schedule = client(root, "scheduler").get_schedule(Name=f"{APP}-nightly")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    target = schedule["Target"]["EcsParameters"]["TaskDefinitionArn"]
    assert target.endswith(f":task-definition/{APP}-schedules"), target  # no revision
    s3 = client(root, "s3")
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(APP)]
    assert bucket == f"{APP}-123456789012-{REGION}"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()), block


def _check_deploy_moves_every_process(root: Path, first: str, second: str) -> None:
    _hakobu(root, "deploy", "--image", first)
    assert _running(root) == {f"{APP}-service": first, f"{APP}-worker": first}
    ecs = client(root, "ecs")
    assert _image(ecs, f"{APP}-schedules") == first  # the family's newest revision
    _hakobu(root, "deploy", "--image", second)
    assert _running(root) == {f"{APP}-service": second, f"{APP}-worker": second}
    assert _image(ecs, f"{APP}-schedules") == second
    releases = json.loads(_hakobu(root, "releases", "--json"))["releases"]
    newest, previous = releases[0], releases[1]
    assert newest["current"] and newest["image"] == second
    assert previous["image"] == first
    # One image across processes: each release names the worker revision running it.
    worker = _worker_revision(ecs)
    assert newest["processes"] == {"worker": worker}
    assert previous["processes"]["worker"] != worker


def _worker_revision(ecs: Any) -> str:
    [worker] = ecs.describe_services(cluster=f"{APP}-cluster", services=[f"{APP}-worker"])[
        "services"
    ]
    return str(worker["taskDefinition"]).rsplit("/", 1)[-1]


def _check_rollback_moves_every_process(root: Path, first: str) -> None:
    _hakobu(root, "rollback")
    assert _running(root) == {f"{APP}-service": first, f"{APP}-worker": first}
    assert _image(client(root, "ecs"), f"{APP}-schedules") == first


def _check_schedules(root: Path) -> None:
    [listed] = json.loads(_hakobu(root, "schedules", "--json"))["schedules"]
    assert listed["name"] == "nightly" and listed["expression"] == "cron(0 3 * * ? *)"
    assert listed["timezone"] == "Asia/Tokyo" and listed["state"] == "ENABLED"
    assert listed["next_run"].endswith("T03:00:00+09:00"), listed
    output = _hakobu(root, "schedules", "run", "nightly")
    assert "did not run" in output  # the emulator starts the task but runs no container
    [after] = json.loads(_hakobu(root, "schedules", "--json"))["schedules"]
    assert after["last_run"] is not None and f"{APP}-schedules:" in after["last_run"], after


def check_processes_gone(root: Path) -> None:
    names = [b["Name"] for b in client(root, "s3").list_buckets()["Buckets"]]
    assert not [name for name in names if name.startswith(APP)], names
    assert not client(root, "scheduler").list_schedules()["Schedules"]
