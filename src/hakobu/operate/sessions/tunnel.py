"""SSM port forwarding to the database through a running task: `db tunnel` in the
foreground, and the background tunnel `db shell` runs its client through.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hakobu.aws import ssm as ssm_ops
from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.core.errors import HakobuError, PreflightError
from hakobu.core.names import Names
from hakobu.operate import db_clients
from hakobu.operate.sessions.database import Database, database, db_password
from hakobu.operate.sessions.ecs_exec import ExecTask, exec_task
from hakobu.operate.sessions.plugin import (
    PLUGIN,
    PLUGIN_INSTALL,
    Aws,
    child_environment,
    plugin_version,
    profile_name,
    require_plugin,
    run_foreground,
    run_plugin,
    start_session_plugin_argv,
    stop_process,
)

PORT_FORWARDING_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"


TUNNEL_TIMEOUT_S = 30.0


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
