"""Sessions in the app's environment: ECS Exec shells, one-off tasks, and the database.

The guide's "ECS Execでコンテナに接続", "単発コマンドの実行" and "RDSデータベースへの接続" as
library calls. Interactive sessions are handed to `session-manager-plugin` exactly as the
AWS CLI hands them (awscli/customizations/ecs/executecommand.py for ECS Exec,
awscli/customizations/sessionmanager.py for `ssm start-session`): same arguments, same
order, the same user signals ignored in the parent while the plugin owns the terminal.

Requests and argument lists are pure functions (tested as exact values); the executors
below them are small. Nothing here prints: the CLI renders what these functions return.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from hakobu.aws import ecs as ecs_ops
from hakobu.aws import rds as rds_ops
from hakobu.aws import secrets as secrets_ops
from hakobu.aws import ssm as ssm_ops
from hakobu.aws.arn import last_part
from hakobu.aws.clients import ClientSource
from hakobu.aws.errors import error_code, error_message
from hakobu.aws.logs import LogLine
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB, workers
from hakobu.core.engines import engine
from hakobu.core.errors import ConfigError, HakobuError, InvalidArgument, PreflightError
from hakobu.core.names import Names
from hakobu.operate import db_clients
from hakobu.ship import tasks
from hakobu.ship.deploy import DeployEvents

PLUGIN = "session-manager-plugin"
STARTED_BY = "hakobu-run"
EXEC_AGENT = "ExecuteCommandAgent"
PORT_FORWARDING_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
# Plugins newer than this read the start-session response from this variable, so the
# session token is not visible in `ps`; the AWS CLI passes the variable's *name* to them.
SESSION_RESPONSE_VARIABLE = "AWS_SSM_START_SESSION_RESPONSE"
LAST_PLUGIN_WITHOUT_VARIABLE = (1, 2, 497, 0)
# The keys of the start-session response the plugin needs (not ResponseMetadata).
SESSION_KEYS = ("SessionId", "TokenValue", "StreamUrl")
# Keys the terminal sends as signals: the plugin forwards them to the remote side, so the
# parent must not die of them (the AWS CLI's `ignore_user_entered_signals`).
USER_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)
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
TUNNEL_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
PLUGIN_INSTALL = (
    "install the Session Manager plugin. macOS: `brew install --cask session-manager-plugin`. "
    "Linux (Debian/Ubuntu): `curl "
    '"https://s3.amazonaws.com/session-manager-downloads/plugin/latest/ubuntu_64bit/'
    'session-manager-plugin.deb" -o "session-manager-plugin.deb" && sudo dpkg -i '
    "session-manager-plugin.deb`. Check it with `session-manager-plugin --version`"
)


class Aws(ClientSource, Protocol):
    """What sessions need of a `Target`: its clients, and what a child process (the
    Session Manager plugin, mysql) must be given to reach the same place."""

    region: str
    masked: tuple[str, ...]

    def environment(self) -> dict[str, str]: ...


# --- pure requests and argument lists ---------------------------------------------------


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


def port_forwarding_request(
    target: str, host: str, remote_port: int, local_port: int
) -> dict[str, Any]:
    """`ssm.start_session` kwargs forwarding 127.0.0.1:`local_port` to `host`:`remote_port`."""
    return {
        "Target": target,
        "DocumentName": PORT_FORWARDING_DOCUMENT,
        "Parameters": {
            "host": [host],
            "portNumber": [str(remote_port)],
            "localPortNumber": [str(local_port)],
        },
    }


def exec_plugin_argv(
    session: Mapping[str, Any], region: str, profile: str, target: str, endpoint: str
) -> list[str]:
    """The plugin's argv for an ECS Exec session, in the AWS CLI's order."""
    return [
        PLUGIN,
        json.dumps(session),
        region,
        "StartSession",
        profile,
        json.dumps({"Target": target}),
        endpoint,
    ]


def start_session_plugin_argv(
    response: Mapping[str, Any],
    request: Mapping[str, Any],
    region: str,
    profile: str,
    endpoint: str,
    plugin_version: str,
) -> tuple[list[str], dict[str, str]]:
    """The plugin's argv for an `ssm.start_session` response, and variables to add.

    As `aws ssm start-session`: only SessionId/TokenValue/StreamUrl are passed, through
    AWS_SSM_START_SESSION_RESPONSE when the plugin is new enough to read it, else as JSON.
    """
    session = json.dumps({key: response[key] for key in SESSION_KEYS})
    variables: dict[str, str] = {}
    if plugin_reads_variable(plugin_version):
        variables[SESSION_RESPONSE_VARIABLE] = session
        session = SESSION_RESPONSE_VARIABLE
    argv = [PLUGIN, session, region, "StartSession", profile, json.dumps(request), endpoint]
    return argv, variables


def plugin_reads_variable(version: str) -> bool:
    """True if a plugin reporting `version` is newer than 1.2.497.0 (an invalid one: no)."""
    cleaned = re.sub(r"\s+", "", version)
    if not re.fullmatch(r"\d+(\.\d+){0,3}", cleaned):
        return False
    parts = [int(part) for part in cleaned.split(".")]
    return tuple(parts + [0] * (4 - len(parts))) > LAST_PLUGIN_WITHOUT_VARIABLE


# --- preflight: what the machine needs, checked before any AWS call ---------------------


def require_plugin() -> str:
    """The plugin's path; `PreflightError` with the install commands if it is missing."""
    path = shutil.which(PLUGIN)
    if path is None:
        raise PreflightError(
            f"{PLUGIN} is not installed: ECS Exec and SSM tunnels hand the session to it, "
            "as the AWS CLI does",
            PLUGIN_INSTALL,
        )
    return path


