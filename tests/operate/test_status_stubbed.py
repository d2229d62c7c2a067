"""`hakobu status` with botocore's Stubber: what the sandbox runtime shows only by chance or never
(every target-health reason code at once, stopped tasks with given exit codes, a rollout frozen with
two deployments) and the promise of the fewest API calls. Responses are shaped like AWS's own (the
Stubber validates them against the service models). Each Stubber's queue is strict: an extra call
fails at once, a missing one fails `verify()`, so a consumed queue proves the call count."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hakobu.cli import status_commands
from hakobu.cli.context import Consoles
from hakobu.core.errors import HakobuError
from hakobu.operate.status import StatusReport, gather_status
from hakobu.ship.rollout import TARGET_REASONS
from tests.conftest import environment_of
from tests.support.stubbed_aws import (
    ACCOUNT,
    CLUSTER,
    NEW,
    NOW,
    OLD,
    SERVICE,
    TG,
    StubbedAws,
    deployment_entry,
    service_response,
)

REGION = "ap-northeast-1"
ALB_DNS = f"rails-app-alb-1234567890.{REGION}.elb.amazonaws.com"
REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0f3d2c1b9a8e4d7c"

# The state ELB reports with each reason code (AWS's TargetHealth documentation).
STATE_OF_REASON = {
    "Elb.RegistrationInProgress": "initial",
    "Elb.InitialHealthChecking": "initial",
    "Elb.InternalError": "unhealthy",
    "Target.ResponseCodeMismatch": "unhealthy",
    "Target.Timeout": "unhealthy",
    "Target.FailedHealthChecks": "unhealthy",
    "Target.NotRegistered": "unused",
    "Target.NotInUse": "unused",
    "Target.DeregistrationInProgress": "draining",
    "Target.InvalidState": "unused",
    "Target.IpUnusable": "unused",
    "Target.HealthCheckDisabled": "unavailable",
}


# --- AWS-shaped responses ---------------------------------------------------------------


def _deployment(
    ident: str, status: str, task_definition: str, state: str, running: int, reason: str
) -> dict[str, Any]:
    return deployment_entry(
        ident, status, task_definition, state, reason, runningCount=running,
        pendingCount=1 - running, failedTasks=0, updatedAt=NOW, launchType="FARGATE",
    )  # fmt: skip


def _services(deployments: list[dict[str, Any]], task_definition: str) -> dict[str, Any]:
    events = [
        {
            "id": f"event-{i}",
            "createdAt": NOW - timedelta(minutes=i),
            "message": f"(service {SERVICE}) event number {i}",
        }
        for i in range(8)  # newest first, as AWS lists them
    ]
    return service_response(
        deployments,
        task_definition,
        serviceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
        clusterArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        desiredCount=2,
        runningCount=1,
        pendingCount=1,
        launchType="FARGATE",
        events=events,
    )


def _task_definition(arn: str, image: str, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": arn,
            "family": "rails-app",
            "revision": int(arn.rsplit(":", 1)[1]),
            "status": "ACTIVE",
            "containerDefinitions": [{"name": "rails-app", "image": image, "essential": True}],
            "registeredAt": NOW - timedelta(hours=1),
        },
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }


def _target_health(reasons: list[str]) -> dict[str, Any]:
    descriptions = []
    for i, reason in enumerate(reasons):
        descriptions.append(
            {
                "Target": {"Id": f"10.0.10.{i + 10}", "Port": 3000},
                "HealthCheckPort": "3000",
                "TargetHealth": {
                    "State": STATE_OF_REASON[reason],
                    "Reason": reason,
                    "Description": "Health checks failed with these codes: [301]"
                    if reason == "Target.ResponseCodeMismatch"
                    else f"described by ELB ({reason})",
                },
            }
        )
    return {"TargetHealthDescriptions": descriptions}


STOPPED_TASK = {
    "taskArn": TASK,
    "taskDefinitionArn": NEW,
    "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
    "lastStatus": "STOPPED",
    "desiredStatus": "STOPPED",
    "stopCode": "ServiceSchedulerInitiated",
    "stoppedReason": f"Task failed ELB health checks in (target-group {TG})",
    "stoppedAt": NOW - timedelta(minutes=2),
    "containers": [
        {
            "name": "rails-app",
            "exitCode": 137,
            "lastStatus": "STOPPED",
            "reason": "OutOfMemoryError: Container killed due to memory usage",
        }
    ],
}
OLDER_STOPPED = {
    **STOPPED_TASK,
    "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/11aa22bb33cc44dd",
    "taskDefinitionArn": OLD,
    "stopCode": "EssentialContainerExited",
    "stoppedReason": "Essential container in task exited",
    "stoppedAt": NOW - timedelta(minutes=30),
    "containers": [{"name": "rails-app", "exitCode": 1, "lastStatus": "STOPPED"}],
}
LOAD_BALANCERS = {
    "LoadBalancers": [
        {
            "LoadBalancerArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
            "loadbalancer/app/rails-app-alb/50dc6c495c0c9188",
            "DNSName": ALB_DNS,
            "LoadBalancerName": "rails-app-alb",
            "Scheme": "internet-facing",
            "Type": "application",
            "State": {"Code": "active"},
        }
    ]
}
DB_INSTANCES = {
    "DBInstances": [
        {
            "DBInstanceIdentifier": "rails-app-db",
            "DBInstanceClass": "db.t4g.micro",
            "Engine": "mysql",
            "EngineVersion": "8.4.5",
            "DBInstanceStatus": "available",
            "Endpoint": {
                "Address": f"rails-app-db.c1a2b3c4d5e6.{REGION}.rds.amazonaws.com",
                "Port": 3306,
            },
        }
    ]
}


# --- helpers ----------------------------------------------------------------------------


class CountingAws(StubbedAws):
    """StubbedAws that also records every operation called (in any client)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def client(self, name: str) -> Any:
        fresh = name not in self.clients
        client = super().client(name)
        if fresh:
            # before-parameter-build fires for every call, also when the Stubber answers it.
            client.meta.events.register(
                "before-parameter-build.*.*",
                lambda model, **_: self.calls.append(f"{name}.{model.name}"),
            )
        return client


