"""`show_logs`, the whole of `hakobu logs` below the CLI, against moto's server over HTTP:
the group's lines oldest first across tasks, the sandbox's note, and no target asked for
when an option is bad."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hakobu.core.target import Target
from hakobu.operate.logs import SANDBOX_NOTE, LogLine, OptionError, show_logs
from tests.conftest import environment_of, make_rails_app
from tests.support.moto_server import REGION, moto_server

TASK_A = "3f2a9c1b7d4e4f0a8b6c5d4e3f2a1b0c"
TASK_B = "9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b"


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with moto_server() as server:
        yield Target(
            region=REGION,
            endpoint_url=server.endpoint,
            variables={"AWS_ACCESS_KEY_ID": "hakobu-sandbox", "AWS_SECRET_ACCESS_KEY": "x"},
        )


def _write(target: Target, stream: str, at: datetime, message: str) -> None:
    logs = target.client("logs")
    logs.create_log_stream(logGroupName="/ecs/shop", logStreamName=stream)
    event = {"timestamp": round(at.timestamp() * 1000), "message": message}
    logs.put_log_events(logGroupName="/ecs/shop", logStreamName=stream, logEvents=[event])


def test_lines_of_every_task_come_oldest_first_with_the_sandbox_note(
    target: Target, tmp_path: Path
) -> None:
    env = environment_of({"app": "shop"}, root=make_rails_app(tmp_path / "shop"))
    now = datetime.now(UTC)
    target.client("logs").create_log_group(logGroupName="/ecs/shop")
    _write(target, f"ecs/shop/{TASK_B}", now - timedelta(seconds=5), "second")
    _write(target, f"ecs/shop/{TASK_A}", now - timedelta(seconds=9), "first")
    lines: list[LogLine] = []
    notes: list[str] = []

    query = show_logs(env, lambda: target, now - timedelta(minutes=10), lines.append, notes.append)

    assert [(line.task_id, line.message) for line in lines] == [
        (TASK_A, "first"),
        (TASK_B, "second"),
    ]
    assert notes == [SANDBOX_NOTE]  # no runtime: the emulator's tasks wrote nothing
    assert query.group == "/ecs/shop"


def test_a_bad_task_is_refused_before_the_target_is_asked_for(tmp_path: Path) -> None:
    env = environment_of({"app": "shop"}, root=make_rails_app(tmp_path / "shop"))
    asked: list[str] = []

    def no_target() -> Target:
        asked.append("target")
        raise AssertionError("a bad --task must not reach AWS")

    with pytest.raises(OptionError) as raised:
        show_logs(env, no_target, datetime.now(UTC), print, print, task="web-1")
    assert raised.value.problem.startswith("--task: ")
    assert asked == []
