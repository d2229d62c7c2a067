"""Rollouts through `hakobu deploy --sandbox` as the runtime really runs them, on the shared
stack, while a client sends requests through the sandbox's load balancer the whole time:

- a good second version rolls out with zero failed requests, and the old task is drained
  and stopped only after the new one is healthy;
- a version whose process exits at once, one that never passes its health checks and one
  whose migration fails: each `deploy` exits 1 saying why, and the last good version
  answers every request throughout;
- `hakobu logs` shows the app's request lines, `hakobu run -- false` exits 1, and
  `hakobu scale 2` gives two healthy targets.

Each version is an image of tests/support/images.py recorded in the emulated ECR as
`deploy --sandbox` records one. The module leaves the stack on a good version at one task.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest

from hakobu.sandbox.runtime.engine import ContainerEngine
from tests.conftest import Run, SandboxStack, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import load_balancer_url, record_in_ecr, served_body

pytestmark = pytest.mark.integration
APP = "rails-app"
CLUSTER, SERVICE = f"{APP}-cluster", f"{APP}-service"
GOOD, NEXT = "rollout one", "rollout two"


@dataclass
class Answer:
    at: float
    status: int | None  # None: no HTTP answer at all (refused, reset, timed out)
    body: str


class Background:
    """`sample()` in a thread every `pause_s` seconds while the `with` block runs."""

    pause_s = 0.05

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.pause_s)

    def sample(self) -> None:
        raise NotImplementedError


class Client(Background):
    """Requests `/up` through the load balancer in a loop, as a user's browser would."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.answers: list[Answer] = []

    def sample(self) -> None:
        at = time.monotonic()
        try:
            with urllib.request.urlopen(self.url + "/up", timeout=10) as reply:
                answer = Answer(at, reply.status, reply.read().decode().strip())
        except urllib.error.HTTPError as error:
            answer = Answer(at, error.code, "")
        except OSError as error:
            answer = Answer(at, None, str(error))
        self.answers.append(answer)

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]

    def bodies(self) -> set[str]:
        return {a.body for a in self.answers}


class Health(Background):
    """describe-target-health sampled in a loop: when each target was first seen in each
    state, so an order (new healthy before old draining) can be asserted."""

    pause_s = 0.2

    def __init__(self, elbv2: Any, target_group: str) -> None:
        super().__init__()
        self.elbv2, self.target_group = elbv2, target_group
        self.first_seen: dict[tuple[str, str], float] = {}

    def sample(self) -> None:
        described = self.elbv2.describe_target_health(TargetGroupArn=self.target_group)
        now = time.monotonic()
        for target in described["TargetHealthDescriptions"]:
            key = (target["Target"]["Id"], target["TargetHealth"]["State"])
            self.first_seen.setdefault(key, now)


@dataclass
class Versions:
    """Build and record test images, deploy them by tag."""

    stack: SandboxStack
    engine: ContainerEngine
    work_dir: Path

    def deploy(self, tag: str, **image: Any) -> Run:
        local = http_image(self.engine, self.work_dir, **image)
        uri, _ = record_in_ecr(self.stack.client("ecr"), self.engine, local, APP, tag)
        return run_hakobu("deploy", "--sandbox", "--image", f"{uri}:{tag}", cwd=self.stack.root)


def _service(stack: SandboxStack) -> dict[str, Any]:
    ecs = stack.client("ecs")
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def _task_ips(stack: SandboxStack) -> dict[str, str]:
    """The service's running tasks' IPs (the target ids), by task definition ARN."""
    ecs = stack.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus="RUNNING")
    if not arns["taskArns"]:
        return {}
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns["taskArns"])["tasks"]
    return {
        d["value"]: task["taskDefinitionArn"]
        for task in tasks
        for attachment in task.get("attachments", [])
        for d in attachment["details"]
        if d["name"] == "privateIPv4Address"
    }


@pytest.fixture(scope="module")
def versions(
    sandbox_stack: SandboxStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Versions]:
    """The stack serving GOOD: the starting point of every test here."""
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    made = Versions(sandbox_stack, engine, tmp_path_factory.mktemp("images"))
    first = made.deploy("rollout-1", up_body=GOOD)
    assert first.code == 0, first.output
    wait_until(lambda: served_body(sandbox_stack.root, "/up", GOOD), "the first version")
    yield made


