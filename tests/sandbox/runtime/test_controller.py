"""The runtime for real: a moto server in this process with the runtime attached, boto3
over HTTP, real podman (or docker) containers of the busybox test app, a real MariaDB, and
the local load balancer on 127.0.0.1. Every assertion is about what a user sees: the
service's counts, deployments and events, describe-tasks' exit codes and reasons,
describe-target-health's states, the log events, HTTP answers through the load balancer.

Health checks run every 2 s (AWS's minimum is 5 s; the emulator accepts less, so these
tests take seconds, not minutes). Waits poll a condition with a generous deadline.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from hakobu.sandbox.runtime import bridge, rules
from hakobu.sandbox.runtime.controller import Runtime, read_facts
from hakobu.sandbox.runtime.engine import ContainerEngine
from tests.support.ecs_stack import (
    DB_PASSWORD,
    REGION,
    Aws,
    Stack,
    create_service,
    make_stack,
    moto_server,
    register_revision,
)
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.needs import missing

WAIT_S = 120.0
_names = (f"rt{n}" for n in itertools.count())
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- the circuit breaker and rolling-update arithmetic (no containers needed) -------------


@pytest.mark.parametrize(
    ("desired", "threshold"),
    [(0, 3), (1, 3), (2, 3), (6, 3), (7, 4), (10, 5), (399, 200), (1000, 200)],
)
def test_circuit_breaker_threshold(desired: int, threshold: int) -> None:
    assert rules.circuit_breaker_threshold(desired) == threshold


def test_rolling_step_keeps_the_minimum_healthy() -> None:
    limits = rules.bounds(desired=2, minimum_healthy_percent=100, maximum_percent=200)
    assert limits == rules.Bounds(minimum_healthy=2, maximum_running=4)
    # A new deployment: start 2 new ones, stop nothing while they are not healthy.
    assert rules.rolling_step(2, limits, 0, 0, 2, 2) == rules.Step(2, 0, 0)
    assert rules.rolling_step(2, limits, 2, 1, 2, 2) == rules.Step(0, 1, 0)
    assert rules.rolling_step(2, limits, 2, 2, 2, 2) == rules.Step(0, 2, 0)
    # 50 % / 100 %: no room above the count, so one old task goes first.
    tight = rules.bounds(desired=2, minimum_healthy_percent=50, maximum_percent=100)
    assert rules.rolling_step(2, tight, 0, 0, 2, 2) == rules.Step(0, 1, 0)
    assert rules.rolling_step(2, tight, 0, 0, 1, 1) == rules.Step(1, 0, 0)
    # An unhealthy old task costs no capacity: it is stopped at once.
    assert rules.rolling_step(2, limits, 0, 0, 2, 1).stop_old == 1
    # Scale-in stops the surplus; desired 0 stops everything.
    assert rules.rolling_step(1, limits, 3, 3, 0, 0).stop_surplus == 2
    zero = rules.bounds(0, 100, 200)
    assert rules.rolling_step(0, zero, 0, 0, 2, 2) == rules.Step(0, 2, 0)


# --- fixtures: moto + the runtime + the engine ---------------------------------------------


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(scope="module")
def engine(work_dir: Path) -> ContainerEngine:
    return engine_or_unavailable(work_dir / "engine")


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as server:
        yield server


@pytest.fixture(scope="module")
def runtime(aws: Aws, engine: ContainerEngine, work_dir: Path) -> Iterator[Runtime]:
    facts = work_dir / ".hakobu" / "sandbox-runtime.json"
    started = Runtime(engine, work_dir / ".hakobu" / "sandbox", facts, interval_s=0.2)
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def images(engine: ContainerEngine, work_dir: Path) -> dict[str, str]:
    build = work_dir / "images"
    return {
        "v1": http_image(engine, build, up_body="v1"),
        "v2": http_image(engine, build, up_body="v2"),
        "crash": http_image(engine, build, up_body="crash", exit_code=3),
        "sick": http_image(engine, build, up_body="sick", healthy=False),
    }


def _container(app: str, image: str) -> dict[str, Any]:
    return {
        "name": app,
        "image": image,
        "essential": True,
        "memory": 128,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "GREETING", "value": "hello"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": f"/ecs/{app}",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "ecs",
            },
        },
    }


def _stack(aws: Aws, images: dict[str, str], deregistration_s: int = 1) -> Stack:
    app = next(_names)
    stack = make_stack(aws, app, container=_container(app, images["v1"]))
    # Faster checks than AWS accepts (5 s minimum): botocore would refuse, moto does not.
    fast = aws.client("elbv2", Config(parameter_validation=False))
    fast.modify_target_group(
        TargetGroupArn=stack.target_group,
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=2,
        HealthCheckTimeoutSeconds=1,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=2,
    )
    fast.modify_target_group_attributes(
        TargetGroupArn=stack.target_group,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_s)}
        ],
    )
    # The secret the default container would inject, added to this stack's container.
    revision = register_revision(
        aws, stack, secrets=[{"name": "DATABASE_PASSWORD", "valueFrom": stack.secret_arn}]
    )
    stack.task_definition = revision
    return stack


# --- helpers: what a user would look at ----------------------------------------------------


def _service(aws: Aws, stack: Stack) -> dict[str, Any]:
    ecs = aws.client("ecs")
    return ecs.describe_services(cluster=stack.cluster, services=[f"{stack.app}-service"])[
        "services"
    ][0]


def _primary(aws: Aws, stack: Stack) -> dict[str, Any]:
    return next(d for d in _service(aws, stack)["deployments"] if d["status"] == "PRIMARY")


def _completed(aws: Aws, stack: Stack, task_definition: str) -> dict[str, Any] | None:
    service = _service(aws, stack)
    primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    done = (
        primary["taskDefinition"] == task_definition
        and primary["rolloutState"] == "COMPLETED"
        and len(service["deployments"]) == 1
        and service["runningCount"] == service["desiredCount"]
    )
    return service if done else None


def _url(runtime: Runtime, stack: Stack) -> str:
    facts = wait_until(
        lambda: (
            (f := read_facts(runtime.facts_file.with_name("sandbox.json")))
            and stack.load_balancer in f["load_balancers"]
            and f
        ),
        "the load balancer's URL in the runtime's facts",
        WAIT_S,
    )
    return str(facts["load_balancers"][stack.load_balancer]["url"])


def _get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError as exc:
        return 0, str(exc)


def _health(aws: Aws, stack: Stack) -> dict[str, str]:
    descriptions = aws.client("elbv2").describe_target_health(TargetGroupArn=stack.target_group)
    return {
        d["Target"]["Id"]: d["TargetHealth"]["State"]
        for d in descriptions["TargetHealthDescriptions"]
    }


def _tasks(aws: Aws, stack: Stack, status: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(
        cluster=stack.cluster, serviceName=f"{stack.app}-service", desiredStatus=status
    )["taskArns"]
    return ecs.describe_tasks(cluster=stack.cluster, tasks=arns)["tasks"] if arns else []


def _events(aws: Aws, stack: Stack) -> list[str]:
    """Service events oldest first."""
    return [e["message"] for e in reversed(_service(aws, stack)["events"])]


def _roll(aws: Aws, stack: Stack, image: str) -> str:
    revision = register_revision(aws, stack, image=image)
    aws.client("ecs").update_service(
        cluster=stack.cluster, service=f"{stack.app}-service", taskDefinition=revision
    )
    return revision


class Client(threading.Thread):
    """Requests through the load balancer in a loop, as users would during a rollout."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.answers: list[tuple[int, str]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.answers.append(_get(self.url + "/up"))
            time.sleep(0.02)

    def stop(self) -> list[tuple[int, str]]:
        self.done.set()
        self.join(10)
        return self.answers


