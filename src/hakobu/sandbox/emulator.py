"""The sandbox: an AWS emulator (moto's server) on loopback, shared by hakobu commands.

`hakobu up --sandbox` and a later `hakobu status --sandbox` must see the same AWS, so the
emulator is not in-process: it runs as a detached background process
(`python -m hakobu.sandbox.server`) and records its pid and port in
`<root>/.hakobu/sandbox.json`. Every command finds it there, checks that the pid is alive and
that the port answers, and reuses it.

moto alone proves only the control plane (Terraform plan/apply/destroy, deploy calls,
status, scale). Where podman or docker works, the runtime in the same process
(sandbox/runtime/) makes what it describes run: tasks as containers, RDS as a local server,
the target groups as a load balancer on 127.0.0.1; its facts are read here without
importing it (`runtime_facts`).

POSIX only: the server is detached with a new session and stopped with signals, and the
state file is guarded with `fcntl.flock` so two hakobu commands never start two emulators.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hakobu.core.errors import HakobuError, PreflightError

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from botocore.config import Config

LOOPBACK = "127.0.0.1"
SERVER_MODULE = "hakobu.sandbox.server"

# Dummy credentials: moto accepts anything, and these can never be mistaken for (or leak as)
# a real key id, which would match AKIA[0-9A-Z]{16}.
SANDBOX_ACCESS_KEY = "hakobu-sandbox"
SANDBOX_SECRET_KEY = "hakobu-sandbox-secret"

# Variables from the user's shell that would send sandbox calls elsewhere: the Terraform
# provider (Go SDK) prefers AWS_PROFILE over key env vars, a stale session token would be
# signed along, and a service-specific or ignore flag would override AWS_ENDPOINT_URL.
MASKED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
_MASKED_PREFIX = "AWS_ENDPOINT_URL_"

RUNTIME_FACTS = "sandbox-runtime.json"  # sandbox/runtime/controller.py writes it
# What the server logs when it runs no containers (sandbox/server.py).
NO_ENGINE_LINE = "hakobu sandbox: no container engine"
RUNTIME_FAILED_LINE = "the runtime did not start"
RUNTIME_WAIT_S = 20.0
START_TIMEOUT_S = 30.0  # moto imports in about 0.5 s here; a cold disk can take several
STOP_TIMEOUT_S = 5.0  # per signal: SIGTERM, then SIGKILL
_PROBE_TIMEOUT_S = 2.0
_POLL_S = 0.05
_LOG_TAIL_LINES = 20

# Servers this process spawned. Keeping the Popen objects lets `stop` reap them (otherwise a
# killed child stays a zombie that still "exists" for kill(pid, 0)) and avoids Popen's
# "subprocess is still running" ResourceWarning when start() returns.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class SandboxServer:
    """A running emulator: its process id, loopback port and start time (ISO 8601, UTC)."""

    pid: int
    port: int
    started_at: str

    @property
    def endpoint(self) -> str:
        """The URL every AWS client and the Terraform provider should use."""
        return f"http://{LOOPBACK}:{self.port}"


def state_path(root: Path) -> Path:
    """Where the running server's pid and port are recorded for the app at `root`."""
    return root / ".hakobu" / "sandbox.json"


def log_path(root: Path) -> Path:
    """Where the server's stdout and stderr go (replaced at each start)."""
    return root / ".hakobu" / "sandbox.log"