def require_free_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PreflightError(
                f"port {port} on 127.0.0.1 is already in use ({exc.strerror})",
                "pick another with --port, or stop what listens there (another tunnel?)",
            ) from None


def free_port() -> int:
    """A port nobody listens on now (the tunnel binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the task to connect to -------------------------------------------------------------


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


# --- ECS Exec ---------------------------------------------------------------------------


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


# --- processes --------------------------------------------------------------------------


@contextmanager
def ignoring_user_signals() -> Iterator[None]:
    """Ctrl-C, Ctrl-\\ and Ctrl-Z belong to the child while it runs, not to hakobu."""
    previous = [signal.signal(sig, signal.SIG_IGN) for sig in USER_SIGNALS]
    try:
        yield
    finally:
        for sig, handler in zip(USER_SIGNALS, previous, strict=True):
            signal.signal(sig, handler)


def run_plugin(argv: list[str], env: Mapping[str, str]) -> int:
    """Run the plugin in the foreground; its exit code.

    Like the AWS CLI, the signals are ignored *before* the plugin starts: it inherits that
    and installs its own handlers, which forward the keys to the remote session.
    """
    with ignoring_user_signals():
        try:
            return exit_status(subprocess.call(argv, env=dict(env)))
        except FileNotFoundError:
            raise PreflightError(f"{PLUGIN} could not be started", PLUGIN_INSTALL) from None


def run_foreground(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    """Run a program that owns the terminal (mysql); hakobu ignores the user's signals
    only once it has started, so the program begins with its normal handlers."""
    child = subprocess.Popen(argv, env=None if env is None else dict(env))
    with ignoring_user_signals():
        return exit_status(child.wait())


def exit_status(code: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N."""
    return 128 - code if code < 0 else code


def profile_name(aws: Aws) -> str:
    """The profile the plugin should use, as the AWS CLI passes it ("" when none is set)."""
    if aws.sandbox:
        return ""
    import botocore.session  # lazily: ~80 ms, and only a session hand-off needs it

    return str(botocore.session.get_session().get_config_variable("profile") or "")