@pytest.fixture(scope="module")
def rolled(versions: Versions) -> dict[str, Any]:
    """NEXT rolled out over GOOD while the client asks and target health is sampled."""
    stack = versions.stack
    url = load_balancer_url(stack.root)
    assert url is not None
    old_ips = _task_ips(stack)
    target_group = _service(stack)["loadBalancers"][0]["targetGroupArn"]
    with Client(url) as client, Health(stack.client("elbv2"), target_group) as health:
        result = versions.deploy("rollout-2", up_body=NEXT)
        wait_until(lambda: client.answers and client.answers[-1].body == NEXT, "the new version")
        # The old task drains for the deregistration delay; keep asking until it is gone.
        wait_until(lambda: not set(old_ips) & set(_task_ips(stack)), "the old task to stop", 120)
    return {
        "result": result,
        "client": client,
        "health": health,
        "old_ips": old_ips,
        "new_ips": set(_task_ips(stack)),
    }


def test_a_new_version_rolls_out_with_zero_failed_requests(rolled: dict[str, Any]) -> None:
    result, client = rolled["result"], rolled["client"]
    assert result.code == 0, result.output
    assert "http://127.0.0.1:" in result.output
    assert len(client.answers) > 50, "the client barely ran"
    assert client.failures() == [], client.failures()[:5]
    assert client.bodies() == {GOOD, NEXT}
    # Both versions answer while both targets are healthy (round robin, as an ALB does);
    # once the old target drains, no new request reaches it.
    (old_ip,) = rolled["old_ips"]
    drained_at = rolled["health"].first_seen[(old_ip, "draining")]
    assert {a.body for a in client.answers if a.at > drained_at} == {NEXT}


def test_the_old_task_drains_only_after_the_new_one_is_healthy(
    sandbox_stack: SandboxStack, rolled: dict[str, Any]
) -> None:
    seen = rolled["health"].first_seen
    (old_ip,) = rolled["old_ips"]
    (new_ip,) = rolled["new_ips"]
    assert (new_ip, "healthy") in seen and (old_ip, "draining") in seen, seen
    assert seen[(new_ip, "healthy")] <= seen[(old_ip, "draining")], seen
    # The service's events (newest first, as ECS lists them) tell the same order.
    events = [e["message"] for e in reversed(_service(sandbox_stack)["events"])]
    started = _last_index(events, "has started 1 tasks")
    draining = _last_index(events, "has begun draining connections")
    stopped = _last_index(events, "has stopped 1 running tasks")
    assert started < draining < stopped, events[-12:]


def _last_index(messages: list[str], part: str) -> int:
    found = [i for i, message in enumerate(messages) if part in message]
    assert found, f"no event with {part!r}: {messages[-12:]}"
    return found[-1]


@pytest.fixture
def serving_next(versions: Versions, rolled: dict[str, Any]) -> Iterator[Client]:
    """A client asking throughout a test that must leave NEXT serving."""
    url = load_balancer_url(versions.stack.root)
    assert url is not None
    running = _service(versions.stack)["taskDefinition"]
    with Client(url) as client:
        yield client
    assert _service(versions.stack)["taskDefinition"] == running


def test_a_version_that_exits_at_once_is_rolled_back_and_says_why(
    versions: Versions, serving_next: Client
) -> None:
    result = versions.deploy("rollout-crash", up_body="never served", exit_code=3)
    assert result.code == 1, result.output
    assert "circuit breaker" in result.output
    assert "Essential container in task exited" in result.output
    assert "test app exits with 3" in result.output  # the task's last log lines
    assert serving_next.failures() == [] and serving_next.bodies() == {NEXT}


