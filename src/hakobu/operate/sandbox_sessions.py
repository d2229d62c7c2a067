"""Sessions in the sandbox: `exec`, `console` and the database, on what its runtime runs.

The emulator implements neither ecs.execute_command nor ssm.start_session, but its
runtime runs each task as a real container and each RDS instance as a local server on
127.0.0.1 (docs/design.md, "The sandbox runtime"). So `exec` goes to the container engine
(`podman|docker exec`), called with the runtime's own CLI settings (its containers.conf,
its store: the facts give them), and `db shell` goes straight to the database: no plugin,
no tunnel. The task is picked as on AWS: `--task`, else the service's first RUNNING task.

Argument lists are pure functions; nothing here prints.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.core.config import Environment
from hakobu.core.engines import engine as engine_facts
from hakobu.core.errors import HakobuError, PreflightError
from hakobu.core.names import Names
from hakobu.operate import db_clients, sessions
from hakobu.operate.sessions import Aws, Database
from hakobu.provision.blueprint.service import runs_placeholder
from hakobu.sandbox.report import RuntimeReport, SandboxContainer, runtime_report
from hakobu.sandbox.runtime.engine import ContainerEngine

LOOPBACK = "127.0.0.1"
ENGINE_INSTALL = (
    "install podman or docker (Debian/Ubuntu: `sudo apt install podman`; macOS: Docker "
    "Desktop or `brew install podman`), then restart the sandbox with `hakobu sandbox stop`"
)


# --- pure: the container, the argument lists -------------------------------------------


def pick_container(
    report: RuntimeReport,
    names: Names,
    running_arns: list[str],
    task: str | None,
    service: str | None = None,
) -> SandboxContainer | None:
    """The app container to open a session in: that of `task` (an id or ARN, any task the
    runtime runs, one-off ones too), else of the service's (web's, or `service`) first
    RUNNING task in ECS's order; None if it runs in no container."""
    running = [c for c in report.containers if c.name == names.container and c.status == "RUNNING"]
    if task:
        return next((c for c in running if task in (c.task_id, c.task_arn)), None)
    by_arn = {c.task_arn: c for c in running if c.service == (service or names.service)}
    return next((by_arn[arn] for arn in running_arns if arn in by_arn), None)


def exec_argv(
    engine: ContainerEngine, container_id: str, command: list[str], tty: bool
) -> list[str]:
    """`exec` with a terminal (`-it`) when stdin is one; else stdin stays open (`-i`), so
    a script piped in reaches the command."""
    return engine.exec_args(container_id, command, interactive=tty, stdin=not tty)


# --- the running container --------------------------------------------------------------


def running_engine(aws: Aws, root: Path) -> tuple[ContainerEngine, RuntimeReport]:
    """The runtime's engine, as the runtime calls it, and its report; `PreflightError`
    when the sandbox runs no containers (no engine on this machine)."""
    report = runtime_report(root) if aws.runs_tasks else None
    if report is None:
        raise PreflightError(
            "the sandbox runs no containers to open a session in: no container engine "
            "(podman or docker) was found",
            ENGINE_INSTALL,
        )
    if report.engine_cli.get("executable"):
        return ContainerEngine.described(report.engine, report.engine_cli), report
    # A runtime older than its `engine_cli` fact: find the engine as it did.
    found = ContainerEngine.find(root / ".hakobu" / "sandbox" / "engine")
    if found is None:
        raise PreflightError(f"{report.engine} no longer works here", ENGINE_INSTALL)
    return found, report


def session_container(
    aws: Aws, env: Environment, task: str | None, service: str | None = None
) -> tuple[ContainerEngine, SandboxContainer]:
    """The engine and the container `exec` opens a session in (a task of web's service, or
    of `service`, a worker's); `HakobuError` saying why none can be used (no engine, no
    deploy yet, no running task)."""
    engine, report = running_engine(aws, env.root)
    names = Names.of(env)
    service = service or names.service
    ecs = aws.client("ecs")
    arns = [] if task else ecs_ops.running_task_arns(ecs, names.cluster, service)
    chosen = pick_container(report, names, arns, task, service)
    if chosen is None:
        raise _no_container(ecs, names, task, service)
    return engine, chosen


