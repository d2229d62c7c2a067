"""`hakobu logs --sandbox` as a process, against the emulator's `/ecs/rails-app`.

Events are written with boto3 into streams named as the awslogs driver names them
(`ecs/rails-app/<task id>`), stamped minutes before now: moto silently drops events older
than 14 days. Each test reads only its own tasks' lines: other tests write to the same
shared log group.

moto implements `filter_log_events` but not Live Tail (`start_live_tail` answers HTTP 500),
so `--follow` here proves the polling fallback; Live Tail itself is tested in
tests/test_logs.py on a stream encoded byte for byte. moto also ignores
`logStreamNamePrefix` (`--task` with a short id); hakobu checks streams on its side too.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import pytest

from hakobu.aws.logs import LogLine
from hakobu.operate.logs import format_line
from tests.conftest import Run, SandboxStack, run_hakobu

pytestmark = pytest.mark.integration
GROUP = "/ecs/rails-app"
MINUTE_MS = 60_000


@dataclass
class Task:
    id: str

    @property
    def stream(self) -> str:
        return f"ecs/rails-app/{self.id}"

    @property
    def short(self) -> str:
        return self.id[:8]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _write(logs: Any, task: Task, *events: tuple[int, str]) -> None:
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=task.stream)
    batch = [{"timestamp": ms, "message": message} for ms, message in sorted(events)]
    logs.put_log_events(logGroupName=GROUP, logStreamName=task.stream, logEvents=batch)


@dataclass
class Written:
    a: Task
    b: Task
    events: list[tuple[int, Task, str]]  # (timestamp ms, task, message), oldest first


@pytest.fixture(scope="module")
def written(sandbox_stack: SandboxStack) -> Written:
    """Two tasks' lines, interleaved in time, from 45 minutes ago to 3 minutes ago."""
    logs = sandbox_stack.client("logs")
    a, b = Task(uuid.uuid4().hex), Task(uuid.uuid4().hex)
    now = _now_ms()
    events = [
        (now - 45 * MINUTE_MS, a, 'Started GET "/up" (a1)'),
        (now - 30 * MINUTE_MS, b, 'Started GET "/" (b1)'),
        (now - 15 * MINUTE_MS, a, "ERROR ActiveRecord::ConnectionTimeoutError (a2)"),
        (now - 10 * MINUTE_MS, b, "Completed 200 OK (b2)"),
        (now - 5 * MINUTE_MS, a, "Completed 200 OK (a3)"),
        (now - 3 * MINUTE_MS, b, "ERROR Redis::CannotConnectError (b3)"),
    ]
    for task in (a, b):
        _write(logs, task, *[(ms, message) for ms, t, message in events if t is task])
    return Written(a, b, events)


def _logs(stack: SandboxStack, *args: str) -> Run:
    run = run_hakobu("logs", "--sandbox", *args, cwd=stack.root, timeout=120)
    assert run.code == 0, run.output
    assert "Traceback" not in run.output
    return run


def _mine(run: Run, *tasks: Task) -> list[str]:
    """The stdout lines of `tasks`, in printed order."""
    shorts = tuple(f"{task.short} " for task in tasks)
    return [line for line in run.stdout.splitlines() if line.startswith(shorts)]


def _expected(events: list[tuple[int, Task, str]]) -> list[str]:
    return [
        format_line(LogLine(datetime.fromtimestamp(ms / 1000, tz=UTC), message, task.stream))
        for ms, task, message in events
    ]


def test_lines_are_oldest_first_interleaved_across_tasks(
    sandbox_stack: SandboxStack, written: Written
) -> None:
    run = _logs(sandbox_stack, "--since", "1h")
    assert _mine(run, written.a, written.b) == _expected(written.events)
    first = _mine(run, written.a)[0].split(" ", 2)
    assert first[0] == written.a.short  # the task id, shortened
    assert first[1].endswith("Z") and "T" in first[1]  # the time, ISO 8601 in UTC
    # The shared stack's runtime runs real containers: no "the emulator runs no container"
    # note (it is only for a sandbox without podman or docker).
    assert "SANDBOX" not in run.stderr


def test_filter_keeps_matching_lines(sandbox_stack: SandboxStack, written: Written) -> None:
    run = _logs(sandbox_stack, "--since", "1h", "--filter", "ERROR")
    errors = [e for e in written.events if "ERROR" in e[2]]
    assert _mine(run, written.a, written.b) == _expected(errors)
    assert all("ERROR" in line for line in run.stdout.splitlines())


