"""One-off tasks of the service's current revision: `hakobu run` and `schedules run`
(the guide's "単発コマンドの実行").
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.arn import last_part
from hakobu.aws.logs import LogLine
from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.operate.sessions.plugin import Aws
from hakobu.ship import tasks
from hakobu.ship.deploy import DeployEvents

STARTED_BY = "hakobu-run"


@dataclass
class RunResult:
    task_arn: str
    task_definition_arn: str
    outcome: ecs_ops.TaskOutcome | None  # None: the sandbox started it but runs nothing
    log_lines: list[LogLine]

    @property
    def task_id(self) -> str:
        return ecs_ops.task_id(self.task_arn)

    @property
    def exit_code(self) -> int:
        """The command's own exit code, or 1 if the task stopped without one."""
        if self.outcome is None:
            return 0
        code = self.outcome.exit_code
        return code if code is not None and 0 <= code <= 255 else 1


def run_one_off(
    aws: Aws,
    env: Environment,
    command: list[str],
    events: DeployEvents,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Run `command` as a one-off task of the service's *current* revision and wait for it.

    The release task's machinery: the service's subnets and security groups, the command
    overriding the container's, its log lines printed as they arrive. It does not need a
    healthy service, so it is how to migrate or run a rake task when the service is down.
    """
    names = Names.of(env)
    ecs = aws.client("ecs")
    service = ecs_ops.service_description(ecs, names.cluster, names.service)
    revision = service["taskDefinition"]
    task_arn = tasks.start(ecs, names, service, revision, command, STARTED_BY)
    events.step(
        "Started",
        f"{shlex.join(command)} as task {ecs_ops.task_id(task_arn)} of {last_part(revision)}",
    )
    if not aws.runs_tasks:
        return RunResult(task_arn, revision, None, [])
    outcome, lines = tasks.follow(ecs, aws.client("logs"), names, task_arn, events, sleep)
    return RunResult(task_arn, revision, outcome, lines)
