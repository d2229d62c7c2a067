"""The sandbox emulator: real moto server processes on loopback, real boto3 and `aws` CLI.

No mocks: each test talks to a server process that `hakobu.sandbox.emulator` started.
About 5 s in all.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hakobu.core.errors import HakobuError
from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.emulator import SandboxServer
from tests.support.needs import missing

REGION = "ap-northeast-1"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
# Nothing listens on the discard port: a request sent through this "proxy" fails at once.
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An app directory whose sandbox is shared by the tests of this module."""
    root = tmp_path_factory.mktemp("app")
    yield root
    sandbox.stop(root)


@pytest.fixture(scope="module")
def server(app_root: Path) -> SandboxServer:
    started, is_new = sandbox.start(app_root)
    assert is_new
    return started


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_start_records_state_and_is_reused(app_root: Path, server: SandboxServer) -> None:
    state = json.loads((app_root / ".hakobu" / "sandbox.json").read_text())
    assert state == {"pid": server.pid, "port": server.port, "started_at": server.started_at}
    assert server.endpoint == f"http://127.0.0.1:{server.port}"
    assert (app_root / ".hakobu" / "sandbox.log").exists()

    again, is_new = sandbox.start(app_root)
    assert (again, is_new) == (server, False)
    assert sandbox.running(app_root) == server


def test_boto3_reaches_ecs_and_managed_policies(server: SandboxServer) -> None:
    ecs = sandbox.client(server, REGION, "ecs")
    ecs.create_cluster(clusterName="hakobu-test-cluster")
    arns = ecs.list_clusters()["clusterArns"]
    assert any(arn.endswith("/hakobu-test-cluster") for arn in arns)

    # Only there because the server runs with MOTO_IAM_LOAD_MANAGED_POLICIES=true.
    iam = sandbox.boto3_session(server, REGION).client("iam", endpoint_url=server.endpoint)
    policy = iam.get_policy(PolicyArn=EXECUTION_POLICY)["Policy"]
    assert policy["PolicyName"] == "AmazonECSTaskExecutionRolePolicy"


def test_client_ignores_proxy_environment(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert "clusterArns" in sandbox.client(server, REGION, "ecs").list_clusters()


def test_aws_cli_with_shell_exports_sees_same_cluster(
    server: SandboxServer, tmp_path: Path
) -> None:
    if shutil.which("aws") is None:  # the test extra installs it: under CI=true, a failure
        missing("the aws CLI", "pip install -e '.[test]'")
    sandbox.client(server, REGION, "ecs").create_cluster(clusterName="hakobu-cli-cluster")
    exports = sandbox.shell_exports(server, REGION)

    # The export lines are exactly client_environment, shell-quoted.
    parsed = dict(
        shlex.split(line)[1].split("=", 1)
        for line in exports.splitlines()
        if line.startswith("export ")
    )
    assert parsed == sandbox.client_environment(server, REGION)

    # Run the snippet in a real shell with an otherwise empty AWS environment: a HOME
    # without ~/.aws, a profile that does not exist (must be unset) and a dead proxy
    # (NO_PROXY must keep loopback direct).
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_PROFILE": "does-not-exist",
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
    }
    script = f"{exports}\nexec aws ecs list-clusters --output json"
    result = subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    arns = json.loads(result.stdout)["clusterArns"]
    assert f"arn:aws:ecs:{REGION}:123456789012:cluster/hakobu-cli-cluster" in arns


def test_subprocess_environment_masks_redirecting_variables(server: SandboxServer) -> None:
    base = {
        "PATH": "/bin",
        "AWS_PROFILE": "prod",
        "AWS_SESSION_TOKEN": "real-token",
        "AWS_ENDPOINT_URL_ECS": "https://ecs.example.com",
        "AWS_ACCESS_KEY_ID": "real-key",
    }
    env = sandbox.subprocess_environment(server, REGION, base)
    assert env["PATH"] == "/bin"
    assert env["AWS_ACCESS_KEY_ID"] == sandbox.SANDBOX_ACCESS_KEY
    assert env["AWS_ENDPOINT_URL"] == server.endpoint
    assert not {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_ECS"} & env.keys()


def test_credentials_cannot_pass_for_real_ones() -> None:
    real_key_id = re.compile(r"AKIA[0-9A-Z]{16}")
    assert not real_key_id.search(sandbox.SANDBOX_ACCESS_KEY)
    assert not real_key_id.search(sandbox.SANDBOX_SECRET_KEY)


def test_stop_kills_process_and_removes_state(tmp_path: Path) -> None:
    started, _ = sandbox.start(tmp_path)
    try:
        assert sandbox.stop(tmp_path) is True
        assert _gone(started.pid)
        assert not sandbox.state_path(tmp_path).exists()
        assert sandbox.running(tmp_path) is None
        assert sandbox.stop(tmp_path) is False
    finally:
        sandbox.stop(tmp_path)


def test_stale_state_with_dead_pid_is_not_running(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    assert _gone(dead_pid)
    state = sandbox.state_path(tmp_path)
    sandbox.write_state(state, SandboxServer(pid=dead_pid, port=1, started_at="x"))

    assert sandbox.running(tmp_path) is None
    assert not state.exists()
    assert sandbox.stop(tmp_path) is False


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="pid identity needs procfs")
def test_reused_pid_is_never_killed(tmp_path: Path) -> None:
    # A live process that is not a sandbox server, as if the recorded pid had been reused.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        state = sandbox.state_path(tmp_path)
        sandbox.write_state(state, SandboxServer(pid=other.pid, port=1, started_at="x"))
        assert sandbox.stop(tmp_path) is False
        assert not state.exists()
        time.sleep(0.1)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_failed_start_reports_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken `moto` first on the child's path: the real server process dies importing it.
    fake = tmp_path / "fake" / "moto"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("simulated broken moto")\n')
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))
    root = tmp_path / "app"
    root.mkdir()

    with pytest.raises(HakobuError) as caught:
        sandbox.start(root)
    assert "exited (code 1) while starting" in caught.value.problem
    assert "simulated broken moto" in caught.value.problem
    assert caught.value.fix
    assert not sandbox.state_path(root).exists()