# --- services -------------------------------------------------------------------------------


def test_service_runs_serves_and_logs(aws: Aws, runtime: Runtime, images: dict, engine) -> None:
    stack = _stack(aws, images)
    create_service(aws, stack, desired=1)
    service = wait_until(lambda: _completed(aws, stack, stack.task_definition), "steady", WAIT_S)
    assert (service["runningCount"], service["pendingCount"]) == (1, 0)
    (task,) = _tasks(aws, stack)
    ip = next(
        d["value"] for d in task["attachments"][0]["details"] if d["name"] == "privateIPv4Address"
    )
    assert _health(aws, stack) == {ip: "healthy"}

    url = _url(runtime, stack)
    assert _get(url + "/up") == (200, "v1")
    events = _events(aws, stack)
    task_id = task["taskArn"].split("/")[-1]
    assert f"(service {stack.app}-service) has started 1 tasks: (task {task_id})." in events
    assert any("registered 1 targets in (target-group" in e for e in events)
    assert events[-1] == f"(service {stack.app}-service) has reached a steady state."

    # Exactly the task definition's environment plus the secret, read from Secrets Manager.
    container_id = task["containers"][0]["runtimeId"]
    printed = subprocess.run(
        engine.exec_args(container_id, ["/bin/env"], interactive=False),
        env=engine.environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    variables = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    assert variables["GREETING"] == "hello"
    assert variables["DATABASE_PASSWORD"] == DB_PASSWORD

    # The app's output arrives in the awslogs stream: prefix/container/task id.
    stream = f"ecs/{stack.app}/{task_id}"
    logs = aws.client("logs")

    def lines() -> list[str]:
        try:
            events = logs.get_log_events(
                logGroupName=stack.log_group, logStreamName=stream, startFromHead=True
            )["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [e["message"] for e in events]

    wait_until(
        lambda: any("GET /up" in line or "/up" in line for line in lines()),
        "a request line",
        WAIT_S,
    )
    assert any("test app on port 8080" in line for line in lines())


def test_rolling_update_drops_no_request(aws: Aws, runtime: Runtime, images: dict) -> None:
    stack = _stack(aws, images, deregistration_s=2)
    create_service(aws, stack, desired=1)
    wait_until(lambda: _completed(aws, stack, stack.task_definition), "v1 steady", WAIT_S)
    (old,) = _tasks(aws, stack)
    old_ip = next(
        d["value"] for d in old["attachments"][0]["details"] if d["name"] == "privateIPv4Address"
    )
    url = _url(runtime, stack)
    client = Client(url)
    client.start()
    # Watch target health: when the old target starts draining, a new one is healthy.
    seen: list[dict[str, str]] = []
    revision = _roll(aws, stack, images["v2"])

    def finished() -> dict[str, Any] | None:
        seen.append(_health(aws, stack))
        return _completed(aws, stack, revision)

    wait_until(finished, "v2 steady", WAIT_S)
    wait_until(lambda: client.answers and client.answers[-1] == (200, "v2"), "v2 answers", WAIT_S)
    answers = client.stop()

    assert answers and all(status == 200 for status, _ in answers), [
        a for a in answers if a[0] != 200
    ][:5]
    bodies = [body for _, body in answers]
    assert "v1" in bodies and bodies[-1] == "v2"
    draining = [states for states in seen if states.get(old_ip) == "draining"]
    assert draining, "the old target was never seen draining"
    assert all("healthy" in states.values() for states in draining)
    (stopped,) = [t for t in _tasks(aws, stack, "STOPPED") if t["taskArn"] == old["taskArn"]]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
    events = _events(aws, stack)
    started_new = max(i for i, e in enumerate(events) if "has started 1 tasks" in e)
    began_draining = events.index(
        f"(service {stack.app}-service) has begun draining connections on 1 tasks."
    )
    assert started_new < began_draining
    assert old_ip not in _health(aws, stack)


def test_crashing_revision_is_rolled_back(aws: Aws, runtime: Runtime, images: dict) -> None:
    stack = _stack(aws, images)
    create_service(aws, stack, desired=1)
    wait_until(lambda: _completed(aws, stack, stack.task_definition), "v1 steady", WAIT_S)
    client = Client(_url(runtime, stack))
    client.start()
    bad = _roll(aws, stack, images["crash"])

    wait_until(lambda: _completed(aws, stack, stack.task_definition), "rolled back", WAIT_S)
    answers = client.stop()
    assert all(status == 200 and body == "v1" for status, body in answers)
    service = _service(aws, stack)
    assert service["taskDefinition"] == stack.task_definition
    crashed = [t for t in _tasks(aws, stack, "STOPPED") if t["taskDefinitionArn"] == bad]
    assert len(crashed) >= rules.circuit_breaker_threshold(1)
    for task in crashed:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
    events = _events(aws, stack)
    assert any("deployment failed: tasks failed to start." in e for e in events)
    assert any("rolling back to deployment" in e for e in events)


def test_unhealthy_revision_is_stopped_and_rolled_back(
    aws: Aws, runtime: Runtime, images: dict
) -> None:
    stack = _stack(aws, images)
    create_service(aws, stack, desired=1, grace=0)
    wait_until(lambda: _completed(aws, stack, stack.task_definition), "v1 steady", WAIT_S)
    client = Client(_url(runtime, stack))
    client.start()
    sick = _roll(aws, stack, images["sick"])
    failed_seen: list[dict[str, Any]] = []

    def rolled_back() -> dict[str, Any] | None:
        service = _service(aws, stack)
        failed_seen.extend(d for d in service["deployments"] if d.get("rolloutState") == "FAILED")
        return _completed(aws, stack, stack.task_definition)

    wait_until(rolled_back, "rolled back", WAIT_S * 2)
    answers = client.stop()
    assert all(status == 200 and body == "v1" for status, body in answers)
    assert failed_seen and failed_seen[0]["taskDefinition"] == sick
    assert failed_seen[0]["rolloutStateReason"] == rules.BREAKER_REASON
    assert failed_seen[0]["failedTasks"] >= 3
    stopped = [t for t in _tasks(aws, stack, "STOPPED") if t["taskDefinitionArn"] == sick]
    assert stopped and all(
        t["stoppedReason"]
        == f"Task failed ELB health checks in (target-group {stack.target_group})"
        for t in stopped
    )


def _health_check(command: str) -> dict[str, Any]:
    # Faster than ECS accepts (5 s minimum interval), as the target group's checks here.
    return {"command": ["CMD-SHELL", command], "interval": 1, "timeout": 2, "retries": 2}


def test_container_health_checks_gate_and_replace(aws: Aws, runtime: Runtime, images: dict) -> None:
    stack = _stack(aws, images)
    checked = register_revision(aws, stack, healthCheck=_health_check("test -f /www/up"))
    stack.task_definition = checked
    create_service(aws, stack, desired=1)
    wait_until(lambda: _completed(aws, stack, checked), "steady", WAIT_S)
    (task,) = _tasks(aws, stack)
    assert task["healthStatus"] == "HEALTHY"
    assert task["containers"][0]["healthStatus"] == "HEALTHY"

    failing = register_revision(aws, stack, healthCheck=_health_check("test -f /nonexistent"))
    aws.client("ecs").update_service(
        cluster=stack.cluster, service=f"{stack.app}-service", taskDefinition=failing
    )
    wait_until(
        lambda: (
            len([t for t in _tasks(aws, stack, "STOPPED") if t["taskDefinitionArn"] == failing])
            >= 3
            and _completed(aws, stack, checked)
        ),
        "three failed tasks and the rollback",
        WAIT_S * 2,
    )
    stopped = [t for t in _tasks(aws, stack, "STOPPED") if t["taskDefinitionArn"] == failing]
    assert {t["stoppedReason"] for t in stopped} == {"Task failed container health checks"}
    assert all(t["containers"][0]["healthStatus"] == "UNHEALTHY" for t in stopped)


def test_stopped_task_is_drained_and_replaced(aws: Aws, runtime: Runtime, images: dict) -> None:
    stack = _stack(aws, images)
    create_service(aws, stack, desired=1)
    wait_until(lambda: _completed(aws, stack, stack.task_definition), "steady", WAIT_S)
    (task,) = _tasks(aws, stack)
    ecs = aws.client("ecs")
    answer = ecs.stop_task(cluster=stack.cluster, task=task["taskArn"], reason="by the test")
    assert answer["task"]["desiredStatus"] == "STOPPED"
    assert answer["task"]["lastStatus"] != "STOPPED"  # ECS stops it after draining

    def replaced() -> dict[str, Any] | None:
        old = ecs.describe_tasks(cluster=stack.cluster, tasks=[task["taskArn"]])["tasks"][0]
        running = [t for t in _tasks(aws, stack) if t["taskArn"] != task["taskArn"]]
        healthy = list(_health(aws, stack).values()) == ["healthy"]
        return old if old["lastStatus"] == "STOPPED" and running and healthy else None

    old = wait_until(replaced, "the stopped task replaced", WAIT_S)
    assert (old["stopCode"], old["stoppedReason"]) == ("UserInitiated", "by the test")


def test_scale_out_and_in(aws: Aws, runtime: Runtime, images: dict) -> None:
    stack = _stack(aws, images)
    create_service(aws, stack, desired=1)
    wait_until(lambda: _completed(aws, stack, stack.task_definition), "steady", WAIT_S)
    ecs = aws.client("ecs")
    ecs.update_service(cluster=stack.cluster, service=f"{stack.app}-service", desiredCount=2)
    wait_until(
        lambda: (
            list(_health(aws, stack).values()) == ["healthy", "healthy"]
            and _service(aws, stack)["runningCount"] == 2
        ),
        "two healthy targets",
        WAIT_S,
    )
    ecs.update_service(cluster=stack.cluster, service=f"{stack.app}-service", desiredCount=0)
    wait_until(
        lambda: _service(aws, stack)["runningCount"] == 0 and not _health(aws, stack),
        "no task",
        WAIT_S,
    )


# --- one-off tasks ---------------------------------------------------------------------------


def _run(aws: Aws, stack: Stack, command: list[str]) -> dict[str, Any]:
    ecs = aws.client("ecs")
    task = ecs.run_task(
        cluster=stack.cluster,
        taskDefinition=stack.task_definition,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [stack.subnet_id],
                "securityGroups": [stack.security_group],
            }
        },
        overrides={"containerOverrides": [{"name": stack.app, "command": command}]},
    )["tasks"][0]
    assert task["lastStatus"] == "PROVISIONING"

    def stopped() -> dict[str, Any] | None:
        described = ecs.describe_tasks(cluster=stack.cluster, tasks=[task["taskArn"]])["tasks"][0]
        return described if described["lastStatus"] == "STOPPED" else None

    return wait_until(stopped, "the one-off task to stop", WAIT_S)


