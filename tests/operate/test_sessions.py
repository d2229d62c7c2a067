"""exec, console, run and db with botocore's Stubber: the emulator implements neither
ecs.execute_command nor ssm.start_session (the sandbox's own sessions go to the container
engine and the local database: tests/integration/test_sessions_sandbox.py), so these
tests answer AWS's calls with Stubbers (responses shaped like AWS's own) and run hakobu's
CLI in-process (a Stubber only works in the process that holds the client).

`session-manager-plugin` and `mysql` are real processes: small fakes placed on PATH that
record their argv, environment and inherited signal dispositions as JSON, so the hand-off
is asserted exactly as the AWS CLI makes it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from hakobu.cli import context, main
from hakobu.cli.context import Wiring
from hakobu.core.errors import ConfigError
from hakobu.operate import db_clients, sessions
from tests.conftest import environment_of
from tests.support.stubbed_aws import (
    ACCOUNT,
    CLUSTER,
    NETWORK,
    OLD,
    SERVICE,
    StubbedAws,
    service_response,
)

REGION = "ap-northeast-1"
TASK_ID = "5c1a2b3c4d5e4f60a1b2c3d4e5f60718"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{TASK_ID}"
RUNTIME_ID = f"{TASK_ID}-2531612879"
TARGET = f"ecs:{CLUSTER}_{TASK_ID}_{RUNTIME_ID}"
ECS_SESSION = {
    "sessionId": "ecs-execute-command-0a1b2c3d4e5f",
    "streamUrl": f"wss://ssmmessages.{REGION}.amazonaws.com/v1/data-channel/ecs-execute-command",
    "tokenValue": "AAEAAexampleSessionToken",
}
SSM_SESSION = {
    "SessionId": "hakobu-0a1b2c3d4e5f67890",
    "TokenValue": "AAEAAexamplePortForwardingToken",
    "StreamUrl": f"wss://ssmmessages.{REGION}.amazonaws.com/v1/data-channel/hakobu-0a1b2c3d",
}
DB_HOST = "rails-app-db.c9akciq32.ap-northeast-1.rds.amazonaws.com"
PASSWORD = "s3cretPassw0rdFromSecretsManager"
SHELL = "/bin/sh -c 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'"

FAKE_PLUGIN = """\
import json, os, signal, socket, sys
record = os.environ["FAKE_PLUGIN_RECORD"]
if sys.argv[1:] == ["--version"]:
    print(os.environ.get("FAKE_PLUGIN_VERSION", "1.2.694.0"))
    sys.exit(0)
ignored = [name for name in ("SIGINT", "SIGQUIT", "SIGTSTP")
           if signal.getsignal(getattr(signal, name)) == signal.SIG_IGN]
with open(record, "w") as out:
    json.dump({"argv": sys.argv[1:], "ignored": ignored,
               "response_variable": os.environ.get("AWS_SSM_START_SESSION_RESPONSE")}, out)
if os.environ.get("FAKE_PLUGIN_LISTEN"):
    port = int(json.loads(sys.argv[5])["Parameters"]["localPortNumber"][0])
    server = socket.create_server(("127.0.0.1", port))
    try:
        while True:
            server.accept()[0].close()
    except KeyboardInterrupt:
        open(record + ".stopped", "w").write("SIGINT")
sys.exit(int(os.environ.get("FAKE_PLUGIN_EXIT", "0")))
"""
FAKE_MYSQL = """\
import json, os, socket, stat, sys
option = sys.argv[1].split("=", 1)[1] if sys.argv[1].startswith("--defaults-extra-file=") else ""
port = int([a for a in sys.argv if a.startswith("--port=")][0].split("=", 1)[1])
socket.create_connection(("127.0.0.1", port), timeout=5).close()
with open(os.environ["FAKE_MYSQL_RECORD"], "w") as out:
    json.dump({"argv": sys.argv[1:], "option_file": option,
               "mode": stat.S_IMODE(os.stat(option).st_mode),
               "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(option)).st_mode),
               "content": open(option).read()}, out)
