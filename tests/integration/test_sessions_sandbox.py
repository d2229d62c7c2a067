"""`hakobu exec|console|db shell|db tunnel --sandbox` and `hakobu sandbox status` as separate
processes against the shared sandbox stack, with nothing faked: the service runs a real
test image (busybox, built locally and deployed with `deploy --sandbox --image`), `exec`
goes into its container with the runtime's own engine, and `db shell` runs the real
mariadb client against the runtime's real mariadbd. The service keeps serving that image
(a healthy revision) when this module ends, for the modules that follow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SandboxStack, run_hakobu
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.sandbox_app import record_in_ecr, served_body

pytestmark = pytest.mark.integration
APP = "rails-app"
CLUSTER, SERVICE = f"{APP}-cluster", f"{APP}-service"
UP_BODY = "sessions in the sandbox"


@pytest.fixture(scope="module")
def served(sandbox_stack: SandboxStack, tmp_path_factory: pytest.TempPathFactory) -> SandboxStack:
    """The shared stack serving a real image of its own, deployed as a user deploys."""
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    image = http_image(engine, tmp_path_factory.mktemp("image"), up_body=UP_BODY)
    uri, _ = record_in_ecr(sandbox_stack.client("ecr"), engine, image, APP, "sessions")
    deployed = run_hakobu(
        "deploy", "--sandbox", "--image", f"{uri}:sessions", cwd=sandbox_stack.root
    )
    assert deployed.code == 0, deployed.output
    wait_until(
        lambda: served_body(sandbox_stack.root, "/up", UP_BODY),
        "the load balancer to serve the deployed task",
        timeout_s=120,
    )
    return sandbox_stack


def _environment(stack: SandboxStack) -> dict[str, str]:
    """The plain environment the service's task definition gives its container."""
    ecs = stack.client("ecs")
    revision = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=revision["taskDefinition"])
    container = definition["taskDefinition"]["containerDefinitions"][0]
    return {pair["name"]: pair["value"] for pair in container["environment"]}


def _status(stack: SandboxStack) -> dict[str, Any]:
    result = run_hakobu("sandbox", "status", "--json", cwd=stack.root)
    assert result.code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["version"] == 1
    return dict(document["sandbox"])


def _service_tasks(stack: SandboxStack) -> list[str]:
    """The ids of the service's running tasks, as ECS lists them."""
    ecs = stack.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus="RUNNING")
    return [arn.rsplit("/", 1)[-1] for arn in arns["taskArns"]]


@pytest.mark.fresh_stack
def test_exec_before_any_deploy_says_no_deploy_yet(sandbox_stack: SandboxStack) -> None:
    """As `hakobu up` leaves it, the service runs the never-pushed :bootstrap image: no task
    runs, and exec says why in one Error and one Fix line."""
    result = run_hakobu("exec", "--sandbox", "--", "/bin/true", cwd=sandbox_stack.root)
    assert result.code == 1, result.output
    assert "runs no task yet: no deploy yet" in result.stderr
    assert "hakobu deploy --sandbox" in result.stderr and "Traceback" not in result.output


def test_exec_runs_the_command_in_the_task_with_its_environment(served: SandboxStack) -> None:
    value = _environment(served)["RAILS_ENV"]
    result = run_hakobu(
        "exec", "--sandbox", "--", "/bin/sh", "-c", "echo RAILS_ENV=$RAILS_ENV",
        cwd=served.root, input_text="",
    )  # fmt: skip
    assert result.code == 0, result.output
    assert result.stdout.strip() == f"RAILS_ENV={value}"
    # Where it ran is said on stderr (stdout is the command's): a task of the service.
    assert any(f"in task {task}" in result.stderr for task in _service_tasks(served))


@pytest.mark.parametrize(
    ("command", "code"), [(["/bin/false"], 1), (["/bin/sh", "-c", "exit 7"], 7)]
)
def test_exec_exits_with_the_commands_exit_code(
    served: SandboxStack, command: list[str], code: int
) -> None:
    result = run_hakobu("exec", "--sandbox", "--", *command, cwd=served.root, input_text="")
    assert result.code == code, result.output
    assert "Error" not in result.output