def _env(tmp_path: Path) -> Any:
    return environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)


def _stub_edges(aws: StubbedAws, throttled: bool = False) -> None:
    """The load balancer and the DB, which every status describes once."""
    aws.stub("elbv2").add_response(
        "describe_load_balancers", LOAD_BALANCERS, {"Names": ["rails-app-alb"]}
    )
    if throttled:
        aws.stub("rds").add_client_error(
            "describe_db_instances",
            service_error_code="Throttling",
            service_message="Rate exceeded",
            http_status_code=400,
        )
    aws.stub("rds").add_response(
        "describe_db_instances", DB_INSTANCES, {"DBInstanceIdentifier": "rails-app-db"}
    )


def _stub_rollout_in_progress(aws: StubbedAws, throttled: bool = False) -> None:
    ecs, elbv2 = aws.stub("ecs"), aws.stub("elbv2")
    deployments = [
        _deployment(
            "ecs-svc/222",
            "PRIMARY",
            NEW,
            "IN_PROGRESS",
            0,
            "ECS deployment ecs-svc/222 in progress.",
        ),
        _deployment(
            "ecs-svc/111", "ACTIVE", OLD, "COMPLETED", 1, "ECS deployment ecs-svc/111 completed."
        ),
    ]
    ecs.add_response(
        "describe_services",
        _services(deployments, NEW),
        {"cluster": CLUSTER, "services": [SERVICE]},
    )
    ecs.add_response(
        "describe_task_definition",
        _task_definition(NEW, f"{REPO}@sha256:{'b' * 64}", {"hakobu:image-tag": "0123456789ab"}),
        {"taskDefinition": NEW, "include": ["TAGS"]},
    )
    ecs.add_response(
        "describe_task_definition",
        _task_definition(OLD, f"{REPO}:v41", {}),
        {"taskDefinition": OLD, "include": ["TAGS"]},
    )
    ecs.add_response(
        "list_tasks",
        {"taskArns": [OLDER_STOPPED["taskArn"], TASK]},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "STOPPED", "maxResults": 100},
    )
    ecs.add_response(
        "describe_tasks",
        {"tasks": [OLDER_STOPPED, STOPPED_TASK], "failures": []},
        {"cluster": CLUSTER, "tasks": [OLDER_STOPPED["taskArn"], TASK]},
    )
    _stub_edges(aws, throttled)
    elbv2.add_response(
        "describe_target_health", _target_health(list(TARGET_REASONS)), {"TargetGroupArn": TG}
    )


