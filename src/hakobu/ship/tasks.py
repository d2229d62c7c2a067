"""One-off tasks: a command run as a task of a revision, waited for, with its log lines.

The release step of a deploy (migrations before the service moves), `hakobu run` and the
sessions' one-off runs all start them the same way: where the service's tasks run (its
private subnets and security groups, no public IP), so the command reaches the database
exactly as the app does, with the command replacing the container's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.arn import last_part
from hakobu.aws.logs import LogLine, task_log_lines, task_log_stream
from hakobu.core.names import Names


class TaskOutput(Protocol):
    """Where a followed task's status changes and log lines go (the CLI prints them)."""

    def output(self, line: str) -> None: ...


def start(
    ecs: Any,
    names: Names,
    service: dict[str, Any],
    arn: str,
    command: list[str],
    started_by: str,
) -> str:
    """Start `command` as a one-off task of revision `arn` in `service`'s network; its ARN."""
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    request = ecs_ops.release_task_request(
        names.cluster, arn, names.container, command, network, started_by
    )
    return ecs_ops.run_task(ecs, request)


def task_logs(logs: Any, names: Names, task_id: str, prefix: str = "ecs") -> list[LogLine]:
    """The task's log lines so far (the awslogs stream `prefix/container/task id`)."""
    stream = task_log_stream(names.container, task_id, prefix)
    return task_log_lines(logs, names.log_group, stream)


def follow(
    ecs: Any,
    logs: Any,
    names: Names,
    task_arn: str,
    output: TaskOutput,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[ecs_ops.TaskOutcome, list[LogLine]]:
    """Wait for a one-off task to stop, passing its log lines to `output` as they arrive."""
    stream = _LogStream(logs, names, last_part(task_arn), output, sleep)
    outcome = ecs_ops.wait_for_task(
        ecs,
        names.cluster,
        task_arn,
        on_status=lambda status: output.output(f"task {status.lower()}"),
        sleep=stream.sleep_and_print,
    )
    return outcome, stream.print_new()


def failure(outcome: ecs_ops.TaskOutcome) -> str:
    """How a task that did not succeed ended, in a few words."""
    if outcome.exit_code is not None:
        return f"exit code {outcome.exit_code}"
    return outcome.stopped_reason or outcome.container_reason or "it stopped without exiting"


class _LogStream:
    """Prints a task's log lines as they arrive, between the status polls of its wait."""

    def __init__(
        self,
        logs: Any,
        names: Names,
        task_id: str,
        output: TaskOutput,
        sleep: Callable[[float], None],
    ) -> None:
        self.logs, self.names, self.task_id = logs, names, task_id
        self.output, self.sleep = output, sleep
        self.printed = 0

    def sleep_and_print(self, seconds: float) -> None:
        self.sleep(seconds)
        self.print_new()

    def print_new(self) -> list[LogLine]:
        lines = task_logs(self.logs, self.names, self.task_id)
        for line in lines[self.printed :]:
            self.output.output(line.message)
        self.printed = len(lines)
        return lines