def test_exec_passes_piped_stdin_to_the_shell(served: SandboxStack) -> None:
    """No terminal (stdin is a pipe): the default shell reads the script from stdin."""
    result = run_hakobu(
        "exec", "--sandbox", cwd=served.root, input_text="echo from a pipe; exit 3\n"
    )
    assert result.code == 3, result.output
    assert result.stdout.strip() == "from a pipe"
    assert "Opening a shell in task" in result.stderr


def test_exec_task_picks_the_named_task(served: SandboxStack) -> None:
    task = _service_tasks(served)[0]
    result = run_hakobu(
        "exec", "--sandbox", "--task", task, "--", "/bin/true", cwd=served.root, input_text=""
    )
    assert result.code == 0, result.output
    assert f"in task {task}" in result.stderr
    missing = run_hakobu(
        "exec", "--sandbox", "--task", "0" * 32, "--", "/bin/true", cwd=served.root, input_text=""
    )
    assert missing.code == 1
    assert f"task {'0' * 32} runs no container named" in missing.stderr
    assert "Fix:" in missing.stderr and "Traceback" not in missing.output


def test_console_runs_the_frameworks_console_in_the_task(served: SandboxStack) -> None:
    # The test image's `bin/rails` prints its arguments and exits 0.
    result = run_hakobu("console", "--sandbox", cwd=served.root, input_text="")
    assert result.code == 0, result.output
    assert "bin/rails console: the test app has nothing to migrate" in result.stdout
    assert "Opening bin/rails console in task" in result.stderr


def test_db_shell_runs_sql_against_the_sandboxs_database(
    served: SandboxStack, tmp_path: Path
) -> None:
    """The real mariadb client on the runtime's mariadbd: a table written and read back.
    The password (from the emulated Secrets Manager) is in no output and no file is left."""
    sql = (
        "CREATE TABLE hakobu_sessions (n INT);\n"
        "INSERT INTO hakobu_sessions VALUES (41);\n"
        "SELECT n + 1 AS answer FROM hakobu_sessions;\n"
        "DROP TABLE hakobu_sessions;\n"
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_hakobu(
        "db", "shell", "--sandbox", cwd=served.root, input_text=sql, env={"TMPDIR": str(scratch)}
    )
    assert result.code == 0, result.output
    assert result.stdout.split() == ["answer", "42"]
    password = served.client("secretsmanager").get_secret_value(SecretId=f"{APP}-db-password")
    assert password["SecretString"] not in result.output
    assert list(scratch.iterdir()) == []  # the option file went with its directory


def test_db_shell_exits_with_the_clients_exit_code(served: SandboxStack) -> None:
    result = run_hakobu(
        "db", "shell", "--sandbox", cwd=served.root, input_text="SELECT * FROM no_such_table;\n"
    )
    assert result.code == 1
    assert "no_such_table" in result.stderr


def test_db_tunnel_says_where_the_database_already_listens(served: SandboxStack) -> None:
    database = _status(served)["runtime"]["databases"][0]
    result = run_hakobu("db", "tunnel", "--sandbox", cwd=served.root)
    assert result.code == 0, result.output
    assert f"listens on 127.0.0.1:{database['port']}: no tunnel is needed" in result.stdout
    assert f"user:     {database['username']}" in result.stdout
    assert "hakobu db password production --sandbox --reveal" in result.stdout


def test_sandbox_status_lists_what_the_runtime_runs(served: SandboxStack) -> None:
    tasks = _service_tasks(served)
    result = run_hakobu("sandbox", "status", cwd=served.root)
    assert result.code == 0, result.output
    assert "Runtime: podman" in result.stdout or "Runtime: docker" in result.stdout
    assert "Load balancer " in result.stdout and "http://127.0.0.1:" in result.stdout
    for task in tasks:
        assert f"task {task}  RUNNING" in result.stdout
    assert f"{APP}-db  mysql  127.0.0.1:" in result.stdout and "running" in result.stdout

    runtime = _status(served)["runtime"]
    running = [c for c in runtime["containers"] if c["status"] == "RUNNING" and c["service"]]
    assert sorted(c["task_id"] for c in running) == sorted(tasks)
    assert all(c["host_port"] for c in running)
    assert [(d["identifier"], d["running"]) for d in runtime["databases"]] == [(f"{APP}-db", True)]
