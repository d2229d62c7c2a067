"""The processes stack of the sandbox integration run: a Rails app with a worker, a schedule
and the storage bucket, in its own emulator, whose runtime runs real containers.

`tests/integration/test_profiles_sandbox.py` brings it up and destroys it beside the other
stacks, all at once; the checks here run between the two, through the hakobu commands a
user runs (deploy, releases, rollback, logs, schedules) and boto3 against the emulator.
Unlike the other stacks there, this one keeps its container engine: each version is the
busybox test image (tests/support/images.py) recorded in the emulated ECR, so web answers
through the sandbox's load balancer, the worker really runs its own command (a loop that
logs which image it runs), and `schedules run` really runs the schedule's command. Failed
worker rollouts are tested with Stubber (tests/ship/test_deploy_processes_stubbed.py).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from hakobu.core.config import load_project
from hakobu.provision.iam_policies import Scope, policy
from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.runtime.engine import ContainerEngine
from tests.conftest import make_rails_app, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import record_in_ecr, served_body

APP = "procs-app"
REGION = "ap-northeast-1"
CLUSTER, WEB, WORKER = f"{APP}-cluster", f"{APP}-service", f"{APP}-worker"
FIRST, SECOND = "procs one", "procs two"
# The worker: a job loop that says which image it runs (UP_BODY is baked into each version)
# and stops at once on SIGTERM, as Solid Queue or Sidekiq would.
SECTIONS = """
[processes.worker]
command = [
  "/bin/sh", "-c",
  "trap 'exit 0' TERM; while true; do echo \\"worker of $UP_BODY\\"; sleep 1; done",
]
cpu = 512
memory = 1024

[[schedules]]
name = "nightly"
cron = "0 3 * * *"
timezone = "Asia/Tokyo"
command = ["/bin/sh", "-c", "echo \\"nightly cleanup on $UP_BODY\\"; exit 3"]

[storage]
bucket = true
"""


def processes_app(root: Path) -> Path:
    _engine(root)  # this stack runs real containers: skip (or fail under CI) without one
    make_rails_app(root, app=APP)
    with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write(SECTIONS)
    return root


def _engine(root: Path) -> ContainerEngine:
    work_dir = root.parent / f"{root.name}-engine"
    work_dir.mkdir(parents=True, exist_ok=True)
    return engine_or_unavailable(work_dir)


def client(root: Path, service: str) -> Any:
    server = sandbox.running(root)
    assert server is not None, "the processes app's emulator is not running"
    return sandbox.client(server, REGION, service)


def _push(root: Path, up_body: str, tag: str) -> str:
    """The test image with `up_body`, built locally and recorded in the emulated ECR."""
    engine = _engine(root)
    local = http_image(engine, root.parent / "images", up_body=up_body)
    uri, digest = record_in_ecr(client(root, "ecr"), engine, local, APP, tag)
    return f"{uri}@{digest}"


def _running(root: Path) -> dict[str, str]:
    """service -> the image its task definition runs."""
    ecs = client(root, "ecs")
    services = ecs.describe_services(cluster=CLUSTER, services=[WEB, WORKER])["services"]
    return {s["serviceName"]: _image(ecs, s["taskDefinition"]) for s in services}


def _image(ecs: Any, task_definition: str) -> str:
    described = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return str(described["containerDefinitions"][0]["image"])


def _running_tasks(ecs: Any, service: str) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=service, desiredStatus="RUNNING")
    if not arns["taskArns"]:
        return []
    return list(ecs.describe_tasks(cluster=CLUSTER, tasks=arns["taskArns"])["tasks"])


def _hakobu(root: Path, *args: str) -> str:
    result = run_hakobu(*args, "--sandbox", cwd=root)
    assert result.code == 0, f"hakobu {' '.join(args)}:\n{result.output}"
    return result.output


def check_processes_stack(root: Path) -> None:
    _check_provisioned(root)
    first, second = _push(root, FIRST, "v1"), _push(root, SECOND, "v2")
    assert first != second
    _check_deploy_moves_every_process(root, first, second)
    _check_rollback_moves_every_process(root, first)
    _check_scale_and_status(root)
    _check_pause_and_resume_cover_the_worker(root)
    _check_schedules(root)
    _check_destroy_keeps_the_uploads(root)


def _check_provisioned(root: Path) -> None:
    ecs = client(root, "ecs")
    [worker] = ecs.describe_services(cluster=CLUSTER, services=[WORKER])["services"]
    assert worker["desiredCount"] == 1 and worker["launchType"] == "FARGATE"
    assert not worker.get("loadBalancers")
    definition = ecs.describe_task_definition(taskDefinition=worker["taskDefinition"])
    container = definition["taskDefinition"]["containerDefinitions"][0]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "worker"
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
    _check_policies_name_the_real_arns(root, worker, schedule)
    _check_provision_policy_names_the_real_arns(root, schedule, bucket)


def _check_policies_name_the_real_arns(
    root: Path, worker: dict[str, Any], schedule: dict[str, Any]
) -> None:
    """The deploy and operate policies' resources match the worker's service and revision,
    the schedules' family and the schedule, as the stack really named them."""
    env = load_project(root / "hakobu.toml").environment(None)
    scope = Scope("aws", REGION, "123456789012")
    deploy, operate = policy(env, "deploy", scope), policy(env, "operate", scope)

    def allowed(document: dict[str, Any], sid: str, arn: str) -> bool:
        [statement] = [s for s in document["Statement"] if s["Sid"] == sid]
        resources = statement["Resource"]
        patterns = [resources] if isinstance(resources, str) else resources
        return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)

    assert allowed(deploy, "DescribeAndUpdateService", worker["serviceArn"])
    assert allowed(operate, "DescribeAndScaleService", worker["serviceArn"])
    family = client(root, "ecs").describe_task_definition(taskDefinition=f"{APP}-schedules")
    for arn in (worker["taskDefinition"], family["taskDefinition"]["taskDefinitionArn"]):
        assert allowed(deploy, "RegisterRevisionsOfFamily", arn), arn
    assert allowed(
        operate, "RunOneOffTasksInCluster", family["taskDefinition"]["taskDefinitionArn"]
    )
    assert allowed(operate, "ReadSchedules", schedule["Arn"]), schedule["Arn"]


