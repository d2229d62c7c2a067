"""The sandbox's sessions as pure functions: the runtime's facts read as a report, the
container a session opens in (picked as on AWS), and the argument lists of the engine and
the database clients. The real thing runs in tests/integration/test_sessions_sandbox.py."""

from __future__ import annotations

from typing import Any

from hakobu.core.names import Names
from hakobu.operate import sandbox_sessions
from hakobu.sandbox.report import RuntimeReport, SandboxContainer, SandboxDatabase, parse
from hakobu.sandbox.runtime.engine import ContainerEngine
from tests.conftest import environment_of

ARN = "arn:aws:ecs:ap-northeast-1:123456789012:task/shop-cluster/"
NAMES = Names.of(environment_of({"app": "shop"}))


def _raw(task_id: str, service: str | None = "shop-service", status: str = "RUNNING") -> dict:
    return {
        "task": ARN + task_id,
        "task_id": task_id,
        "cluster": "shop-cluster",
        "service": service,
        "container": "shop",
        "id": f"engine-{task_id}",
        "host_port": 40001,
        "status": status,
    }


FACTS: dict[str, Any] = {
    "engine": "podman",
    "engine_cli": {"executable": "/usr/bin/podman", "containers_conf": "/x/c.conf", "vfs": True},
    "pid": 4242,
    "load_balancers": {"shop-alb": {"url": "http://127.0.0.1:40100", "dns_name": "d"}},
    "databases": {
        "shop-db": {
            "engine": "mysql",
            "host": "127.0.0.1",
            "port": 40200,
            "endpoint": "e",
            "database": "shop_production",
            "username": "shop",
            "pid": 7,
            "running": True,
        }
    },
    "containers": [_raw("old", status="STOPPED"), _raw("aaa"), _raw("bbb"), _raw("one", None)],
}


def test_the_facts_are_read_as_a_report() -> None:
    report = parse(FACTS)
    assert report is not None
    assert report.engine == "podman"
    assert report.load_balancers == {"shop-alb": "http://127.0.0.1:40100"}
    assert report.containers[1] == SandboxContainer(
        ARN + "aaa", "aaa", "shop-cluster", "shop-service", "shop", "engine-aaa", 40001, "RUNNING"
    )
    assert report.containers[3].service is None  # a one-off task
    assert report.databases == [
        SandboxDatabase("shop-db", "mysql", "127.0.0.1", 40200, "shop_production", "shop", True)
    ]
    assert report.as_json()["containers"][1]["task_id"] == "aaa"


def test_facts_without_an_engine_are_no_report() -> None:
    assert parse({"containers": []}) is None


def test_the_session_opens_in_the_services_first_running_task_in_ecs_order() -> None:
    report = parse(FACTS)
    assert isinstance(report, RuntimeReport)
    running = [ARN + "bbb", ARN + "aaa"]
    first = sandbox_sessions.pick_container(report, NAMES, running, None)
    assert first is not None and first.task_id == "bbb"
    # A stopped task, or one ECS does not list as the service's, is never picked.
    assert sandbox_sessions.pick_container(report, NAMES, [ARN + "old"], None) is None
    assert sandbox_sessions.pick_container(report, NAMES, [], None) is None


def test_task_picks_any_running_task_by_id_or_arn() -> None:
    report = parse(FACTS)
    assert isinstance(report, RuntimeReport)
    by_id = sandbox_sessions.pick_container(report, NAMES, [], "one")
    assert by_id is not None and by_id.service is None
    by_arn = sandbox_sessions.pick_container(report, NAMES, [], ARN + "aaa")
    assert by_arn is not None and by_arn.engine_id == "engine-aaa"
    assert sandbox_sessions.pick_container(report, NAMES, [], "old") is None


def test_the_engine_is_called_as_the_runtime_calls_it() -> None:
    report = parse(FACTS)
    assert report is not None
    engine = ContainerEngine.described(report.engine, report.engine_cli)
    assert engine.environment()["CONTAINERS_CONF"] == "/x/c.conf"
    base = ["/usr/bin/podman", "--storage-driver", "vfs", "exec"]
    tty = sandbox_sessions.exec_argv(engine, "c1", ["/bin/sh"], tty=True)
    assert tty == [*base, "--interactive", "--tty", "c1", "/bin/sh"]
    piped = sandbox_sessions.exec_argv(engine, "c1", ["/bin/false"], tty=False)
    assert piped == [*base, "--interactive", "c1", "/bin/false"]