def child_environment(aws: Aws, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's environment for a child, pointed where hakobu's own calls go."""
    variables = {k: v for k, v in os.environ.items() if k not in aws.masked}
    return {**variables, **aws.environment(), **(extra or {})}


def plugin_version() -> str:
    try:
        result = subprocess.run([PLUGIN, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip()


# --- the database -----------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    name: str


@dataclass(frozen=True)
class TunnelPlan:
    """Where a tunnel goes: through which task, to which database, from which local port."""

    task: ExecTask
    database: Database
    local_port: int

    def request(self) -> dict[str, Any]:
        return port_forwarding_request(
            self.task.target, self.database.host, self.database.port, self.local_port
        )


def database(aws: Aws, env: Environment) -> Database:
    """The RDS instance's private endpoint and the app's user and database."""
    identifier = Names.of(env).db_instance
    facts = engine(env.settings.database.engine)
    if facts.aurora:
        return _cluster_database(aws, env, identifier, facts.port)
    instance = rds_ops.db_instance(aws.client("rds"), identifier)
    if instance is None:
        raise HakobuError(f"the database {identifier} does not exist", "run hakobu up")
    endpoint = instance.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise HakobuError(
            f"the database {identifier} has no endpoint yet "
            f"(status {instance.get('DBInstanceStatus', 'unknown')})",
            "wait until it is available; `aws rds describe-db-instances "
            f"--db-instance-identifier {identifier}` shows it",
        )
    settings = env.settings.database
    return Database(
        endpoint["Address"], int(endpoint.get("Port", 3306)), settings.username, env.database_name
    )


def _cluster_database(aws: Aws, env: Environment, identifier: str, port: int) -> Database:
    """An Aurora cluster's writer endpoint (the instances change; the endpoint does not)."""
    cluster = rds_ops.db_cluster(aws.client("rds"), identifier)
    if cluster is None:
        raise HakobuError(f"the Aurora cluster {identifier} does not exist", "run hakobu up")
    if not cluster.get("Endpoint"):
        raise HakobuError(
            f"the Aurora cluster {identifier} has no endpoint yet "
            f"(status {cluster.get('Status', 'unknown')})",
            "wait until it is available; `aws rds describe-db-clusters "
            f"--db-cluster-identifier {identifier}` shows it",
        )
    settings = env.settings.database
    return Database(
        str(cluster["Endpoint"]),
        int(cluster.get("Port") or port),
        settings.username,
        env.database_name,
    )


def plan_tunnel(aws: Aws, env: Environment, local_port: int, task: str | None = None) -> TunnelPlan:
    """Check the machine and pick the task and database, before anything is started."""
    require_plugin()
    require_free_port(local_port)
    chosen = exec_task(aws.client("ecs"), Names.of(env), task)
    return TunnelPlan(chosen, database(aws, env), local_port)


def forward_port(aws: Aws, plan: TunnelPlan) -> int:
    """Run the tunnel in the foreground until Ctrl-C; the plugin's exit code."""
    ssm = aws.client("ssm")
    request = plan.request()
    response = ssm_ops.start_session(ssm, request)
    argv, variables = _start_session_argv(aws, ssm, response, request)
    try:
        return run_plugin(argv, child_environment(aws, variables))
    except PreflightError:
        ssm_ops.terminate_session(ssm, response["SessionId"])  # no zombie session
        raise


@contextmanager
def background_tunnel(aws: Aws, plan: TunnelPlan, workdir: Path) -> Iterator[None]:
    """The tunnel as a background process, open (accepting connections) inside the block.

    It runs in its own session so Ctrl-C in the foreground program never reaches it; it is
    stopped with SIGINT (the plugin then closes the session cleanly) and the session is
    terminated in SSM as well.
    """
    ssm = aws.client("ssm")
    request = plan.request()
    response = ssm_ops.start_session(ssm, request)
    argv, variables = _start_session_argv(aws, ssm, response, request)
    log = workdir / "tunnel.log"
    try:
        with log.open("wb") as sink:
            child = subprocess.Popen(
                argv,
                env=child_environment(aws, variables),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError:
        ssm_ops.terminate_session(ssm, response["SessionId"])
        raise PreflightError(f"{PLUGIN} could not be started", PLUGIN_INSTALL) from None
    try:
        wait_for_port(plan.local_port, child, log)
        yield
    finally:
        stop_process(child)
        ssm_ops.terminate_session(ssm, response["SessionId"])


def _start_session_argv(
    aws: Aws, ssm: Any, response: Mapping[str, Any], request: Mapping[str, Any]
) -> tuple[list[str], dict[str, str]]:
    return start_session_plugin_argv(
        response,
        request,
        ssm.meta.region_name,
        profile_name(aws),
        ssm.meta.endpoint_url,
        plugin_version(),
    )


def wait_for_port(
    port: int,
    child: subprocess.Popen[bytes],
    log: Path,
    timeout: float = TUNNEL_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Until 127.0.0.1:`port` accepts connections; `HakobuError` if the tunnel dies or
    does not open in time, with the plugin's own output."""
    deadline = clock() + timeout
    while True:
        if child.poll() is not None:
            raise _tunnel_failed(f"the tunnel stopped (exit code {child.returncode})", log)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if clock() > deadline:
                raise _tunnel_failed(
                    f"the tunnel did not open port {port} within {timeout:.0f} s", log
                ) from None
            time.sleep(0.1)


def _tunnel_failed(problem: str, log: Path) -> HakobuError:
    output = " | ".join(log.read_text(errors="replace").split("\n")[-10:]).strip(" |")
    return HakobuError(
        f"{problem}: {output or 'no output'}",
        "check that the task's security group may reach the database (hakobu's blueprint "
        "allows it) and try `hakobu db tunnel` to see the plugin's messages",
    )


def stop_process(child: subprocess.Popen[bytes]) -> None:
    """SIGINT (the plugin's clean exit), then SIGTERM, then SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if child.poll() is not None:
            return
        child.send_signal(sig)
        try:
            child.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue


def db_shell(aws: Aws, env: Environment, plan: TunnelPlan) -> int:
    """The engine's client (mysql or psql) through a background tunnel, the password in a
    private file (operate/db_clients); the client's exit code. The tunnel is closed and
    the file deleted however the client ends."""
    family = engine(env.settings.database.engine).family
    client = db_clients.require_client(family)
    password = db_password(aws, env)
    db = plan.database
    with (
        db_clients.password_file(family, password) as secret_file,
        background_tunnel(aws, plan, secret_file.parent),
    ):
        command = db_clients.client_command(
            family, client, secret_file, plan.local_port, db.user, db.name
        )
        return run_foreground(command.argv, command.environment(os.environ))


@dataclass(frozen=True)
class PasswordInfo:
    secret: str
    last_changed: datetime | None


def db_password_info(aws: Aws, env: Environment) -> PasswordInfo:
    """Where the DB password is and when it last changed, without reading its value."""
    secret = Names.of(env).db_password_secret
    described = secrets_ops.describe(aws.client("secretsmanager"), secret)
    if described is None:
        raise HakobuError(f"the secret {secret} does not exist", "run hakobu up")
    return PasswordInfo(secret, described.get("LastChangedDate") or described.get("CreatedDate"))


def db_password(aws: Aws, env: Environment) -> str:
    secret = Names.of(env).db_password_secret
    value = secrets_ops.secret_value(aws.client("secretsmanager"), secret)
    if value is None:
        raise HakobuError(
            f"the secret {secret} has no value", "run hakobu up (it generates the password)"
        )
    return value


# --- one-off tasks ----------------------------------------------------------------------


@dataclass
class RunResult:
    task_arn: str
    task_definition_arn: str
    outcome: ecs_ops.TaskOutcome | None  # None: the sandbox started it but runs nothing
    log_lines: list[LogLine]

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