def _allowed(document: dict[str, Any], sid: str, arn: str) -> bool:
    [statement] = [s for s in document["Statement"] if s["Sid"] == sid]
    resources = statement["Resource"]
    patterns = [resources] if isinstance(resources, str) else resources
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def _check_provision_policy_names_the_real_arns(
    root: Path, schedule: dict[str, Any], bucket: str
) -> None:
    """The provision policy's statements for schedules and storage name the schedule, its
    dead-letter queue and role, and the bucket, as Terraform really created them."""
    env = load_project(root / "hakobu.toml").environment(None)
    provision = policy(env, "provision", Scope("aws", REGION, "123456789012"))
    target = schedule["Target"]
    assert _allowed(provision, "Schedules", schedule["Arn"]), schedule["Arn"]
    queue = target["DeadLetterConfig"]["Arn"]
    assert _allowed(provision, "SchedulesDeadLetterQueue", queue), queue
    for sid in ("SchedulerRole", "PassSchedulerRoleToScheduler"):
        assert _allowed(provision, sid, target["RoleArn"]), (sid, target["RoleArn"])
    assert _allowed(provision, "StorageBucket", f"arn:aws:s3:::{bucket}"), bucket
    upload = f"arn:aws:s3:::{bucket}/uploads/avatar.png"
    assert _allowed(provision, "EmptyStorageBucketOnDeleteData", upload)


def _check_deploy_moves_every_process(root: Path, first: str, second: str) -> None:
    _hakobu(root, "deploy", "--image", first)
    assert _running(root) == {WEB: first, WORKER: first}
    _check_really_running(root, FIRST)
    ecs = client(root, "ecs")
    assert _image(ecs, f"{APP}-schedules") == first  # the family's newest revision
    _hakobu(root, "deploy", "--image", second)
    assert _running(root) == {WEB: second, WORKER: second}
    _check_really_running(root, SECOND)
    assert _image(ecs, f"{APP}-schedules") == second
    releases = json.loads(run_hakobu("releases", "--json", "--sandbox", cwd=root).stdout)
    newest, previous = releases["releases"][0], releases["releases"][1]
    assert newest["current"] and newest["image"] == second
    assert previous["image"] == first
    # One image across processes: each release names the worker revision running it.
    worker = _worker_revision(ecs)
    assert newest["processes"] == {"worker": worker}
    assert previous["processes"]["worker"] != worker


