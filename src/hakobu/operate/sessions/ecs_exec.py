"""ECS Exec: the task to open a session in, why one cannot be opened, and the session.

The guide's "ECS Execでコンテナに接続" as a library call; the console is a session running
the framework's console command.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.errors import error_code, error_message
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB, workers
from hakobu.core.errors import ConfigError, HakobuError, InvalidArgument
from hakobu.core.names import Names
from hakobu.operate.sessions.plugin import (
    Aws,
    child_environment,
    exec_plugin_argv,
    profile_name,
    require_plugin,
    run_plugin,
)

EXEC_AGENT = "ExecuteCommandAgent"


# bash when the image has it (line editing, history: the guide's /bin/bash), else sh
# (Alpine and slim images). The ECS Exec agent splits the command like a shell (no shell
# runs it), so the script is one quoted argument of /bin/sh.
SHELL_COMMAND = [
    "/bin/sh",
    "-c",
    "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi",
]
CONSOLE_COMMANDS = {
    "rails": ["bin/rails", "console"],
    "django": ["python", "manage.py", "shell"],
}


def console_command(env: Environment) -> list[str]:
    """The framework's console; `ConfigError` for a plain container (hakobu cannot guess)."""
    if env.framework not in CONSOLE_COMMANDS:
        raise ConfigError(
            "framework",
            f'"{env.framework}" apps have no console hakobu knows',
            "run yours with `hakobu exec -- COMMAND` (for example `hakobu exec -- bin/console`),"
            ' or set framework = "rails" or "django"',
        )
    return list(CONSOLE_COMMANDS[env.framework])


def execute_command_request(
    cluster: str, task_arn: str, container: str, command: list[str]
) -> dict[str, Any]:
    """`ecs.execute_command` kwargs. The agent splits `command` like a shell: quote it so."""
    return {
        "cluster": cluster,
        "task": task_arn,
        "container": container,
        "command": shlex.join(command),
        "interactive": True,
    }


def session_target(cluster: str, task_id: str, runtime_id: str) -> str:
    """The SSM target of a container: `ecs:<cluster>_<task id>_<container runtime id>`.

    (The guide writes the container *name* last; SSM wants its runtime id.)
    """
    return f"ecs:{cluster}_{task_id}_{runtime_id}"


@dataclass(frozen=True)
class ExecTask:
    """A running task whose app container accepts ECS Exec sessions."""

    cluster: str
    task_arn: str
    runtime_id: str

    @property
    def task_id(self) -> str:
        return ecs_ops.task_id(self.task_arn)

    @property
    def target(self) -> str:
        return session_target(self.cluster, self.task_id, self.runtime_id)


def process_service(env: Environment, process: str | None) -> str:
    """The ECS service `exec --process` opens a session in: web's, or a worker's."""
    names = Names.of(env)
    if process is None or process == WEB:
        return names.service
    known = [WEB, *workers(env)]
    if process not in known:
        raise InvalidArgument(
            f"no process named {process!r}",
            f"use one of: {', '.join(known)} (web, and each [processes.NAME] of hakobu.toml)",
        )
    return names.process(process)


def exec_task(
    ecs: Any, names: Names, task: str | None = None, service: str | None = None
) -> ExecTask:
    """`task` (an id or ARN), or the first RUNNING task of the service (web's, or `service`)
    that accepts ECS Exec.

    `HakobuError` saying why and what to do if none does.
    """
    arns = [task] if task else _service_tasks(ecs, names, service or names.service)
    response = ecs_ops.describe_tasks(ecs, names.cluster, arns)
    running = [t for t in response.get("tasks", []) if t.get("lastStatus") == "RUNNING"]
    if not running:
        raise _no_running_task(names, task, response)
    problems = []
    for described in running:
        problem = exec_problem(described, names)
        if problem is None:
            container = _container(described, names.container)
            return ExecTask(names.cluster, described["taskArn"], container["runtimeId"])
        problems.append(problem)
    raise problems[0]