def _rendered(report: StatusReport) -> str:
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(status_commands.screen(report))
    return console.file.getvalue()  # type: ignore[attr-defined]


# --- tests ------------------------------------------------------------------------------


def test_rollout_in_progress_takes_the_fewest_calls(tmp_path: Path) -> None:
    """botocore Stubber: two deployments (two revisions), one target group, two stopped
    tasks: exactly 8 calls, each client's queue consumed in order."""
    aws = CountingAws()
    _stub_rollout_in_progress(aws)
    report = gather_status(aws, _env(tmp_path))  # type: ignore[arg-type]
    aws.verify()
    assert sorted(aws.calls) == sorted(
        [
            "ecs.DescribeServices",
            "ecs.DescribeTaskDefinition",  # the PRIMARY's revision
            "ecs.DescribeTaskDefinition",  # the ACTIVE one's
            "ecs.ListTasks",
            "ecs.DescribeTasks",
            "elbv2.DescribeLoadBalancers",
            "elbv2.DescribeTargetHealth",
            "rds.DescribeDBInstances",
        ]
    )
    assert report.verdict == "rolling out"
    assert (report.service.desired, report.service.running, report.service.pending) == (2, 1, 1)
    primary, active = report.deployments
    assert (primary.line.status, primary.line.task_definition) == ("PRIMARY", "rails-app:5")
    assert primary.line.rollout_state == "IN_PROGRESS"
    assert primary.image_tag == "0123456789ab"  # from the hakobu:image-tag tag
    assert (active.line.status, active.image_tag) == ("ACTIVE", "v41")  # from the image
    assert report.url == f"http://{ALB_DNS}"
    assert report.database is not None and report.database.status == "available"


def test_rollout_in_progress_renders_both_deployments(tmp_path: Path) -> None:
    """botocore Stubber: the text screen lists both deployments with revision, state and
    image tag."""
    aws = StubbedAws()
    _stub_rollout_in_progress(aws)
    text = _rendered(gather_status(aws, _env(tmp_path)))  # type: ignore[arg-type]
    aws.verify()
    assert "rails-app-service (production, ap-northeast-1)  rolling out" in text
    assert "desired 2  running 1  pending 1" in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("PRIM", "ACT"))]
    assert rows[0][:7] == ["PRIMARY", "rails-app:5", "IN_PROGRESS", "1", "1", "0", "0123456789ab"]
    assert rows[1][:7] == ["ACTIVE", "rails-app:4", "COMPLETED", "1", "0", "1", "v41"]
    assert "ECS deployment ecs-svc/222 in progress." in text
    assert f"http://{ALB_DNS}  (load balancer active)" in text
    assert "rails-app-db  available  mysql 8.4.5  db.t4g.micro" in text


def test_every_target_reason_is_explained_in_words(tmp_path: Path) -> None:
    """botocore Stubber: one target per ELB reason code; each is shown with its state, the
    code, ELB's description and hakobu's explanation."""
    aws = StubbedAws()
    _stub_rollout_in_progress(aws)
    report = gather_status(aws, _env(tmp_path))  # type: ignore[arg-type]
    aws.verify()
    text = " ".join(_rendered(report).split())  # wrapped explanations read as one line
    (group,) = report.target_groups
    assert group.name == "rails-app-tg"
    assert [t.reason for t in group.targets] == list(TARGET_REASONS)
    for i, (reason, words) in enumerate(TARGET_REASONS.items()):
        assert f"10.0.10.{i + 10}:3000 {STATE_OF_REASON[reason]} {reason}" in text
        assert f"→ {words}" in text
    assert "Health checks failed with these codes: [301]" in text  # brackets are not markup