def _check_really_running(root: Path, up_body: str) -> None:
    """After a deploy returned: web serves this version through the load balancer, and the
    worker's one task is a RUNNING container of this version's revision, whose own lines
    (its command, not web's) reach CloudWatch Logs under the worker's stream prefix."""
    assert wait_until(lambda: served_body(root, "/up", up_body), f"web serving {up_body!r}")
    ecs = client(root, "ecs")
    [task] = _running_tasks(ecs, WORKER)
    assert task["lastStatus"] == "RUNNING"
    assert task["taskDefinitionArn"].endswith(_worker_revision(ecs))
    task_id = task["taskArn"].rsplit("/", 1)[-1]

    def worker_said() -> str | None:
        result = run_hakobu(
            "logs", "--process", "worker", "--task", task_id, "--since", "5m", "--sandbox", cwd=root
        )
        assert result.code == 0, result.output
        return result.stdout if f"worker of {up_body}" in result.stdout else None

    lines = wait_until(worker_said, f"task {task_id}'s lines of {up_body!r}").splitlines()
    assert lines and all(line.startswith(task_id[:8]) for line in lines), lines
    assert all(line.endswith(f" worker of {up_body}") for line in lines), lines
    # --process keeps each process's streams apart: no web line among the worker's.
    every = run_hakobu("logs", "--process", "worker", "--since", "5m", "--sandbox", cwd=root)
    assert every.code == 0 and "worker of" in every.stdout, every.output
    assert "test app on port" not in every.stdout, every.stdout  # web's own first line
    web = run_hakobu("logs", "--process", "web", "--since", "5m", "--sandbox", cwd=root)
    assert web.code == 0 and "worker of" not in web.stdout, web.output


def _worker_revision(ecs: Any) -> str:
    [worker] = ecs.describe_services(cluster=CLUSTER, services=[WORKER])["services"]
    return str(worker["taskDefinition"]).rsplit("/", 1)[-1]


def _check_rollback_moves_every_process(root: Path, first: str) -> None:
    _hakobu(root, "rollback")
    assert _running(root) == {WEB: first, WORKER: first}
    _check_really_running(root, FIRST)
    assert _image(client(root, "ecs"), f"{APP}-schedules") == first


def _check_scale_and_status(root: Path) -> None:
    """`scale worker=2` starts a second worker container and records the count in
    hakobu.toml; `status` shows the worker beside web, with its counts and revision."""
    out = _hakobu(root, "scale", "worker=2")
    assert f"{WORKER} (production): desired count 1 → 2" in out, out
    config = (root / "hakobu.toml").read_text()
    assert "processes.worker.desired_count = 2" in config
    ecs = client(root, "ecs")
    # list_tasks(desiredStatus=RUNNING) includes a task still PENDING: wait for both to run.
    wait_until(
        lambda: len([t for t in _running_tasks(ecs, WORKER) if t["lastStatus"] == "RUNNING"]) == 2,
        "two running worker tasks",
    )
    assert wait_until(
        lambda: _status(root)["processes"][0]["running_count"] == 2, "status: 2 running"
    )
    [worker] = _status(root)["processes"]
    assert worker["process"] == "worker" and worker["name"] == WORKER
    assert worker["desired_count"] == 2
    assert worker["task_definition"] == _worker_revision(ecs)
    assert worker["rollout_state"] == "COMPLETED"
    text = _hakobu(root, "status")
    assert "Processes beside web" in text and WORKER in text, text
    # exec --process: a session in the worker's container, not web's.
    in_worker = _exec(root, "--process", "worker")
    assert "worker of $UP_BODY" in in_worker and "httpd" not in in_worker, in_worker
    assert "httpd" in _exec(root)


def _exec(root: Path, *options: str) -> str:
    """`ps` in a task's container, through `hakobu exec` (stdin a pipe: no terminal)."""
    result = run_hakobu("exec", *options, "--sandbox", "--", "/bin/ps", cwd=root, input_text="")
    assert result.code == 0, result.output
    return result.stdout