def write_state(path: Path, server: SandboxServer) -> None:
    """Record `server` atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(server)) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_state(path: Path) -> SandboxServer | None:
    """The server recorded at `path`, or None if the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SandboxServer(
            pid=int(data["pid"]), port=int(data["port"]), started_at=str(data["started_at"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running(root: Path) -> SandboxServer | None:
    """The sandbox server for `root` if its pid is alive and its port answers, else None.

    A state file left by a dead (or reused) pid is removed.
    """
    if not state_path(root).exists():
        return None  # no lock file created just to answer "no"
    with _locked(root):
        return _running(root)


def start(root: Path) -> tuple[SandboxServer, bool]:
    """Reuse the sandbox server for `root` or start one; the bool says whether it is new."""
    _require_moto()
    with _locked(root):
        server = _running(root)
        if server is not None:
            return server, False
        # A recorded server that is alive but not answering holds AWS state nobody can
        # reach; end it rather than leave it running beside the new one.
        _stop(root)
        return _spawn(root), True


def stop(root: Path) -> bool:
    """Stop the sandbox server for `root` and remove its state; False if none was running."""
    if not state_path(root).exists():
        return False
    with _locked(root):
        return _stop(root)


def client_environment(server: SandboxServer, region: str) -> dict[str, str]:
    """Variables that point AWS SDKs, the `aws` CLI and Terraform at `server`.

    Both awscli v1 (botocore >= 1.31) and v2 honour AWS_ENDPOINT_URL. Loopback is added to
    NO_PROXY because botocore, unlike Go, would otherwise send 127.0.0.1 through a proxy.
    """
    no_proxy = _no_proxy()
    return {
        "AWS_ENDPOINT_URL": server.endpoint,
        # An emulated IAM user's keys, to try a policy with the emulator's IAM enforcement on.
        "AWS_ACCESS_KEY_ID": os.environ.get("HAKOBU_SANDBOX_ACCESS_KEY_ID", SANDBOX_ACCESS_KEY),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("HAKOBU_SANDBOX_SECRET_KEY", SANDBOX_SECRET_KEY),
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    }


def subprocess_environment(
    server: SandboxServer, region: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A full environment for a child process (terraform, aws): `base` (default: ours)
    without the variables that could redirect it, plus `client_environment`."""
    source = os.environ if base is None else base
    kept = {
        key: value
        for key, value in source.items()
        if key not in MASKED_VARIABLES and not key.startswith(_MASKED_PREFIX)
    }
    return kept | client_environment(server, region)


def shell_exports(server: SandboxServer, region: str) -> str:
    """POSIX shell lines to `eval`, so the guide's own `aws ...` commands hit the sandbox."""
    lines = [f"unset {' '.join(MASKED_VARIABLES)}"]
    lines += [
        f"export {key}={shlex.quote(value)}"
        for key, value in client_environment(server, region).items()
    ]
    return "\n".join(lines)


def boto3_session(server: SandboxServer, region: str) -> boto3.Session:
    """A boto3 session with the sandbox credentials and region.

    A session cannot carry an endpoint: pass `endpoint_url=server.endpoint` to each client,
    or use `client`.
    """
    import boto3  # lazily: the server process imports this module and never needs boto3

    return boto3.Session(
        aws_access_key_id=SANDBOX_ACCESS_KEY,
        aws_secret_access_key=SANDBOX_SECRET_KEY,
        region_name=region,
    )


def client(
    server: SandboxServer, region: str, service_name: str, config: Config | None = None
) -> BaseClient:
    """A boto3 client for `service_name` pointed at the sandbox, never through a proxy."""
    from botocore.config import Config

    # proxies={} (not None) stops botocore reading HTTP(S)_PROXY for this client.
    direct = Config(proxies={})
    return boto3_session(server, region).client(
        service_name,
        endpoint_url=server.endpoint,
        config=direct if config is None else direct.merge(config),
    )


# --- internals -------------------------------------------------------------------------


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the app's sandbox state (released if the process dies)."""
    lock = root / ".hakobu" / "sandbox.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _running(root: Path) -> SandboxServer | None:
    path = state_path(root)
    server = read_state(path)
    if server is None or not _is_ours(server.pid):
        path.unlink(missing_ok=True)  # stale: unreadable, dead pid, or pid reused
        return None
    return server if _answers(server.port) else None


def _stop(root: Path) -> bool:
    path = state_path(root)
    server = read_state(path)
    if server is None or not _is_ours(server.pid):
        path.unlink(missing_ok=True)
        return False
    _terminate(server.pid)
    path.unlink(missing_ok=True)
    return True


def _spawn(root: Path) -> SandboxServer:
    """Start the server process and wait until it has recorded its port and answers."""
    path = state_path(root)
    path.unlink(missing_ok=True)
    # Without managed policies, attaching AmazonECSTaskExecutionRolePolicy fails.
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with log_path(root).open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # outlives this command and the terminal's Ctrl-C
        )
    _CHILDREN[proc.pid] = proc
    try:
        return _wait_ready(root, proc)
    except BaseException:
        _terminate(proc.pid)
        path.unlink(missing_ok=True)
        raise


def _wait_ready(root: Path, proc: subprocess.Popen[bytes]) -> SandboxServer:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise _start_error(root, f"The sandbox emulator exited (code {code}) while starting.")
        server = read_state(state_path(root))
        if server is not None and server.pid == proc.pid and _answers(server.port):
            return server
        time.sleep(_POLL_S)
    raise _start_error(root, f"The sandbox emulator did not answer within {START_TIMEOUT_S:.0f} s.")


def _start_error(root: Path, problem: str) -> HakobuError:
    return HakobuError(
        f"{problem}\nLast lines of {log_path(root)}:\n{_log_tail(root)}",
        fix="Read the emulator's error above; `pip install 'hakobu[sandbox]'` installs moto.",
    )


def _log_tail(root: Path) -> str:
    try:
        lines = log_path(root).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "  (no log)"
    return "\n".join(f"  {line}" for line in lines[-_LOG_TAIL_LINES:]) or "  (empty log)"


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL, each with a bounded wait for the process to be gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(pid, STOP_TIMEOUT_S):
            break
    else:
        raise HakobuError(
            f"The sandbox emulator (pid {pid}) is still running after SIGKILL.",
            fix=f"Check it with `ps -p {pid}` and end it by hand.",
        )
    _CHILDREN.pop(pid, None)


def runtime_facts(root: Path) -> dict[str, Any] | None:
    """What the sandbox runtime publishes (sandbox/runtime/controller.py: its engine, load
    balancer URLs, database ports, containers), or None when it runs nothing. Read without
    importing the runtime: that would import moto."""
    try:
        facts = json.loads((root / ".hakobu" / RUNTIME_FACTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


def served_url(root: Path, load_balancer: str) -> str | None:
    """Where the sandbox runtime serves the load balancer named `load_balancer` on
    127.0.0.1, or None (no runtime, or no such load balancer)."""
    served = (runtime_facts(root) or {}).get("load_balancers") or {}
    found = served.get(load_balancer)
    return str(found["url"]) if isinstance(found, dict) and "url" in found else None


def runtime_engine(root: Path) -> str | None:
    """The container engine the sandbox runtime runs the app with (docker or podman), or
    None when it runs none (no engine found, or the emulator is not running)."""
    engine = (runtime_facts(root) or {}).get("engine")
    return engine if isinstance(engine, str) else None


def wait_for_runtime(root: Path, timeout_s: float = RUNTIME_WAIT_S) -> str | None:
    """`runtime_engine`, waiting while a just-started emulator is still looking for an
    engine (`podman info` takes a moment): until the runtime publishes its facts, the log
    says it found no engine, or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        engine = runtime_engine(root)
        if engine is not None or time.monotonic() >= deadline or _said_no_engine(root):
            return engine
        time.sleep(0.1)


def _said_no_engine(root: Path) -> bool:
    try:
        text = log_path(root).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # no emulator log: no runtime to wait for
    return NO_ENGINE_LINE in text or RUNTIME_FAILED_LINE in text


def watchdog(pid: int, root: Path) -> Callable[[], str | None]:
    """A check for long commands (Terraform runs): None while the emulator at `pid` lives,
    else what happened, so the caller stops waiting on a server that can never answer."""

    def stopped() -> str | None:
        if _pid_alive(pid):
            return None
        return (
            f"the sandbox emulator (pid {pid}) stopped while the command ran; "
            f"its log is {log_path(root)}"
        )

    return stopped


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def _is_ours(pid: int) -> bool:
    return _pid_alive(pid) and _is_sandbox_process(pid)


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None  # also reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """True for an exited process nobody has reaped yet (Linux; False where unknown).

    A detached server is reparented to pid 1, which in a container may never reap it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def _is_sandbox_process(pid: int) -> bool:
    """Guard against a reused pid: the process must be our server module (Linux /proc).

    Without procfs (macOS) the pid is trusted and the port probe is the only check.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()
    return SERVER_MODULE.encode() in cmdline


def _answers(port: int) -> bool:
    """True if a moto server answers on `port` (its small /moto-api/config JSON)."""
    # No proxy handler: a loopback probe must never go through HTTP(S)_PROXY.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://{LOOPBACK}:{port}/moto-api/config"
    try:
        with opener.open(url, timeout=_PROBE_TIMEOUT_S) as response:
            body: Any = json.load(response)
            # moto answers this GET with 201, so accept any 2xx.
            return 200 <= response.status < 300 and isinstance(body, dict)
    except (OSError, ValueError):
        return False


def _no_proxy() -> str:
    existing = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    hosts = [LOOPBACK, "localhost", *(h.strip() for h in existing.split(",") if h.strip())]
    return ",".join(dict.fromkeys(hosts))


def _require_moto() -> None:
    for module in ("moto", "flask"):  # flask comes with moto's [server] extra
        if importlib.util.find_spec(module) is None:
            raise PreflightError(
                f"--sandbox needs the `{module}` package, which a plain install leaves out: "
                "pip install 'hakobu[sandbox]'",
                fix="pip install 'hakobu[sandbox]' adds the local AWS emulator (moto); or "
                "leave out --sandbox to use your AWS account",
            )
