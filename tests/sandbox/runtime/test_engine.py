"""The container engine: exact argv, then real containers under podman (or docker).

The real tests run the busybox test image (tests/support/images.py) and talk to it only on
127.0.0.1; every container carries a label unique to the test and is removed by it.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hakobu.core.errors import HakobuError, PreflightError
from hakobu.sandbox.runtime.engine import (
    ContainerEngine,
    ContainerNotFound,
    ContainerSpec,
    ContainerState,
    containers_conf,
    health_argv,
    parse_log_lines,
    parse_state,
)
from tests.support.images import (
    HEALTH_OFF,
    HTTP_PORT,
    engine_or_unavailable,
    http_image,
    wait_until,
)

PODMAN = ContainerEngine("podman", "podman", Path("/w/containers.conf"))
DOCKER = ContainerEngine("docker", "docker")
NETWORK = "slirp4netns:allow_host_loopback=true,outbound_addr=127.0.0.1"
SECRET = "s3cret-value-never-in-argv"

# --- commands as data --------------------------------------------------------------------


def full_spec() -> ContainerSpec:
    return ContainerSpec(
        name="app-task-1",
        image="localhost/app:abc",
        command=["gunicorn", "config.wsgi"],
        environment={"DATABASE_PASSWORD": SECRET, "PORT": "8000"},
        port=8000,
        cpu_units=256,
        memory_mib=512,
        labels={"hakobu.sandbox": "s1", "hakobu.task": "t1"},
        add_hosts={"db.example.internal": "10.0.2.2"},
        health_command=["CMD-SHELL", "curl -f http://localhost:8000/up"],
    )


def test_podman_run_args_are_exact_and_hold_no_environment_value() -> None:
    assert PODMAN.run_args(full_spec(), None) == [
        "podman", "run", "--detach", "--pull=never", "--init", "--name", "app-task-1",
        "--label=hakobu.sandbox=s1", "--label=hakobu.task=t1",
        "--network", NETWORK, "--dns", "none",
        "--add-host", "db.example.internal:10.0.2.2",
        "--publish", "127.0.0.1::8000",
        "--cpus", "0.25", "--memory", "512m",
        "--env-file", "/dev/stdin",
        "localhost/app:abc", "gunicorn", "config.wsgi",
    ]  # fmt: skip


def test_docker_run_args_reach_the_host_through_host_gateway() -> None:
    spec = ContainerSpec(name="one", image="app:1", port=80, cpu_units=2048)
    assert DOCKER.run_args(spec, 45123) == [
        "docker", "run", "--detach", "--pull=never", "--init", "--name", "one",
        "--add-host", "host.docker.internal:host-gateway", "--dns", "127.0.0.1",
        "--publish", "127.0.0.1:45123:80", "--cpus", "2", "app:1",
    ]  # fmt: skip
    assert DOCKER.host_gateway == "host.docker.internal"
    assert PODMAN.host_gateway == "10.0.2.2"


def test_entrypoint_list_becomes_one_executable_and_leading_arguments() -> None:
    spec = ContainerSpec(
        name="e", image="i", entrypoint=["sh", "-c"], command=["python manage.py migrate"]
    )
    assert PODMAN.run_args(spec, None)[-5:] == [
        "--entrypoint", "sh", "i", "-c", "python manage.py migrate",
    ]  # fmt: skip
    cleared = ContainerSpec(name="e", image="i", entrypoint=[], command=["true"])
    assert PODMAN.run_args(cleared, None)[-4:] == ["--entrypoint", "", "i", "true"]


def test_a_multiline_value_is_passed_by_name_from_the_engine_environment() -> None:
    spec = ContainerSpec(name="m", image="i", environment={"KEY": "line1\nline2", "A": "b"})
    args = PODMAN.run_args(spec, None)
    assert args[-5:] == ["--env-file", "/dev/stdin", "--env", "KEY", "i"]
    assert not any("line1" in arg for arg in args)


def test_vfs_storage_applies_to_every_podman_command() -> None:
    engine = ContainerEngine("podman", "/usr/bin/podman", Path("/w/c.conf"), vfs=True)
    assert engine.exec_args("abc", ["sh"], interactive=True) == [
        "/usr/bin/podman", "--storage-driver", "vfs", "exec", "--interactive", "--tty", "abc", "sh",
    ]  # fmt: skip
    assert engine.environment()["CONTAINERS_CONF"] == "/w/c.conf"
    assert DOCKER.exec_args("abc", ["ls", "/"], interactive=False) == [
        "docker",
        "exec",
        "abc",
        "ls",
        "/",
    ]


def test_containers_conf_sets_ulimits_and_the_runtime() -> None:
    assert containers_conf(20000, 32768, "runc") == (
        "[containers]\n"
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
    )
    assert "[engine]" not in containers_conf(1024, 512, None)


def test_inspect_state_and_log_lines_are_parsed() -> None:
    state = parse_state(
        {
            "Running": False, "ExitCode": 137, "OOMKilled": True, "Error": "",
            "StartedAt": "2026-12-02T18:26:44.286086871Z", "FinishedAt": "0001-01-01T00:00:00Z",
        }
    )  # fmt: skip
    assert (state.running, state.exit_code, state.oom_killed) == (False, 137, True)
    assert (state.started_at, state.finished_at, state.error) == (
        "2026-12-02T18:26:44.286086871Z", None, None,
    )  # fmt: skip
    assert parse_state({"Running": True, "ExitCode": 0}).exit_code is None
    lines = parse_log_lines("2026-12-02T00:00:01.5Z hello world\nnot a log line\n", "stderr")
    assert lines == [(1796169601.5, "stderr", "hello world")]


def test_a_line_written_in_pieces_is_one_log_line() -> None:
    """Django's migrate writes `Applying X...`, then ` OK` once it is done: podman's
    --timestamps output stamps each piece. An app's own timestamp (taken before the engine
    got the line, so not later than its stamp) stays in the text."""
    output = (
        "2026-12-03T08:26:21.929160223Z   Applying users.0001_initial..."
        "2026-12-03T08:26:22.233489630Z  OK\n"
        "2026-12-03T08:26:23.000000000Z at 2026-12-03T08:26:22.100000000Z GET /up 200\n"
    )
    assert [line for _, _, line in parse_log_lines(output, "stdout")] == [
        "  Applying users.0001_initial... OK",
        "at 2026-12-03T08:26:22.100000000Z GET /up 200",
    ]


def test_ecs_health_commands_become_argv() -> None:
    assert health_argv(["CMD-SHELL", "curl -f localhost/ || exit 1"]) == [
        "/bin/sh", "-c", "curl -f localhost/ || exit 1",
    ]  # fmt: skip
    assert health_argv(["CMD", "/bin/check", "--fast"]) == ["/bin/check", "--fast"]


# --- finding an engine -------------------------------------------------------------------


def test_none_disables_the_runtime_and_a_typo_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAKOBU_CONTAINER_ENGINE", "none")
    assert ContainerEngine.find(tmp_path) is None
    monkeypatch.setenv("HAKOBU_CONTAINER_ENGINE", "dokcer")
    with pytest.raises(PreflightError, match="docker, podman or none"):
        ContainerEngine.find(tmp_path)


def test_a_docker_cli_without_a_daemon_is_not_an_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Docker version 27.0' && exit 0\n"
        "echo 'Cannot connect to the Docker daemon' >&2; exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setenv("HAKOBU_CONTAINER_ENGINE", "docker")
    assert ContainerEngine.find(tmp_path / "work") is None


# --- real containers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> ContainerEngine:
    return engine_or_unavailable(tmp_path_factory.mktemp("engine"))


@pytest.fixture(scope="module")
def image(engine: ContainerEngine, tmp_path_factory: pytest.TempPathFactory) -> str:
    return http_image(engine, tmp_path_factory.mktemp("image"), up_body="v1")


@pytest.fixture
def labels(engine: ContainerEngine) -> Iterator[dict[str, str]]:
    """A label unique to the test; whatever carries it is removed afterwards."""
    mine = {"hakobu.sandbox": f"test-{uuid.uuid4().hex[:12]}"}
    yield mine
    engine.remove_all(mine)
    assert engine.list_ids(mine) == []


def spec(image: str, labels: dict[str, str], **kwargs: object) -> ContainerSpec:
    name = f"hakobu-test-{uuid.uuid4().hex[:12]}"
    return ContainerSpec(name=name, image=image, labels=labels, **kwargs)  # type: ignore[arg-type]


def get(port: int, path: str) -> tuple[int, str] | None:
    """GET on 127.0.0.1 (never through a proxy); None while nothing answers yet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    except (ConnectionError, http.client.HTTPException, TimeoutError):
        return None
    finally:
        connection.close()