def test_stopped_tasks_show_reason_and_exit_code(tmp_path: Path) -> None:
    """botocore Stubber: stopped tasks of any revision, newest first, with ECS's stop code
    and reason and each container's exit code."""
    aws = StubbedAws()
    _stub_rollout_in_progress(aws)
    report = gather_status(aws, _env(tmp_path))  # type: ignore[arg-type]
    aws.verify()
    newest, older = report.stopped_tasks
    assert (newest.task_definition, newest.containers[0].exit_code) == ("rails-app:5", 137)
    assert (older.task_definition, older.containers[0].exit_code) == ("rails-app:4", 1)
    text = _rendered(report)
    assert (
        f"[ServiceSchedulerInitiated]; Task failed ELB health checks in (target-group {TG}); "
        "rails-app: exit code 137, OutOfMemoryError: Container killed due to memory usage"
    ) in text
    assert (
        "[EssentialContainerExited]; Essential container in task exited; rails-app: exit code 1"
    ) in text
    assert text.index("0f3d2c1b9a8e4d7c") < text.index("11aa22bb33cc44dd")


def test_json_envelope(tmp_path: Path) -> None:
    """botocore Stubber: the --json envelope is versioned, serialisable, and carries every
    part; events are the newest five, oldest first."""
    aws = StubbedAws()
    _stub_rollout_in_progress(aws)
    data = json.loads(json.dumps(gather_status(aws, _env(tmp_path)).as_json()))  # type: ignore[arg-type]
    aws.verify()
    assert data["version"] == 1
    assert data["service"] == {
        "name": SERVICE,
        "status": "ACTIVE",
        "desired_count": 2,
        "running_count": 1,
        "pending_count": 1,
        "task_definition": "rails-app:5",
    }
    assert [d["status"] for d in data["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert data["deployments"][0]["release"]["image_tag"] == "0123456789ab"
    assert data["deployments"][0]["release"]["digest"] == "sha256:" + "b" * 64
    assert [e["id"] for e in data["events"]] == [f"event-{i}" for i in (4, 3, 2, 1, 0)]
    targets = data["target_groups"][0]["targets"]
    assert targets[3]["explanation"] == TARGET_REASONS["Target.ResponseCodeMismatch"]
    assert data["stopped_tasks"][0]["containers"][0]["exit_code"] == 137
    assert data["database"]["identifier"] == "rails-app-db"
    assert data["url"] == f"http://{ALB_DNS}"
    assert data["sandbox"] is False and data["verdict"] == "rolling out"


def test_steady_service_needs_six_calls(tmp_path: Path) -> None:
    """botocore Stubber: one deployment, no stopped task: no describe_tasks is sent (there
    is nothing to describe), so 6 calls in all."""
    aws = CountingAws()
    ecs = aws.stub("ecs")
    done = "ECS deployment ecs-svc/222 completed."
    ecs.add_response(
        "describe_services",
        _services([_deployment("ecs-svc/222", "PRIMARY", NEW, "COMPLETED", 1, done)], NEW),
        None,
    )
    tags = {"hakobu:image-tag": "0123456789ab"}
    ecs.add_response("describe_task_definition", _task_definition(NEW, REPO, tags), None)
    ecs.add_response("list_tasks", {"taskArns": []}, None)
    _stub_edges(aws)
    aws.stub("elbv2").add_response("describe_target_health", _target_health([]), None)
    report = gather_status(aws, _env(tmp_path))  # type: ignore[arg-type]
    aws.verify()
    assert len(aws.calls) == 6
    assert report.stopped_tasks == ()
    assert "no targets registered" in _rendered(report)


def test_missing_environment_says_run_hakobu_up(tmp_path: Path) -> None:
    """botocore Stubber: no cluster: a HakobuError whose fix is `hakobu up`."""
    aws = StubbedAws()
    aws.stub("ecs").add_client_error(
        "describe_services",
        service_error_code="ClusterNotFoundException",
        service_message="Cluster not found.",
    )
    aws.stub("elbv2").add_client_error(
        "describe_load_balancers",
        service_error_code="LoadBalancerNotFound",
        service_message="Load balancers '[rails-app-alb]' not found",
        http_status_code=400,
    )
    aws.stub("rds").add_client_error(
        "describe_db_instances",
        service_error_code="DBInstanceNotFound",
        service_message="DBInstance rails-app-db not found.",
        http_status_code=404,
    )
    with pytest.raises(HakobuError) as caught:
        gather_status(aws, _env(tmp_path))  # type: ignore[arg-type]
    aws.verify()
    assert "rails-app-cluster does not exist" in caught.value.problem
    assert caught.value.fix == "run hakobu up"


def test_missing_db_and_load_balancer_leave_their_part_empty(tmp_path: Path) -> None:
    """botocore Stubber: a half-created environment still shows its service."""
    aws = StubbedAws()
    done = "ECS deployment ecs-svc/222 completed."
    aws.stub("ecs").add_response(
        "describe_services",
        _services([_deployment("ecs-svc/222", "PRIMARY", NEW, "COMPLETED", 1, done)], NEW),
        None,
    )
    aws.stub("ecs").add_response("describe_task_definition", _task_definition(NEW, REPO, {}), None)
    aws.stub("ecs").add_response("list_tasks", {"taskArns": []}, None)
    aws.stub("elbv2").add_client_error(
        "describe_load_balancers", service_error_code="LoadBalancerNotFound", http_status_code=400
    )
    aws.stub("elbv2").add_response("describe_target_health", _target_health([]), None)
    aws.stub("rds").add_client_error(
        "describe_db_instances", service_error_code="DBInstanceNotFound", http_status_code=404
    )
    report = gather_status(aws, _env(tmp_path))  # type: ignore[arg-type]
    aws.verify()
    assert (report.database, report.url) == (None, None)
    text = _rendered(report)
    assert "no load balancer: run hakobu up" in text
    assert "no DB instance: run hakobu up" in text


def test_throttling_is_waited_out(tmp_path: Path) -> None:
    """botocore Stubber: a throttled describe_db_instances is retried after a backoff (the
    one extra call a throttle costs)."""
    aws = CountingAws()
    _stub_rollout_in_progress(aws, throttled=True)
    slept: list[float] = []
    report = gather_status(aws, _env(tmp_path), sleep=slept.append)  # type: ignore[arg-type]
    aws.verify()
    assert slept == [1.0]
    assert aws.calls.count("rds.DescribeDBInstances") == 2
    assert report.database is not None


# --- --watch (no AWS: a gather function that returns reports) ---------------------------


def _report(running: int) -> StatusReport:
    from hakobu.operate.status import ServiceStatus

    return StatusReport(
        environment="production",
        region=REGION,
        sandbox=False,
        gathered_at=NOW,
        service=ServiceStatus(SERVICE, "ACTIVE", 1, running, 1 - running, "rails-app:5"),
        deployments=(),
        target_groups=(),
        events=(),
        stopped_tasks=(),
        database=None,
        load_balancer=None,
    )


class Ticks:
    """A sleep that lets `limit` refreshes happen, then is interrupted like Ctrl-C."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) >= self.limit:
            raise KeyboardInterrupt


def _capture() -> tuple[io.StringIO, Consoles]:
    """The command's consoles, handed in: stdout's Rich console writes to a buffer."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None, force_terminal=False)
    return buffer, Consoles(out=console)


def test_watch_refreshes_until_ctrl_c_then_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a terminal each refresh prints a new screen; Ctrl-C ends the watch quietly
    (the command then exits 0)."""
    buffer, consoles = _capture()
    reports = iter([_report(0), _report(1), _report(1)])
    ticks = Ticks(limit=3)
    status_commands._watch(
        lambda: next(reports), 2.0, as_json=False, sleep=ticks, consoles=consoles
    )
    text = buffer.getvalue()
    assert ticks.slept == [2.0, 2.0, 2.0]
    assert text.count("rails-app-service (production, ap-northeast-1)") == 3
    assert "below desired count" in text and "steady" in text
    assert text.rstrip().endswith("Stopped watching.")


def test_watch_keeps_the_last_status_when_a_refresh_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dropped connection during a watch is shown, not fatal; the next refresh recovers."""
    from botocore.exceptions import EndpointConnectionError

    buffer, consoles = _capture()
    answers: list[Any] = [
        _report(1),
        EndpointConnectionError(endpoint_url="https://ecs.ap-northeast-1.amazonaws.com"),
        _report(1),
    ]

    def gather() -> StatusReport:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    status_commands._watch(gather, 5.0, as_json=False, sleep=Ticks(limit=3), consoles=consoles)
    text = buffer.getvalue()
    assert "refresh failed, showing the last status: Could not connect" in text
    assert text.count("rails-app-service (production") == 2  # not repeated on the failure


def test_watch_json_prints_one_envelope_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, consoles = _capture()
    status_commands._watch(
        lambda: _report(1), 1.0, as_json=True, sleep=Ticks(limit=2), consoles=consoles
    )
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["version"] for line in lines] == [1, 1]