def exec_problem(task: dict[str, Any], names: Names) -> HakobuError | None:
    """Why ECS Exec cannot reach this task's app container, or None if it can."""
    ident = ecs_ops.task_id(task["taskArn"])
    if not task.get("enableExecuteCommand"):
        return exec_not_enabled(names, f"task {ident} was started without ECS Exec enabled")
    container = _container(task, names.container)
    if container is None or not container.get("runtimeId"):
        return HakobuError(
            f"task {ident} has no running container named {names.container!r}",
            "the container is named after the app; check `app` in hakobu.toml",
        )
    agents = [a for a in container.get("managedAgents", []) if a.get("name") == EXEC_AGENT]
    status = agents[0].get("lastStatus", "UNKNOWN") if agents else "missing"
    if status == "RUNNING":
        return None
    if status == "PENDING":
        return HakobuError(
            f"the ECS Exec agent of task {ident} is still starting",
            "try again in a few seconds",
        )
    reason = agents[0].get("reason") if agents else None
    return exec_not_enabled(
        names,
        f"the ECS Exec agent of task {ident} is {status}" + (f" ({reason})" if reason else ""),
    )


def exec_not_enabled(names: Names, why: str) -> HakobuError:
    return HakobuError(
        f"ECS Exec is not available: {why}",
        "hakobu's Terraform sets enable_execute_command on the service, and only tasks "
        "started after that accept sessions: run `hakobu up`, then start new tasks with "
        f"`hakobu deploy` (or `aws ecs update-service --cluster {names.cluster} --service "
        f"{names.service} --force-new-deployment`). The task role needs the "
        "ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/"
        "OpenDataChannel permissions, which hakobu's blueprint grants",
    )


def _service_tasks(ecs: Any, names: Names, service: str) -> list[str]:
    arns = ecs_ops.running_task_arns(ecs, names.cluster, service)
    if not arns:
        raise HakobuError(
            f"the service {service} has no running task to connect to",
            "`hakobu status` shows why; `hakobu run -- COMMAND` starts a one-off task of the "
            "current revision even when the service is unhealthy",
        )
    return arns


def _no_running_task(names: Names, task: str | None, response: dict[str, Any]) -> HakobuError:
    if task:
        reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", []))
        return HakobuError(
            f"task {task} is not running in cluster {names.cluster}"
            + (f" ({reasons})" if reasons else ""),
            f"list the running ones with `aws ecs list-tasks --cluster {names.cluster} "
            f"--service-name {names.service}`, or leave out --task",
        )
    return HakobuError(
        f"the service {names.service} has no running task to connect to",
        "`hakobu status` shows why; `hakobu run -- COMMAND` starts a one-off task of the "
        "current revision even when the service is unhealthy",
    )


def _container(task: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for c in task.get("containers", []) if c.get("name") == name), None)


def exec_session(
    aws: Aws,
    env: Environment,
    command: list[str],
    task: str | None = None,
    notify: Callable[[str], None] = lambda message: None,
    service: str | None = None,
) -> int:
    """Open an ECS Exec session running `command` in the app container of a task of web's
    service (or `service`, a worker's); the plugin's code.

    (In the sandbox, operate/sandbox_sessions.py runs the command with the container engine.)
    """
    require_plugin()
    names = Names.of(env)
    ecs = aws.client("ecs")
    chosen = exec_task(ecs, names, task, service)
    what = "a shell" if command == SHELL_COMMAND else shlex.join(command)
    notify(f"Opening {what} in task {chosen.task_id} ({names.container}) with ECS Exec")
    request = execute_command_request(names.cluster, chosen.task_arn, names.container, command)
    response = _execute_command(ecs, names, request)
    argv = exec_plugin_argv(
        response["session"],
        ecs.meta.region_name,
        profile_name(aws),
        chosen.target,
        ecs.meta.endpoint_url,
    )
    return run_plugin(argv, child_environment(aws))


def _execute_command(ecs: Any, names: Names, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return ecs_ops.execute_command(ecs, request)
    except ClientError as exc:
        code, message = error_code(exc), error_message(exc)
        # ECS says "execute command was not enabled ... or the agent isn't running".
        if code == "InvalidParameterException" and "execute command" in message.lower():
            raise exec_not_enabled(names, message) from None
        if code == "TargetNotConnectedException":
            raise HakobuError(
                f"ECS could not reach the task's Exec agent: {message}",
                "the task role needs the ssmmessages permissions (hakobu's blueprint grants "
                "them: run `hakobu up`) and the private subnets need a route out (the NAT "
                "gateway); then start a new task with `hakobu deploy`",
            ) from None
        raise