@pytest.fixture
def quick_health_checks(versions: Versions) -> Iterator[None]:
    """Shorter checks and no grace period, so three unhealthy tasks fail the rollout in
    about half a minute instead of three (60 s grace + 3 x 10 s checks each); put back
    after the test, as Terraform renders them."""
    stack = versions.stack
    elbv2, ecs = stack.client("elbv2"), stack.client("ecs")
    service = _service(stack)
    target_group = service["loadBalancers"][0]["targetGroupArn"]
    group = elbv2.describe_target_groups(TargetGroupArns=[target_group])["TargetGroups"][0]
    elbv2.modify_target_group(
        TargetGroupArn=target_group,
        HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=2,
        UnhealthyThresholdCount=2,
    )
    ecs.update_service(cluster=CLUSTER, service=SERVICE, healthCheckGracePeriodSeconds=0)
    yield
    elbv2.modify_target_group(
        TargetGroupArn=target_group,
        HealthCheckIntervalSeconds=group["HealthCheckIntervalSeconds"],
        HealthCheckTimeoutSeconds=group["HealthCheckTimeoutSeconds"],
        UnhealthyThresholdCount=group["UnhealthyThresholdCount"],
    )
    ecs.update_service(
        cluster=CLUSTER,
        service=SERVICE,
        healthCheckGracePeriodSeconds=service["healthCheckGracePeriodSeconds"],
    )


def test_a_version_that_fails_its_health_checks_is_rolled_back_and_says_why(
    versions: Versions, quick_health_checks: None, serving_next: Client
) -> None:
    # The app listens on another port than the task definition's: the load balancer's
    # checks are refused, as on AWS when PORT is ignored.
    result = versions.deploy("rollout-unhealthy", up_body="never served", serve_port=8081)
    assert result.code == 1, result.output
    assert "circuit breaker" in result.output, result.output
    assert "Task failed ELB health checks" in result.output  # each stopped task's reason
    assert "due to (reason Health checks failed)" in result.output  # ECS's event
    assert serving_next.failures() == [] and serving_next.bodies() == {NEXT}


def test_a_failing_migration_stops_the_deploy_before_the_service_moves(
    versions: Versions, serving_next: Client
) -> None:
    before = {d["id"] for d in _service(versions.stack)["deployments"]}
    result = versions.deploy("rollout-migration", up_body="never served", release_exit=4)
    assert result.code == 1, result.output
    assert "the test migration fails with 4" in result.output
    assert "exited 4" in result.output or "exit code 4" in result.output, result.output
    # The service never saw the new revision: no deployment was started. (The previous
    # test's rollback may still be finishing, so deployments may only have ended.)
    assert {d["id"] for d in _service(versions.stack)["deployments"]} <= before
    assert serving_next.failures() == [] and serving_next.bodies() == {NEXT}


def test_logs_show_the_apps_request_lines(versions: Versions, rolled: dict[str, Any]) -> None:
    # busybox httpd -vv logs each request on stderr: the awslogs driver's stream.
    result = wait_until(
        lambda: _logs_with(versions.stack.root, "url:/up"), "request lines in the logs"
    )
    assert "response:200" in result.stdout


def _logs_with(root: Path, part: str) -> Run | None:
    result = run_hakobu("logs", "--sandbox", "--since", "10m", cwd=root)
    assert result.code == 0, result.output
    return result if part in result.stdout else None


def test_run_of_a_failing_command_exits_1(versions: Versions, rolled: dict[str, Any]) -> None:
    result = run_hakobu("run", "--sandbox", "--", "false", cwd=versions.stack.root)
    assert result.code == 1, result.output
    assert "exited 1" in result.output


def test_scale_2_gives_two_healthy_targets(versions: Versions, rolled: dict[str, Any]) -> None:
    stack = versions.stack
    config = stack.root / "hakobu.toml"
    kept = config.read_text()
    target_group = _service(stack)["loadBalancers"][0]["targetGroupArn"]
    elbv2 = stack.client("elbv2")
    try:
        result = run_hakobu("scale", "--sandbox", "2", cwd=stack.root)
        assert result.code == 0, result.output

        def healthy() -> int:
            described = elbv2.describe_target_health(TargetGroupArn=target_group)
            states = [t["TargetHealth"]["State"] for t in described["TargetHealthDescriptions"]]
            return states.count("healthy") == 2 and len(states) == 2

        wait_until(healthy, "two healthy targets", timeout_s=120)
        assert served_body(stack.root, "/up", NEXT) == NEXT
    finally:
        config.write_text(kept)
        stack.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, desiredCount=1)