sys.exit(int(os.environ.get("FAKE_MYSQL_EXIT", "0")))
"""
FAKE_PSQL = """\
import json, os, socket, stat, sys
port = int([a for a in sys.argv if a.startswith("--port=")][0].split("=", 1)[1])
socket.create_connection(("127.0.0.1", port), timeout=5).close()
passfile = os.environ.get("PGPASSFILE", "")
with open(os.environ["FAKE_MYSQL_RECORD"], "w") as out:
    json.dump({"argv": sys.argv[1:], "option_file": passfile,
               "mode": stat.S_IMODE(os.stat(passfile).st_mode),
               "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(passfile)).st_mode),
               "content": open(passfile).read(),
               "PGPASSWORD": os.environ.get("PGPASSWORD")}, out)
sys.exit(int(os.environ.get("FAKE_MYSQL_EXIT", "0")))
"""


class SessionAws(StubbedAws):
    """The deploy tests' Stubber-backed target, with what sessions also use."""

    region = REGION
    masked: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        return {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


class Fakes:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.plugin_record = root / "plugin.json"
        self.mysql_record = root / "mysql.json"
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_PLUGIN_RECORD", str(self.plugin_record))
        monkeypatch.setenv("FAKE_MYSQL_RECORD", str(self.mysql_record))

    def install(self, name: str, source: str) -> None:
        path = self.bin / name
        path.write_text(f"#!{sys.executable}\n{source}")
        path.chmod(0o755)

    @property
    def plugin(self) -> dict[str, Any]:
        return json.loads(self.plugin_record.read_text())

    @property
    def mysql(self) -> dict[str, Any]:
        return json.loads(self.mysql_record.read_text())


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    return Fakes(tmp_path, monkeypatch)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> SessionAws:
    stubbed = SessionAws()
    wiring = Wiring(make_target=lambda command: stubbed)  # type: ignore[arg-type,return-value]
    monkeypatch.setattr(context, "DEFAULT_WIRING", wiring)
    return stubbed


def hakobu(
    *args: str, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """`hakobu ARGS` in this process (exit code, stdout, stderr), as `python -m hakobu`
    runs it: the same `main()`, with its error reporting and exit codes."""
    words = list(args)
    at = words.index("--") if "--" in words else len(words)  # options go before `--`
    words[at:at] = ["--config", str(root / "hakobu.toml")]
    monkeypatch.setattr(sys, "argv", ["hakobu", *words])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def flat(text: str) -> str:
    return " ".join(text.split())


# --- Stubber answers ------------------------------------------------------------------


def _task(exec_enabled: bool = True, agent: str = "RUNNING") -> dict[str, Any]:
    return {
        "taskArn": TASK_ARN,
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "taskDefinitionArn": OLD,
        "lastStatus": "RUNNING",
        "desiredStatus": "RUNNING",
        "enableExecuteCommand": exec_enabled,
        "containers": [
            {
                "name": "rails-app",
                "runtimeId": RUNTIME_ID,
                "lastStatus": "RUNNING",
                "managedAgents": [{"name": "ExecuteCommandAgent", "lastStatus": agent}],
            }
        ],
    }


def _running_task(aws: SessionAws, **task: Any) -> None:
    ecs = aws.stub("ecs")
    ecs.add_response(
        "list_tasks",
        {"taskArns": [TASK_ARN]},
        {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "RUNNING"},
    )
    ecs.add_response(
        "describe_tasks", {"tasks": [_task(**task)]}, {"cluster": CLUSTER, "tasks": [TASK_ARN]}
    )


def _execute_command(aws: SessionAws, command: str) -> None:
    aws.stub("ecs").add_response(
        "execute_command",
        {
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
            "containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{CLUSTER}/{TASK_ID}/c",
            "containerName": "rails-app",
            "interactive": True,
            "session": ECS_SESSION,
            "taskArn": TASK_ARN,
        },
        {
            "cluster": CLUSTER,
            "task": TASK_ARN,
            "container": "rails-app",
            "command": command,
            "interactive": True,
        },
    )


def _database(aws: SessionAws, port: int = 3306) -> None:
    aws.stub("rds").add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": "rails-app-db",
                    "DBInstanceStatus": "available",
                    "Endpoint": {"Address": DB_HOST, "Port": port},
                }
            ]
        },
        {"DBInstanceIdentifier": "rails-app-db"},
    )