@pytest.mark.parametrize("length", [32, 8], ids=["whole id", "short id"])
def test_task_keeps_one_tasks_lines(
    sandbox_stack: SandboxStack, written: Written, length: int
) -> None:
    run = _logs(sandbox_stack, "--since", "1h", "--task", written.a.id[:length])
    only_a = [e for e in written.events if e[1] is written.a]
    assert run.stdout.splitlines() == _expected(only_a)


def test_json_prints_one_object_per_line(sandbox_stack: SandboxStack, written: Written) -> None:
    run = _logs(sandbox_stack, "--since", "1h", "--json", "--task", written.b.id)
    objects = [json.loads(line) for line in run.stdout.splitlines()]
    only_b = [e for e in written.events if e[1] is written.b]
    assert [o["message"] for o in objects] == [message for _, _, message in only_b]
    for obj, (ms, task, _) in zip(objects, only_b, strict=True):
        assert set(obj) == {"timestamp", "task", "stream", "message"}
        assert obj["task"] == task.id
        assert obj["stream"] == task.stream
        assert datetime.fromisoformat(obj["timestamp"]).timestamp() * 1000 == ms


def test_since_excludes_older_lines(sandbox_stack: SandboxStack, written: Written) -> None:
    fresh = Task(uuid.uuid4().hex)
    _write(sandbox_stack.client("logs"), fresh, (_now_ms() - 5000, "just now"))
    run = _logs(sandbox_stack, "--since", "1m")
    assert _mine(run, fresh) == [line for line in run.stdout.splitlines() if "just now" in line]
    assert len(_mine(run, fresh)) == 1
    assert _mine(run, written.a, written.b) == []  # 3 minutes old and older


def test_a_bad_since_is_refused_before_any_call(sandbox_stack: SandboxStack) -> None:
    run = run_hakobu("logs", "--sandbox", "--since", "5x", cwd=sandbox_stack.root)
    assert run.code == 2
    assert run.stderr.startswith("Error: --since: '5x'")
    assert run.stdout == ""


# --- --follow ---------------------------------------------------------------------------------


def _reader(pipe: IO[str], lines: queue.Queue[str]) -> None:
    for line in pipe:
        lines.put(line.rstrip("\n"))


def _wait_for(lines: queue.Queue[str], text: str, timeout: float) -> list[str]:
    """Lines read until one containing `text` (all of them); fails after `timeout` s."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
        if text in seen[-1]:
            return seen
    pytest.fail(f"{text!r} did not appear within {timeout} s; read: {seen}")


@pytest.fixture
def follower(sandbox_stack: SandboxStack) -> Iterator[tuple[subprocess.Popen[str], Task]]:
    task = Task(uuid.uuid4().hex)
    _write(sandbox_stack.client("logs"), task, (_now_ms() - 2000, "before following"))
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "hakobu", "logs", "--sandbox", "--follow", "--task", task.id]
    process = subprocess.Popen(
        command,
        cwd=sandbox_stack.root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell that started the test run in the background may have set SIGINT to
        # "ignore", which children inherit; Ctrl-C must reach hakobu as it would for a user.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        yield process, task
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_follow_prints_new_lines_and_ends_cleanly_on_ctrl_c(
    sandbox_stack: SandboxStack, follower: tuple[subprocess.Popen[str], Task]
) -> None:
    process, task = follower
    assert process.stdout is not None and process.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    printed = _wait_for(lines, "before following", timeout=30)  # the backlog: it runs

    _write(sandbox_stack.client("logs"), task, (_now_ms(), "while following"))
    started = time.monotonic()
    printed += _wait_for(lines, "while following", timeout=15)
    assert time.monotonic() - started < 10  # polled every 2 s

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 130
    stderr = process.stderr.read()
    assert "Traceback" not in stderr
    assert "Live Tail is unavailable here (HTTP 500); polling every 2 s instead." in stderr
    time.sleep(0.2)  # let the reader thread drain the pipe
    while not lines.empty():
        printed.append(lines.get())
    # Each line once, with its task: polls overlap, and de-duplicate.
    assert [line.split(" ", 2)[::2] for line in printed] == [
        [task.short, "before following"],
        [task.short, "while following"],
    ]