def test_found_engine_uses_its_private_containers_conf(engine: ContainerEngine) -> None:
    if engine.name != "podman":
        pytest.skip("containers.conf is podman's")
    assert engine.conf is not None and engine.conf.exists()
    assert engine.environment()["CONTAINERS_CONF"] == str(engine.conf)
    assert "nofile=" in engine.conf.read_text()


def test_a_container_serves_on_loopback_with_its_environment(
    engine: ContainerEngine, image: str, labels: dict[str, str]
) -> None:
    started = engine.run(
        spec(image, labels, port=HTTP_PORT, cpu_units=256, memory_mib=128,
             environment={"UP_BODY": "hello from env", "DB_PASSWORD": SECRET})
    )  # fmt: skip
    assert started.host_port is not None
    assert wait_until(lambda: get(started.host_port, "/up"), "the container's /up") == (
        200, "hello from env\n",
    )  # fmt: skip
    # The secret reached the container, yet no process on the machine shows it in its argv.
    printenv = subprocess.run(
        engine.exec_args(started.id, ["sh", "-c", 'echo "$DB_PASSWORD"'], interactive=False),
        env=engine.environment(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert printenv.stdout == f"{SECRET}\n"
    assert not [pid for pid, argv in process_argvs() if SECRET in argv]
    # Published on 127.0.0.1 only.
    bindings = subprocess.run(
        [engine.executable, "port", started.id], env=engine.environment(),
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert bindings.strip() == f"{HTTP_PORT}/tcp -> 127.0.0.1:{started.host_port}"
    state = engine.state(started.id)
    assert state.running and state.exit_code is None and state.started_at


def exited(engine: ContainerEngine, container_id: str) -> ContainerState | None:
    state = engine.state(container_id)
    return None if state.running else state


def process_argvs() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((int(entry.name), (entry / "cmdline").read_text(errors="replace")))
            except OSError:
                continue  # gone meanwhile
    return found


def test_a_multiline_value_arrives_intact(
    engine: ContainerEngine, image: str, labels: dict[str, str]
) -> None:
    key = "-----BEGIN KEY-----\nabc\n-----END KEY-----"
    started = engine.run(
        spec(image, labels, entrypoint=["/bin/sh", "-c", 'printf "%s\n" "$KEY"'],
             environment={"KEY": key})
    )  # fmt: skip
    wait_until(lambda: exited(engine, started.id), "the container to exit")
    assert [line for _, _, line in engine.logs(started.id)] == key.split("\n")


@pytest.fixture
def host_service() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"host")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


# TEST-NET-2 (RFC 5737): documentation only, routed nowhere. slirp's sockets are bound to
# 127.0.0.1, so the kernel refuses the route at connect(): no packet leaves the machine.
NOT_LOOPBACK = "198.51.100.1"


def test_a_container_reaches_host_loopback_through_the_gateway_and_nothing_else(
    engine: ContainerEngine, image: str, labels: dict[str, str], host_service: int
) -> None:
    if engine.name != "podman":
        pytest.skip("loopback-only egress is slirp4netns's outbound_addr")
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 10 nc %s {host_service}"
    script = "; ".join([
        f"echo gateway: $({request % engine.host_gateway} | tail -1)",
        f"echo by-name: $({request % 'db.internal'} | tail -1)",
        f"echo outside: $({request % NOT_LOOPBACK} 2>&1 | tail -1)",
        "echo nameservers: $(cat /etc/resolv.conf 2>/dev/null | grep -c nameserver)",
    ])  # fmt: skip
    started = engine.run(
        spec(image, labels, entrypoint=["/bin/sh", "-c", script],
             add_hosts={"db.internal": engine.host_gateway})
    )  # fmt: skip
    wait_until(lambda: exited(engine, started.id), "the probe container to exit")
    lines = [line.partition(":") for _, _, line in engine.logs(started.id)]
    out = {key: value.strip() for key, _, value in lines}
    assert out["gateway"] == "host"
    assert out["by-name"] == "host"
    assert "network is unreachable" in out["outside"].lower(), out["outside"]
    assert out["nameservers"] == "0"


def test_exit_code_and_both_streams_of_log_lines(
    engine: ContainerEngine, tmp_path: Path, labels: dict[str, str]
) -> None:
    crashing = http_image(engine, tmp_path, up_body="v2", exit_code=3)
    started = engine.run(spec(crashing, labels, port=HTTP_PORT))
    state = wait_until(lambda: exited(engine, started.id), "the container to exit")
    assert state.exit_code == 3 and state.finished_at and not state.oom_killed
    logs = engine.logs(started.id)
    assert [(stream, line) for _, stream, line in logs] == [
        ("stdout", "test app on port 8080: up=v2 healthy=1"),
        ("stderr", "test app exits with 3"),
    ]
    assert engine.logs(started.id, since=logs[-1][0]) == []
    assert engine.logs(started.id, since=logs[0][0] - 1) == logs


def test_stop_is_clean_even_for_a_pid_1_that_ignores_sigterm_and_remove_leaves_nothing(
    engine: ContainerEngine, image: str, labels: dict[str, str]
) -> None:
    started = engine.run(spec(image, labels, port=HTTP_PORT))
    wait_until(lambda: get(started.host_port, "/up"), "the container's /up")
    engine.stop(started.id, timeout_s=20)
    # 143 = SIGTERM reached httpd through --init; 137 would mean it had to be killed.
    assert engine.state(started.id).exit_code == 143
    engine.remove(started.id)
    assert engine.list_ids(labels) == []
    with pytest.raises(ContainerNotFound):
        engine.state(started.id)
    engine.remove(started.id)  # already gone: fine
    engine.stop(started.id)


def test_health_command_runs_in_the_container(
    engine: ContainerEngine, image: str, labels: dict[str, str]
) -> None:
    started = engine.run(spec(image, labels, port=HTTP_PORT))
    wait_until(lambda: get(started.host_port, "/up"), "the container's /up")
    check = [
        "CMD-SHELL",
        "printf 'GET /health HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080 | grep -q ' 200 '",
    ]
    assert engine.health_check(started.id, check, timeout_s=30)
    subprocess.run(engine.exec_args(started.id, HEALTH_OFF, interactive=False),
                   env=engine.environment(), timeout=60, check=True)  # fmt: skip
    assert not engine.health_check(started.id, check, timeout_s=30)
    assert wait_until(lambda: get(started.host_port, "/health"), "/health")[0] == 404


def test_remove_all_takes_only_the_label_it_is_given(
    engine: ContainerEngine, image: str, labels: dict[str, str]
) -> None:
    other = {"hakobu.sandbox": labels["hakobu.sandbox"] + "-other"}
    try:
        mine = [engine.run(spec(image, {**labels, "n": str(n)})).id for n in range(2)]
        theirs = engine.run(spec(image, other)).id
        assert sorted(engine.list_ids(labels)) == sorted(mine)
        assert engine.remove_all(labels) == 2
        assert engine.list_ids(labels) == []
        assert engine.list_ids(other) == [theirs] and engine.state(theirs).running
    finally:
        engine.remove_all(other)


def test_a_missing_image_is_an_error_and_never_pulled(
    engine: ContainerEngine, labels: dict[str, str]
) -> None:
    absent = "localhost/hakobu-test/absent:never-built"
    assert not engine.image_exists(absent)
    with pytest.raises(HakobuError, match="could not start container"):
        engine.run(spec(absent, labels))
    assert not engine.image_exists(absent)


# --- the docker flavour, through podman's Docker-compatible API ----------------------------


@pytest.fixture
def docker_engine(
    engine: ContainerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContainerEngine]:
    """The docker CLI against `podman system service` (no Docker daemon exists here)."""
    docker = shutil.which("docker")
    if docker is None or engine.name != "podman" or "podman" in _version(docker):
        pytest.skip("needs a real docker CLI and podman to serve its API")
    socket_path = tmp_path / "podman.sock"
    service = subprocess.Popen(
        [engine.executable, "system", "service", "--time=0", f"unix://{socket_path}"],
        env=engine.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
        monkeypatch.setenv("HAKOBU_CONTAINER_ENGINE", "docker")
        found = wait_until(lambda: ContainerEngine.find(tmp_path / "work"), "docker to answer")
        assert found.name == "docker" and found.conf is None
        yield found
    finally:
        service.terminate()
        service.wait(30)


def _version(executable: str) -> str:
    result = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30)
    return result.stdout.lower()


def test_the_docker_cli_runs_serves_logs_stops_and_removes(
    docker_engine: ContainerEngine, image: str, labels: dict[str, str]
) -> None:
    started = docker_engine.run(spec(image, labels, port=HTTP_PORT,
                                     environment={"UP_BODY": "via docker"}))  # fmt: skip
    assert wait_until(lambda: get(started.host_port, "/up"), "/up through docker") == (
        200, "via docker\n",
    )  # fmt: skip
    assert docker_engine.list_ids(labels) == [started.id]
    lines = [(stream, line) for _, stream, line in docker_engine.logs(started.id)]
    assert ("stdout", "test app on port 8080: up=via docker healthy=1") in lines
    assert any(stream == "stderr" and line.endswith("url:/up") for stream, line in lines)
    docker_engine.stop(started.id, timeout_s=20)
    assert docker_engine.state(started.id).exit_code == 143
    assert docker_engine.remove_all(labels) == 1
    assert docker_engine.list_ids(labels) == []