def test_run_task_runs_to_completion(aws: Aws, runtime: Runtime, images: dict) -> None:
    stack = _stack(aws, images)
    ok = _run(aws, stack, ["/bin/sh", "-c", "echo migrating as $GREETING"])
    assert ok["containers"][0]["exitCode"] == 0
    assert ok["stopCode"] == "EssentialContainerExited"
    assert ok["stoppedReason"] == "Essential container in task exited"
    stream = f"ecs/{stack.app}/{ok['taskArn'].split('/')[-1]}"
    events = aws.client("logs").get_log_events(logGroupName=stack.log_group, logStreamName=stream)
    assert [e["message"] for e in events["events"]] == ["migrating as hello"]

    failed = _run(aws, stack, ["/bin/false"])
    assert failed["containers"][0]["exitCode"] == 1
    assert failed["stopCode"] == "EssentialContainerExited"


# --- databases -------------------------------------------------------------------------------


def _login(port: int, database: str) -> bool:
    import pymysql

    try:
        connection = pymysql.connect(
            host="127.0.0.1", port=port, user="app", password=DB_PASSWORD, database=database,
            connect_timeout=2,
        )  # fmt: skip
    except pymysql.err.OperationalError:
        return False
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def test_db_instance_is_a_real_server(aws: Aws, runtime: Runtime, images: dict) -> None:
    from hakobu.sandbox.runtime.database import find_server

    if find_server("mysql") is None:
        missing("mariadbd", "run .ci/install-runtime-deps")
    rds = aws.client("rds")
    name = f"{next(_names)}-db"
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        Engine="mysql",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        DBName="app_production",
        MasterUsername="app",
        MasterUserPassword=DB_PASSWORD,
    )
    created = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert created["DBInstanceStatus"] == "creating"
    endpoint, port = created["Endpoint"], created["Endpoint"]["Port"]

    def available() -> bool:
        described = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
        return described["DBInstanceStatus"] == "available"

    wait_until(available, "the instance to be available", WAIT_S)
    assert _login(port, "app_production")  # available means the server answers
    # A task reaches it at the endpoint's host name and port, as the app on AWS would.
    stack = _stack(aws, images)
    # busybox nc has no -z: the server's greeting is the proof of a connection.
    greeted = f"nc -w 5 {endpoint['Address']} {port} </dev/null | grep -q ."
    reached = _run(aws, stack, ["/bin/sh", "-c", greeted])
    assert reached["containers"][0]["exitCode"] == 0
    pid = runtime.facts()["databases"][name]["pid"]

    def status() -> str:
        return str(
            rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
                "DBInstanceStatus"
            ]
        )

    # "stopping" / "starting" as on RDS, until the server has followed.
    rds.stop_db_instance(DBInstanceIdentifier=name)
    assert status() == "stopping"
    wait_until(lambda: status() == "stopped", "the instance to be stopped", WAIT_S)
    assert not _login(port, "app_production") and not _alive(pid)
    rds.start_db_instance(DBInstanceIdentifier=name)
    assert status() == "starting"
    wait_until(lambda: status() == "available", "the instance to be available again", WAIT_S)
    assert _login(port, "app_production")  # available means the server answers again

    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    wait_until(lambda: name not in runtime.facts()["databases"], "the server's removal", WAIT_S)
    assert not _alive(pid)
    assert not any(name in p.name for p in (runtime.databases.data_dir).glob("*"))