def _no_container(ecs: Any, names: Names, task: str | None, service: str) -> HakobuError:
    if task:
        return HakobuError(
            f"task {task} runs no container named {names.container!r} in the sandbox",
            "`hakobu sandbox status` lists the running tasks; or leave out --task",
        )
    described = ecs_ops.service_description(ecs, names.cluster, service)
    if runs_placeholder(ecs_ops.task_definition(ecs, described["taskDefinition"])):
        return HakobuError(
            f"the service {service} runs no task yet: no deploy yet (the revision "
            "`hakobu up` registers runs the never-pushed :bootstrap image)",
            "run `hakobu deploy --sandbox`, then try again",
        )
    return HakobuError(
        f"the service {service} has no running task to connect to",
        "`hakobu status --sandbox` shows why; `hakobu run --sandbox -- COMMAND` starts a "
        "one-off task of the current revision even when the service is unhealthy",
    )


def exec_session(
    aws: Aws,
    env: Environment,
    command: list[str],
    task: str | None = None,
    notify: Callable[[str], None] = lambda message: None,
    tty: bool | None = None,
    service: str | None = None,
) -> int:
    """Run `command` in the app container of a running task (of web's service, or of
    `service`); the command's exit code."""
    engine, container = session_container(aws, env, task, service)
    terminal = sys.stdin.isatty() if tty is None else tty
    what = "a shell" if command == sessions.SHELL_COMMAND else shlex.join(command)
    notify(
        f"Opening {what} in task {container.task_id} ({container.name}) with `{engine.name} exec`"
    )
    argv = exec_argv(engine, container.engine_id, command, terminal)
    return sessions.run_foreground(argv, engine.environment())


# --- the database -----------------------------------------------------------------------


@dataclass(frozen=True)
class LocalDatabase:
    """Where the sandbox's database listens on 127.0.0.1, and how it is reached."""

    family: str  # mysql | postgres
    database: Database
    running: bool


def local_database(aws: Aws, env: Environment) -> LocalDatabase:
    """The database's port from the runtime's facts, else the emulated RDS endpoint's
    (the runtime serves each DB on 127.0.0.1 at the port RDS reports for it)."""
    names = Names.of(env)
    settings = env.settings.database
    family = engine_facts(settings.engine).family
    report = runtime_report(env.root) if aws.runs_tasks else None
    served = next(
        (d for d in (report.databases if report else []) if d.identifier == names.db_instance),
        None,
    )
    if served is not None:
        found = Database(LOOPBACK, served.port, settings.username, env.database_name)
        return LocalDatabase(family, found, served.running)
    endpoint = sessions.database(aws, env)
    found = Database(LOOPBACK, endpoint.port, endpoint.user, endpoint.name)
    return LocalDatabase(family, found, report is not None)


def require_serving(db: LocalDatabase, env: Environment) -> None:
    if not db.running:
        raise HakobuError(
            f"the sandbox's database {Names.of(env).db_instance} is not running (paused, "
            "or the sandbox runs no database server without podman or docker)",
            f"`hakobu resume {env.name} --sandbox` starts it again; `hakobu sandbox status` "
            "shows what runs",
        )


def db_shell(aws: Aws, env: Environment, db: LocalDatabase) -> int:
    """The local client (mariadb/mysql or psql) on the sandbox's database; its exit code.
    The password, read from the emulated Secrets Manager, reaches it only in a private
    file deleted afterwards (operate/db_clients): never argv or output."""
    family = engine_facts(env.settings.database.engine).family
    client = db_clients.require_client(family)
    require_serving(db, env)
    password = sessions.db_password(aws, env)
    target = db.database
    with db_clients.password_file(family, password) as secret_file:
        command = db_clients.client_command(
            family, client, secret_file, target.port, target.user, target.name
        )
        return sessions.run_foreground(command.argv, command.environment(os.environ))
