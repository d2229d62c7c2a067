"""The sandbox keeps to the machine and cleans up after itself (issue 10).

1. Nothing leaves loopback. The emulator is started first, under strace (`hakobu sandbox
   start`: strace follows it after that command returns, and with it everything it runs:
   the runtime's podman calls, conmon, slirp4netns, runc, the containers' own processes,
   mariadbd). Then `hakobu up --sandbox --yes`, `hakobu deploy --sandbox` (the app's own
   Dockerfile built by the local build path, FROM the local busybox test image: nothing
   can be pulled) and `hakobu destroy production --sandbox --yes` each run under strace
   with forks followed (terraform, the AWS provider plugin, the image builder). Every
   connect/sendto/sendmsg/sendmmsg destination in those logs must be AF_UNIX, AF_NETLINK,
   127.0.0.0/8 or ::1; 10.0.2.0/24 (slirp4netns's network as a container sees it) only for
   a task inside a network namespace the engine created, decided from the trace itself by
   following the task back to its unshare(CLONE_NEWNET) / setns() into a namespace other
   than the host's, or to the clone() that made it (tests/support/strace_net.py has the
   rule). No syscall may go to port 53 anywhere: no name is looked up.
2. Nothing is left behind, checked with the engine (containers, volumes and networks with
   the runtime's label, `ContainerEngine` with the runtime's own containers.conf) and by
   PID (each database server, each container's process, its conmon and slirp4netns, read
   before the command): after `destroy --sandbox` (the emulator stays: it is reused), and
   after `hakobu sandbox stop` with a service and a database running again in the same
   emulator (created with boto3: a second `up` would cost two minutes), which also ends the
   emulator's process, and with it the strace that followed it.

One `up`, one deploy, one destroy: about 4 minutes, most of it the AWS provider's
waiters. strace stops only at the traced syscalls (--seccomp-bpf), so it costs nothing
measurable: traced up 117-127 s, deploy 10 s, destroy 81-88 s; untraced on the same
(shared, 2-CPU) machine 115 s, 12 s, 104 s.

What it found: mariadb-install-db ran `resolveip $(uname -n)` at every database creation,
a DNS query wherever /etc/hosts lacks the machine's name (now `--force`, see database.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.runtime.controller import Runtime
from hakobu.sandbox.runtime.engine import ContainerEngine
from hakobu.sandbox.runtime.tasks import LABEL_RUNTIME
from tests.conftest import Run, make_rails_app
from tests.support import strace_net
from tests.support.ecs_stack import Aws, create_service, make_stack
from tests.support.images import engine_or_unavailable, http_image, wait_until
from tests.support.needs import missing
from tests.support.sandbox_app import git, served_body

pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
BODY = "built in an isolated sandbox"
COMMAND_TIMEOUT_S = 900
STRACE_EXIT_TIMEOUT_S = 60


@dataclass
class Traced:
    name: str
    run: Run
    seconds: float
    log: Path


@dataclass
class Snapshot:
    """What the runtime ran for the app just before a command that must end it all."""

    containers: list[str]
    # pid -> (what it was, its /proc cmdline then: a reused PID has another one)
    processes: dict[int, tuple[str, bytes]]
    namespaces: list[str]  # each container's network namespace (podman's SandboxKey)


@dataclass
class Record:
    root: Path
    engine: ContainerEngine
    labels: dict[str, str]
    commands: list[Traced] = field(default_factory=list)
    emulator_log: Path | None = None
    emulator_pid: int | None = None
    emulator_cmdline: bytes = b""
    before_destroy: Snapshot | None = None
    after_destroy: list[str] = field(default_factory=list)
    before_stop: Snapshot | None = None
    after_stop: list[str] = field(default_factory=list)
    strace_survivors: str = ""

    def command(self, name: str) -> Traced:
        return next(c for c in self.commands if c.name == name)

    def ok(self, name: str) -> Traced:
        traced = self.command(name)
        assert traced.run.code == 0, f"hakobu {name} failed:\n{traced.run.output}"
        return traced


def strace_argv(log: Path, *args: str) -> list[str]:
    return ["strace", *strace_net.TRACE_ARGS, "-o", str(log), sys.executable, "-m", "hakobu",
            *args]  # fmt: skip


def hakobu_environment() -> dict[str, str]:
    """The caller's environment without .ci/run's switches that stop tools calling home
    (Terraform's CHECKPOINT_DISABLE): hakobu must set what it needs itself."""
    kept = {k: v for k, v in os.environ.items() if k not in ("CHECKPOINT_DISABLE",)}
    return {**kept, "COLUMNS": "200", "NO_COLOR": "1"}


def traced(record: Record, traces: Path, name: str, *args: str) -> Traced:
    log = traces / f"{name}.trace"
    started = time.monotonic()
    result = subprocess.run(
        strace_argv(log, *args),
        cwd=record.root,
        env=hakobu_environment(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    done = Traced(name, Run(result.returncode, result.stdout, result.stderr),
                  time.monotonic() - started, log)  # fmt: skip
    record.commands.append(done)
    return done


def cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def alive(pid: int, was: bytes) -> bool:
    """`pid` still runs the process recorded (not a zombie, not a reused PID)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except (ProcessLookupError, OSError):
        return False
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"]) and cmdline(pid) == was


def inspect(engine: ContainerEngine, container: str, template: str) -> str:
    result = subprocess.run(
        [*engine._base(), "inspect", "--type", "container", "--format", template, container],
        env=engine.environment(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    return result.stdout.strip() if result.returncode == 0 else ""


def snapshot(record: Record) -> Snapshot:
    """The runtime's containers, their processes (the container's own, conmon, slirp4netns)
    and network namespaces, and its database servers, as they are now."""
    engine = record.engine
    containers = engine.list_ids(record.labels)
    processes: dict[int, tuple[str, bytes]] = {}
    namespaces = []
    for container in containers:
        pid = inspect(engine, container, "{{.State.Pid}}")
        if pid.isdigit() and int(pid) > 0 and (line := cmdline(int(pid))) is not None:
            processes[int(pid)] = (f"the process of container {container[:12]}", line)
        key = inspect(engine, container, "{{.NetworkSettings.SandboxKey}}")
        if key:
            namespaces.append(key)
    markers = [c.encode() for c in containers] + [n.encode() for n in namespaces]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (line := cmdline(int(entry.name))) is None:
            continue
        program = Path(line.split(b"\0")[0].decode(errors="replace")).name
        if program in ("conmon", "slirp4netns") and any(m in line for m in markers):
            processes[int(entry.name)] = (program, line)
    facts = sandbox.runtime_facts(record.root) or {}
    for name, db in (facts.get("databases") or {}).items():
        if isinstance(db.get("pid"), int) and (line := cmdline(db["pid"])) is not None:
            processes[db["pid"]] = (f"the database server of {name}", line)
    return Snapshot(containers, processes, namespaces)


def engine_list(engine: ContainerEngine, kind: str, labels: dict[str, str]) -> list[str]:
    filters = [f"--filter=label={key}={value}" for key, value in labels.items()]
    result = subprocess.run(
        [*engine._base(), kind, "ls", "--quiet", *filters],
        env=engine.environment(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return [f"`{kind} ls` failed: {result.stderr.strip()}"]
    return result.stdout.split()


def leftovers(record: Record, before: Snapshot) -> list[str]:
    """What of `before` (and any labelled container, volume or network) still exists."""
    left = [f"container {c[:12]}" for c in record.engine.list_ids(record.labels)]
    left += [f"volume {v}" for v in engine_list(record.engine, "volume", record.labels)]
    left += [f"network {n}" for n in engine_list(record.engine, "network", record.labels)]
    left += [
        f"{what} (pid {pid}: {_shown(line)})"
        for pid, (what, line) in before.processes.items()
        if alive(pid, line)
    ]
    left += [f"network namespace {path}" for path in before.namespaces if Path(path).exists()]
    data = record.root / ".hakobu" / "sandbox" / "db"
    left += [f"database data {path}" for path in sorted(data.glob("*"))] if data.is_dir() else []
    return left


def run_again_in_the_emulator(record: Record, image: str) -> None:
    """A service with one task and a MySQL instance, straight through the emulator's API."""
    server = sandbox.running(record.root)
    assert server is not None, "the emulator stopped after destroy; it is meant to stay"
    aws = Aws(server.endpoint)
    stack = make_stack(aws, "again", {
        "name": "again", "image": image, "essential": True, "memory": 256,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
    })  # fmt: skip
    create_service(aws, stack)
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier="again-db", Engine="mysql", DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20, MasterUsername="app", MasterUserPassword="not-a-Secret-1",
        DBName="app",
    )  # fmt: skip

    def running() -> Snapshot | None:
        facts = sandbox.runtime_facts(record.root) or {}
        dbs = facts.get("databases") or {}
        served = any(c.get("status") == "RUNNING" for c in facts.get("containers") or [])
        return snapshot(record) if served and dbs.get("again-db", {}).get("running") else None

    record.before_stop = wait_until(running, "a task and a DB server running again", 120)


def end_strace(process: subprocess.Popen[bytes]) -> str:
    """Wait for the strace that followed the emulator: it ends when its last tracee does.
    '' when it did; otherwise the processes it still traced, and it is stopped."""
    try:
        process.wait(timeout=STRACE_EXIT_TIMEOUT_S)
        return ""
    except subprocess.TimeoutExpired:
        tracees = []
        for entry in Path("/proc").iterdir():
            try:
                text = (entry / "status").read_text(encoding="utf-8")
            except OSError:
                continue
            if f"TracerPid:\t{process.pid}\n" in text:
                tracees.append(f"pid {entry.name}: {_shown(cmdline(int(entry.name)) or b'')}")
        process.terminate()
        process.wait(timeout=30)
        return "\n".join(tracees) or "strace did not end (no tracee found)"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    if shutil.which("strace") is None:
        missing("strace", ".ci/install-test-deps")
    engine = engine_or_unavailable(tmp_path_factory.mktemp("engine"))
    base = http_image(engine, tmp_path_factory.mktemp("image"))
    root = make_rails_app(tmp_path_factory.mktemp("isolation") / "rails-app")
    (root / "Dockerfile").write_text(f'FROM {base}\nENV UP_BODY="{BODY}"\n')
    (root / ".gitignore").write_text(".hakobu/\nconfig/master.key\n")
    (root / ".dockerignore").write_text(".hakobu/\n.git/\n")
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "app")
    traces = tmp_path_factory.mktemp("traces")
    labels = {LABEL_RUNTIME: Runtime.id_for(root / ".hakobu" / "sandbox")}
    found = Record(root, engine, labels, emulator_log=traces / "emulator.trace")
    # Traced from its start: strace keeps following the emulator after `sandbox start` ends.
    emulator = subprocess.Popen(
        strace_argv(found.emulator_log, "sandbox", "start"),
        cwd=root, env=hakobu_environment(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        server = wait_until(lambda: sandbox.running(root), "the traced emulator", 60)
        found.emulator_pid = server.pid
        found.emulator_cmdline = cmdline(server.pid) or b""
        assert sandbox.wait_for_runtime(root) is not None, "the runtime found no engine"
        if traced(found, traces, "up", "up", "--sandbox", "--yes").run.code == 0:
            deployed = traced(found, traces, "deploy", "deploy", "--sandbox")
            if deployed.run.code == 0:
                wait_until(lambda: served_body(root, "/up", BODY), "the built app", 120)
        found.before_destroy = snapshot(found)
        traced(found, traces, "destroy", "destroy", "production", "--sandbox", "--yes")
        found.after_destroy = leftovers(found, found.before_destroy)
        run_again_in_the_emulator(found, base)
        traced(found, traces, "sandbox stop", "sandbox", "stop")
        found.strace_survivors = end_strace(emulator)
        found.after_stop = leftovers(found, found.before_stop or found.before_destroy)
        yield found
    finally:
        if emulator.poll() is None:
            sandbox.stop(root)
            end_strace(emulator)
        sandbox.stop(root)


def report(record: Record, found: list[strace_net.Offence]) -> str:
    lines = [f"{len(found)} syscalls went outside loopback and the runtime's namespaces:"]
    lines += [f"  {offence}" for offence in found[:40]]
    logs = [str(c.log) for c in record.commands] + [str(record.emulator_log)]
    return "\n".join([*lines, "strace logs: " + ", ".join(logs)])


def all_offences(record: Record) -> list[strace_net.Offence]:
    host = os.readlink("/proc/self/ns/net")
    logs = [c.log for c in record.commands] + [record.emulator_log]
    return [o for log in logs if log is not None and log.exists()
            for o in strace_net.offences(log, host)]  # fmt: skip


def test_up_deploy_and_destroy_succeed_under_strace(record: Record) -> None:
    up, deploy, destroy = record.ok("up"), record.ok("deploy"), record.ok("destroy")
    # The local build path ran: built into the engine's store, nothing pushed.
    assert "nothing is pushed" in deploy.run.output, deploy.run.output
    timings = ", ".join(f"{c.name} {c.seconds:.0f} s" for c in (up, deploy, destroy))
    print(f"under strace: {timings}")


def test_the_traces_saw_the_emulator_terraform_the_build_and_the_containers(
    record: Record,
) -> None:
    """A trace that followed nothing would prove nothing: each log must show the programs
    whose traffic is judged, and their loopback connections."""
    programs = {c.name: _programs(c.log) for c in record.commands}
    emulator = _programs(record.emulator_log)
    assert any(p.endswith("/terraform") for p in programs["up"]), sorted(programs["up"])
    assert any("terraform-provider-aws" in p for p in programs["up"]), sorted(programs["up"])
    assert any(p.endswith(("/podman", "/buildah", "/docker")) for p in programs["deploy"])
    for wanted in ("conmon", "slirp4netns", "/serve", "mariadbd", "mariadb-install-db"):
        assert any(wanted in p for p in emulator), (wanted, sorted(emulator))
    assert record.emulator_log is not None
    loopback = [s for s in strace_net.sends(record.emulator_log) if s.address == "127.0.0.1"]
    assert loopback, "the emulator's trace shows no connection at all"


def test_no_name_is_looked_up_during_up_deploy_and_destroy(record: Record) -> None:
    found = [o for o in all_offences(record)
             if o.send.port == 53 or "name-service" in o.why or "nscd" in o.why]  # fmt: skip
    assert found == [], report(record, found)
    logs = [c.log for c in record.commands] + [record.emulator_log]
    tools = [line for log in logs if log is not None and log.exists()
             for line in strace_net.lookups(log)]  # fmt: skip
    assert tools == [], "name-lookup programs ran:\n  " + "\n  ".join(tools)


def test_nothing_is_contacted_outside_loopback_and_the_container_namespaces(
    record: Record,
) -> None:
    found = all_offences(record)
    assert found == [], report(record, found)


def test_destroy_leaves_no_container_process_namespace_or_data(record: Record) -> None:
    record.ok("destroy")
    before = record.before_destroy
    assert before is not None and before.containers, "nothing ran before destroy"
    assert any("database" in what for what, _ in before.processes.values()), before.processes
    left = "\n  ".join(record.after_destroy)
    assert record.after_destroy == [], f"left after `hakobu destroy --sandbox`:\n  {left}"


def test_sandbox_stop_leaves_nothing_and_ends_the_emulator(record: Record) -> None:
    stop = record.ok("sandbox stop")
    assert "Stopped the sandbox" in stop.run.stdout, stop.run.output
    before = record.before_stop
    assert before is not None and before.containers and before.processes
    left = "\n  ".join(record.after_stop)
    assert record.after_stop == [], f"left after `hakobu sandbox stop`:\n  {left}"
    pid = record.emulator_pid
    assert pid is not None and not alive(pid, record.emulator_cmdline), (
        f"the emulator (pid {pid}) still runs"
    )
    assert record.strace_survivors == "", (
        "processes the emulator started outlived it:\n" + record.strace_survivors
    )


def _programs(log: Path | None) -> set[str]:
    return strace_net.programs(log) if log is not None and log.exists() else set()


def _shown(line: bytes) -> str:
    return line.replace(b"\0", b" ").decode(errors="replace").strip()[:120]