def _start_session(aws: SessionAws, port: int, remote_port: int = 3306) -> None:
    aws.stub("ssm").add_response(
        "start_session",
        dict(SSM_SESSION),
        {
            "Target": TARGET,
            "DocumentName": "AWS-StartPortForwardingSessionToRemoteHost",
            "Parameters": {
                "host": [DB_HOST],
                "portNumber": [str(remote_port)],
                "localPortNumber": [str(port)],
            },
        },
    )


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- exec and console -----------------------------------------------------------------


def test_exec_hands_the_session_to_the_plugin_as_the_aws_cli_does(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: list_tasks, describe_tasks, execute_command; then the plugin gets, in order,
    the JSON of response["session"], the region, StartSession, the profile, the JSON of the
    target with the container's runtime id, and the ECS endpoint. Its exit code is hakobu's;
    the user's signals were ignored when it started, as the AWS CLI does."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    monkeypatch.setenv("FAKE_PLUGIN_EXIT", "7")
    handlers = [signal.getsignal(s) for s in sessions.USER_SIGNALS]
    _running_task(aws)
    _execute_command(aws, "bin/rails runner 'puts 1'")
    code, _, err = hakobu(
        "exec", "--", "bin/rails", "runner", "puts 1",
        root=rails_app, monkeypatch=monkeypatch, capsys=capsys,
    )  # fmt: skip
    aws.verify()
    assert code == 7, err
    assert fakes.plugin["argv"] == [
        json.dumps(ECS_SESSION),
        REGION,
        "StartSession",
        "",
        json.dumps({"Target": TARGET}),
        f"https://ecs.{REGION}.amazonaws.com",
    ]
    assert fakes.plugin["ignored"] == ["SIGINT", "SIGQUIT", "SIGTSTP"]
    # ...and hakobu's own handlers are back once the plugin has exited.
    assert [signal.getsignal(s) for s in sessions.USER_SIGNALS] == handlers


def test_exec_defaults_to_a_shell_and_passes_the_profile(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: with no command, bash if the image has it, else sh; the named profile (as
    the AWS CLI passes --profile / AWS_PROFILE) goes to the plugin; --task skips list_tasks."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    aws.stub("ecs").add_response(
        "describe_tasks", {"tasks": [_task()]}, {"cluster": CLUSTER, "tasks": [TASK_ID]}
    )
    _execute_command(aws, SHELL)
    # Set after the stubbed client exists: only the plugin should see the profile.
    monkeypatch.setenv("AWS_PROFILE", "hakobu-ops")
    code, _, err = hakobu(
        "exec", "--task", TASK_ID, root=rails_app, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert code == 0, err
    assert fakes.plugin["argv"][3] == "hakobu-ops"
    assert fakes.plugin["argv"][4] == json.dumps({"Target": TARGET})


def test_console_runs_the_frameworks_console(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: `hakobu console` on a Rails app is ECS Exec with `bin/rails console`."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    _running_task(aws)
    _execute_command(aws, "bin/rails console")
    code, _, err = hakobu("console", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 0, err
    assert fakes.plugin["argv"][0] == json.dumps(ECS_SESSION)


def test_console_commands_per_framework(tmp_path: Path) -> None:
    def env(framework: str) -> Any:
        return environment_of({"app": "shop", "framework": framework}, root=tmp_path)

    assert sessions.console_command(env("rails")) == ["bin/rails", "console"]
    assert sessions.console_command(env("django")) == ["python", "manage.py", "shell"]
    with pytest.raises(ConfigError) as caught:
        sessions.console_command(env("container"))
    assert caught.value.exit_code == 2
    assert "hakobu exec -- " in str(caught.value.fix)


def test_missing_plugin_is_one_message_exit_2_and_no_aws_call(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber with no response queued: any ECS call would fail the command with exit 1;
    it exits 2 with the guide's install commands instead, before calling AWS."""
    monkeypatch.setenv("PATH", str(fakes.bin))  # an empty directory: no plugin anywhere
    aws.stub("ecs")
    for command in (["exec"], ["console"], ["db", "tunnel"], ["db", "shell"]):
        code, out, err = hakobu(*command, root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
        assert code == 2, (command, out, err)
        text = flat(err)
        assert "session-manager-plugin is not installed" in text
        assert "brew install --cask session-manager-plugin" in text
        assert (
            "https://s3.amazonaws.com/session-manager-downloads/plugin/latest/ubuntu_64bit/"
            "session-manager-plugin.deb" in text
        )
        assert "sudo dpkg -i session-manager-plugin.deb" in text
    aws.verify()


@pytest.mark.parametrize(
    ("task", "why"),
    [
        ({"exec_enabled": False}, f"task {TASK_ID} was started without ECS Exec enabled"),
        ({"agent": "STOPPED"}, f"the ECS Exec agent of task {TASK_ID} is STOPPED"),
    ],
)
def test_exec_not_enabled_on_the_task_says_why_and_how_to_fix(
    task: dict[str, Any],
    why: str,
    rails_app: Path,
    fakes: Fakes,
    aws: SessionAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    """Stubber: describe_tasks shows the task cannot take a session; execute_command is
    never called (none is queued) and the plugin never starts."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    _running_task(aws, **task)
    code, _, err = hakobu("exec", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 1
    text = flat(err)
    assert f"ECS Exec is not available: {why}" in text
    assert "hakobu up" in text and "hakobu deploy" in text
    assert f"--cluster {CLUSTER} --service {SERVICE} --force-new-deployment" in text
    assert "ssmmessages" in text
    assert not fakes.plugin_record.exists()


def test_exec_refused_by_ecs_is_explained(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: execute_command answers InvalidParameterException (the agent went away
    between describe_tasks and the call); the explanation names the fix."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    _running_task(aws)
    message = (
        "The execute command failed because execute command was not enabled when the task "
        "was run or the execute command agent isn't running. Wait and try again or run a new "
        "task with execute command enabled and try again."
    )
    aws.stub("ecs").add_client_error("execute_command", "InvalidParameterException", message, 400)
    code, _, err = hakobu("exec", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 1
    text = flat(err)
    assert f"ECS Exec is not available: {message}" in text
    assert "force-new-deployment" in text and "ssmmessages" in text
    assert not fakes.plugin_record.exists()


@pytest.mark.parametrize("args", [("exec", "--sandbox"), ("console", "--sandbox")])
def test_a_sandbox_session_without_a_container_engine_names_what_to_install(
    args: tuple[str, ...],
    rails_app: Path,
    aws: SessionAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    """A sandbox whose runtime found no podman or docker runs no container: one line says
    so and what to install, before any AWS call (no stub is queued)."""
    monkeypatch.setattr(aws, "runs_tasks", False)
    code, _, err = hakobu(*args, root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 2
    text = flat(err)
    assert "no container engine (podman or docker) was found" in text
    assert "install podman or docker" in text


# --- db tunnel, db shell, db password -------------------------------------------------


@pytest.mark.parametrize("plugin_version", ["1.2.694.0", "1.2.497.0"])
def test_db_tunnel_hands_start_session_to_the_plugin_as_the_aws_cli_does(
    plugin_version: str,
    rails_app: Path,
    fakes: Fakes,
    aws: SessionAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    """Stubber: start_session with the ECS target and the port-forwarding document. As
    `aws ssm start-session`: SessionId/TokenValue/StreamUrl go through
    AWS_SSM_START_SESSION_RESPONSE to plugins newer than 1.2.497.0 (the token stays out of
    `ps`), as JSON in argv to older ones; then the region, StartSession, the profile, the
    JSON of the request, and the SSM endpoint."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    monkeypatch.setenv("FAKE_PLUGIN_VERSION", plugin_version)
    monkeypatch.setenv("FAKE_PLUGIN_EXIT", "3")
    port = _port()
    _running_task(aws)
    _database(aws)
    _start_session(aws, port)
    code, out, err = hakobu(
        "db", "tunnel", "--port", str(port), root=rails_app, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert code == 3, err
    request = {
        "Target": TARGET,
        "DocumentName": "AWS-StartPortForwardingSessionToRemoteHost",
        "Parameters": {"host": [DB_HOST], "portNumber": ["3306"], "localPortNumber": [str(port)]},
    }
    session = json.dumps(SSM_SESSION)
    new_plugin = plugin_version != "1.2.497.0"
    assert fakes.plugin["argv"] == [
        "AWS_SSM_START_SESSION_RESPONSE" if new_plugin else session,
        REGION,
        "StartSession",
        "",
        json.dumps(request),
        f"https://ssm.{REGION}.amazonaws.com",
    ]
    assert fakes.plugin["response_variable"] == (session if new_plugin else None)
    assert fakes.plugin["ignored"] == ["SIGINT", "SIGQUIT", "SIGTSTP"]
    text = flat(out)
    for shown in (
        "host: 127.0.0.1",
        f"port: {port}",
        "user: myapp",
        "database: myapp_production",
        "hakobu db password production --reveal",
    ):
        assert shown in text
    assert PASSWORD not in out + err


def test_db_tunnel_refuses_a_port_in_use(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    aws.stub("ecs")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        code, _, err = hakobu(
            "db", "tunnel", "-p", str(port), root=rails_app, monkeypatch=monkeypatch, capsys=capsys
        )
    aws.verify()
    assert code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in flat(err)


@dataclass(frozen=True)
class Shell:
    """The engine's client `db shell` runs, as a fake, and what it should meet."""

    client: str
    script: str
    exit_code: int
    password: str
    db_port: int = 3306


def _shell_session(
    shell: Shell, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch
) -> int:
    """What both `db shell` tests stub: the plugin (listening on the local port) and the
    client on PATH, the running task, the instance, its password, and the SSM session
    opened and then terminated. Returns the local port."""
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    fakes.install(shell.client, shell.script)
    monkeypatch.setenv("FAKE_PLUGIN_LISTEN", "1")
    monkeypatch.setenv("FAKE_MYSQL_EXIT", str(shell.exit_code))  # both fakes read this one
    port = _port()
    _running_task(aws)
    _database(aws, shell.db_port)
    aws.stub("secretsmanager").add_response(
        "get_secret_value",
        {"Name": "rails-app-db-password", "SecretString": shell.password},
        {"SecretId": "rails-app-db-password"},
    )
    _start_session(aws, port, remote_port=shell.db_port)
    session = {"SessionId": SSM_SESSION["SessionId"]}
    aws.stub("ssm").add_response("terminate_session", session, session)
    return port


def test_db_shell_gives_mysql_the_password_in_a_private_file_only(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: the tunnel opens in the background (a fake plugin listening on the local
    port), mysql connects through it with --defaults-extra-file first, the file is 0600 in
    a 0700 directory, the password is in no argv, the file is gone afterwards, the tunnel
    was stopped with SIGINT and its SSM session terminated; mysql's exit code is hakobu's."""
    shell = Shell("mysql", FAKE_MYSQL, exit_code=5, password=PASSWORD)
    port = _shell_session(shell, fakes, aws, monkeypatch)
    code, out, err = hakobu(
        "db", "shell", "--port", str(port), root=rails_app, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert code == 5, err
    mysql = fakes.mysql
    option_file = Path(mysql["option_file"])
    assert mysql["argv"] == [
        f"--defaults-extra-file={option_file}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--user=myapp",
        "myapp_production",
    ]
    assert (mysql["mode"], mysql["dir_mode"]) == (0o600, 0o700)
    assert mysql["content"] == f'[client]\npassword="{PASSWORD}"\n'
    assert PASSWORD not in json.dumps(mysql["argv"]) + json.dumps(fakes.plugin["argv"])
    assert PASSWORD not in out + err
    assert not option_file.exists() and not option_file.parent.exists()
    assert Path(f"{fakes.plugin_record}.stopped").read_text() == "SIGINT"


def test_db_shell_without_mysql_says_how_to_install_it(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    monkeypatch.setenv("PATH", str(fakes.bin))
    aws.stub("ecs")
    code, _, err = hakobu("db", "shell", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 2
    text = flat(err)
    assert "brew install mysql-client" in text and "apt install default-mysql-client" in text


def _on_postgresql(root: Path) -> Path:
    config = root / "hakobu.toml"
    text = config.read_text().replace('engine = "mysql"', 'engine = "postgres"')
    config.write_text(text.replace('engine_version = "8.4"', 'engine_version = "18"'))
    return root


def test_db_shell_gives_psql_the_password_in_a_pgpass_file_only(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber, as for mysql above: on PostgreSQL the tunnel goes to 5432 and psql gets the
    password through PGPASSFILE (a 0600 file in a 0700 directory, gone afterwards), not
    from a PGPASSWORD the user's shell happens to have; psql's exit code is hakobu's."""
    _on_postgresql(rails_app)
    monkeypatch.setenv("PGPASSWORD", "a-stale-password-of-the-users")
    shell = Shell("psql", FAKE_PSQL, exit_code=4, password="pa:ss\\word", db_port=5432)
    port = _shell_session(shell, fakes, aws, monkeypatch)
    code, out, err = hakobu(
        "db", "shell", "-p", str(port), root=rails_app, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert code == 4, err
    psql = fakes.mysql
    assert psql["argv"] == [
        "--host=127.0.0.1",
        f"--port={port}",
        "--username=myapp",
        "--set=ON_ERROR_STOP=1",
        "myapp_production",
    ]
    assert (psql["mode"], psql["dir_mode"]) == (0o600, 0o700)
    assert psql["content"] == "*:*:*:*:pa\\:ss\\\\word\n"  # libpq's escapes
    assert psql["PGPASSWORD"] is None
    assert "pa:ss" not in out + err + json.dumps(psql["argv"])
    passfile = Path(psql["option_file"])
    assert not passfile.exists() and not passfile.parent.exists()
    assert Path(f"{fakes.plugin_record}.stopped").read_text() == "SIGINT"


def test_db_tunnel_on_postgresql_listens_on_15432_and_shows_psql(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: without --port the tunnel's local port is PostgreSQL's default, 15432,
    forwarded to the instance's 5432, and the example line is a psql one."""
    _on_postgresql(rails_app)
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    _running_task(aws)
    _database(aws, 5432)
    _start_session(aws, 15432, remote_port=5432)
    code, out, err = hakobu("db", "tunnel", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 0, err
    assert fakes.plugin["argv"][4] == json.dumps(
        {
            "Target": TARGET,
            "DocumentName": "AWS-StartPortForwardingSessionToRemoteHost",
            "Parameters": {
                "host": [DB_HOST],
                "portNumber": ["5432"],
                "localPortNumber": ["15432"],
            },
        }
    )
    assert "e.g. psql -h 127.0.0.1 -p 15432 -U myapp myapp_production" in flat(out)


def test_db_shell_without_psql_says_how_to_install_it(
    rails_app: Path, fakes: Fakes, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _on_postgresql(rails_app)
    fakes.install("session-manager-plugin", FAKE_PLUGIN)
    fakes.install("mysql", FAKE_MYSQL)  # the other engine's client does not count
    monkeypatch.setenv("PATH", str(fakes.bin))
    aws.stub("ecs")
    code, _, err = hakobu("db", "shell", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 2
    text = flat(err)
    assert "no psql client is installed" in text
    assert "apt install postgresql-client" in text and "brew install libpq" in text


def test_db_password_hidden_unless_revealed(
    rails_app: Path, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: without --reveal only describe_secret is called (the value is never read);
    with it, the value alone is printed."""
    changed = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    secrets = aws.stub("secretsmanager")
    secrets.add_response(
        "describe_secret",
        {"Name": "rails-app-db-password", "LastChangedDate": changed},
        {"SecretId": "rails-app-db-password"},
    )
    code, out, _ = hakobu("db", "password", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    text = flat(out)
    assert "rails-app-db-password" in text and "2026-11-29T12:00:00+00:00" in text
    assert "hakobu db password production --reveal" in text
    secrets.add_response(
        "get_secret_value",
        {"Name": "rails-app-db-password", "SecretString": PASSWORD},
        {"SecretId": "rails-app-db-password"},
    )
    code, out, _ = hakobu(
        "db", "password", "--reveal", root=rails_app, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert (code, out) == (0, PASSWORD + "\n")


def test_option_file_text_escapes_quotes_and_backslashes() -> None:
    assert db_clients.option_file_text('a"b\\c') == '[client]\npassword="a\\"b\\\\c"\n'


def test_plugin_version_threshold() -> None:
    assert sessions.plugin_reads_variable("1.2.694.0\n")
    assert sessions.plugin_reads_variable("1.3")
    assert not sessions.plugin_reads_variable("1.2.497.0")
    assert not sessions.plugin_reads_variable("1.1.17.0")
    assert not sessions.plugin_reads_variable("")


# --- run ------------------------------------------------------------------------------


def _run_started(aws: SessionAws, command: list[str]) -> None:
    ecs = aws.stub("ecs")
    ecs.add_response(
        "describe_services", service_response([]), {"cluster": CLUSTER, "services": [SERVICE]}
    )
    ecs.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK_ARN}], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": OLD,
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "hakobu-run",
            "enableExecuteCommand": False,
            "networkConfiguration": {"awsvpcConfiguration": NETWORK},
            "overrides": {"containerOverrides": [{"name": "rails-app", "command": command}]},
        },
    )


def _stopped(aws: SessionAws, **task: Any) -> None:
    aws.stub("ecs").add_response(
        "describe_tasks",
        {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "STOPPED", **task}]},
        {"cluster": CLUSTER, "tasks": [TASK_ARN]},
    )


def _log_lines(aws: SessionAws, *messages: str) -> None:
    logs = aws.stub("logs")
    events = [{"timestamp": 1795000000000 + i, "message": m} for i, m in enumerate(messages)]
    logs.add_response(
        "get_log_events",
        {"events": events, "nextForwardToken": "f/1"},
        {
            "logGroupName": "/ecs/rails-app",
            "logStreamName": f"ecs/rails-app/{TASK_ID}",
            "startFromHead": True,
            "limit": ANY,
        },
    )
    if events:
        logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"}, None)


def test_run_exits_with_the_tasks_exit_code(
    rails_app: Path, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: a one-off task of the service's current revision, in its subnets and
    security groups with the command overridden; it exits 3, so hakobu exits 3."""
    command = ["bin/rails", "runner", "exit 3"]
    _run_started(aws, command)
    _stopped(
        aws,
        stopCode="EssentialContainerExited",
        stoppedReason="Essential container in task exited",
        containers=[{"name": "rails-app", "exitCode": 3}],
    )
    _log_lines(aws, "Loading production environment", "about to exit 3")
    code, out, err = hakobu(
        "run", "--", *command, root=rails_app, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert code == 3, out + err
    text = flat(out + err)
    assert "about to exit 3" in text
    assert "`bin/rails runner 'exit 3'` exited 3" in text


def test_run_of_a_task_that_never_started_exits_1_with_the_reason(
    rails_app: Path, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Stubber: the image cannot be pulled, so the container has no exit code: exit 1 and
    ECS's stopped reason."""
    reason = (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
        "resolve ref 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app@sha256:"
        + "b" * 64
        + ": not found"
    )
    _run_started(aws, ["bin/rails", "db:migrate"])
    _stopped(
        aws,
        stopCode="TaskFailedToStart",
        stoppedReason=reason,
        containers=[{"name": "rails-app", "lastStatus": "STOPPED"}],
    )
    _log_lines(aws)
    code, out, err = hakobu(
        "run", "--", "bin/rails", "db:migrate", root=rails_app, monkeypatch=monkeypatch,
        capsys=capsys,
    )  # fmt: skip
    aws.verify()
    assert code == 1, out + err
    assert f"stopped before `bin/rails db:migrate` could exit: {reason} [TaskFailedToStart]" in (
        flat(err)
    )


def test_run_without_a_command_is_a_usage_error(
    rails_app: Path, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    aws.stub("ecs")
    code, _, err = hakobu("run", root=rails_app, monkeypatch=monkeypatch, capsys=capsys)
    aws.verify()
    assert code == 2
    assert "give the command after --" in flat(err)


def test_environment_before_the_dash_dash(
    tmp_path: Path, aws: SessionAws, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`hakobu run staging -- ...`: the words after -- are the command, never the ENV."""
    root = tmp_path / "app"
    root.mkdir()
    (root / "hakobu.toml").write_text(
        'app = "rails-app"\nframework = "rails"\n[environments.production]\n'
        "[environments.staging]\n"
    )
    ecs = aws.stub("ecs")
    ecs.add_response(
        "describe_services",
        {"services": [], "failures": [{"reason": "MISSING"}]},
        {"cluster": "rails-app-staging-cluster", "services": ["rails-app-staging-service"]},
    )
    code, _, err = hakobu(
        "run", "staging", "--", "env", root=root, monkeypatch=monkeypatch, capsys=capsys
    )
    aws.verify()
    assert code == 1
    assert "rails-app-staging-service was not found" in flat(err)


def test_a_child_killed_by_a_signal_exits_128_plus_the_signal() -> None:
    assert sessions.exit_status(-signal.SIGINT) == 130
    assert sessions.exit_status(3) == 3