def _check_pause_and_resume_cover_the_worker(root: Path) -> None:
    """A pause takes the worker to zero with web (its containers stop) and disables the
    schedule, a resume brings the worker's two tasks back and enables the schedule."""
    ecs, scheduler = client(root, "ecs"), client(root, "scheduler")
    _hakobu(root, "pause", "--yes")
    [worker] = ecs.describe_services(cluster=CLUSTER, services=[WORKER])["services"]
    assert worker["desiredCount"] == 0
    assert scheduler.get_schedule(Name=f"{APP}-nightly")["State"] == "DISABLED"
    wait_until(lambda: not _running_tasks(ecs, WORKER), "the worker's tasks stopped")
    _hakobu(root, "resume", "--yes")
    [worker] = ecs.describe_services(cluster=CLUSTER, services=[WORKER])["services"]
    assert worker["desiredCount"] == 2
    assert scheduler.get_schedule(Name=f"{APP}-nightly")["State"] == "ENABLED"
    running = wait_until(
        lambda: [t for t in _running_tasks(ecs, WORKER) if t["lastStatus"] == "RUNNING"],
        "the worker running again",
    )
    assert running[0]["taskDefinitionArn"].endswith(_worker_revision(ecs))


def _status(root: Path) -> dict[str, Any]:
    result = run_hakobu("status", "--json", "--sandbox", cwd=root)
    assert result.code == 0, result.output
    return dict(json.loads(result.stdout))


def _check_schedules(root: Path) -> None:
    [listed] = json.loads(_schedules_json(root))
    assert listed["name"] == "nightly" and listed["expression"] == "cron(0 3 * * ? *)"
    assert listed["timezone"] == "Asia/Tokyo" and listed["state"] == "ENABLED"
    assert listed["next_run"].endswith("T03:00:00+09:00"), listed
    # Run now, for real: the rolled-back release's image, the schedule's own command.
    ran = run_hakobu("schedules", "run", "nightly", "--sandbox", cwd=root)
    assert ran.code == 3, ran.output  # its exit code is the command's
    assert f"nightly cleanup on {FIRST}" in ran.output, ran.output
    assert "exited 3" in ran.output
    [after] = json.loads(_schedules_json(root))
    assert after["last_exit_code"] == 3, after
    assert f"{APP}-schedules:" in after["last_run"], after


def _schedules_json(root: Path) -> str:
    result = run_hakobu("schedules", "--json", "--sandbox", cwd=root)
    assert result.code == 0, result.output
    return json.dumps(json.loads(result.stdout)["schedules"])


def _check_destroy_keeps_the_uploads(root: Path) -> None:
    """An upload (two versions of it) stops `destroy` after its plan, before anything is
    asked or deleted; the stack's final destroy in test_profiles_sandbox passes
    --delete-data, and check_processes_gone then sees the bucket gone."""
    s3 = client(root, "s3")
    bucket = f"{APP}-123456789012-{REGION}"
    for body in (b"first avatar", b"second avatar"):
        s3.put_object(Bucket=bucket, Key="uploads/avatar.png", Body=body)
    refused = run_hakobu("destroy", "production", "--sandbox", "--yes", cwd=root)
    said = " ".join(refused.stderr.split())
    assert refused.code == 1, refused.output
    assert f"the storage bucket {bucket} still holds uploads: nothing was destroyed" in said
    assert "hakobu destroy production --sandbox --delete-data" in said
    assert "Traceback" not in refused.output
    [service] = client(root, "ecs").describe_services(
        cluster=f"{APP}-cluster", services=[f"{APP}-service"]
    )["services"]
    assert service["status"] == "ACTIVE"
    kept = s3.get_object(Bucket=bucket, Key="uploads/avatar.png")["Body"].read()
    assert kept == b"second avatar"


def check_processes_gone(root: Path) -> None:
    names = [b["Name"] for b in client(root, "s3").list_buckets()["Buckets"]]
    assert not [name for name in names if name.startswith(APP)], names
    assert not client(root, "scheduler").list_schedules()["Schedules"]