def _alive(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return True


# --- the emulator process runs the app ------------------------------------------------------


def test_sandbox_server_runs_the_app(tmp_path: Path, images: dict, engine: ContainerEngine) -> None:
    """`hakobu.sandbox.emulator.start`: the server process finds the engine, runs the
    service, publishes the load balancer's URL, and `stop` leaves no container."""
    from hakobu.sandbox import emulator
    from hakobu.sandbox.runtime.tasks import LABEL_RUNTIME

    runtime_label = {LABEL_RUNTIME: Runtime.id_for(tmp_path / ".hakobu" / "sandbox")}
    server, _ = emulator.start(tmp_path)
    try:
        remote = Aws(server.endpoint)
        stack = _stack(remote, images)
        create_service(remote, stack, desired=1)
        wait_until(lambda: _completed(remote, stack, stack.task_definition), "steady", WAIT_S)
        facts = wait_until(
            lambda: (
                (f := read_facts(emulator.state_path(tmp_path)))
                and stack.load_balancer in f["load_balancers"]
                and f
            ),
            "the runtime's facts",
            WAIT_S,
        )
        assert _get(facts["load_balancers"][stack.load_balancer]["url"] + "/up") == (200, "v1")
        assert engine.list_ids(runtime_label)
    finally:
        emulator.stop(tmp_path)
    assert engine.list_ids(runtime_label) == []
    assert read_facts(emulator.state_path(tmp_path)) is None


# --- stop leaves nothing -----------------------------------------------------------------------


def test_stop_removes_every_container(
    aws: Aws, runtime: Runtime, images: dict, engine: ContainerEngine
) -> None:
    stack = _stack(aws, images)
    create_service(aws, stack, desired=1)
    wait_until(lambda: _completed(aws, stack, stack.task_definition), "steady", WAIT_S)
    assert engine.list_ids(runtime.runner.labels)
    pids = runtime.databases.pids()
    runtime.stop()
    assert engine.list_ids(runtime.runner.labels) == []
    assert not any(_alive(pid) for pid in pids)
    assert not runtime.facts_file.exists()
    assert json.dumps(bridge.services(), default=str)  # the emulator still answers
