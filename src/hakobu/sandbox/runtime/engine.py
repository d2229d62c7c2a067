"""One interface for docker and podman, whose CLIs take the same flags.

Commands are data: `run_args` and `exec_args` only return argument lists (tested as exact
values); the other methods run them and turn the output into typed values.

What every task container gets, and why:
- `--pull=never`: the sandbox never fetches anything; an image is built or it is absent.
- `--init`: a tiny init as PID 1 forwards SIGTERM, so `stop` is clean even for a process
  that ignores SIGTERM as PID 1 (busybox httpd does).
- its own network namespace. On the host side only 127.0.0.1: the container port is
  published as `127.0.0.1::PORT`, the engine picks a free host port (no race with another
  process) and `run` reads it back. Inside, no DNS server at all (podman `--dns none`;
  docker: 127.0.0.1, where nothing listens), so no name outside `add_hosts` resolves.
  podman runs slirp4netns with `allow_host_loopback` (the host's 127.0.0.1 is 10.0.2.2 in
  the container) and `outbound_addr=127.0.0.1`: slirp's outgoing sockets are bound to
  loopback, so they reach the host's loopback services but no other address (connecting
  elsewhere fails with "Network is unreachable"). Docker's bridge offers no such switch.
- the app's environment on stdin (`--env-file /dev/stdin`), never in argv, where `ps` would
  show secret values to every user of the machine.

podman reads a private containers.conf (named by CONTAINERS_CONF in every call's
environment) that sets what root podman needs where it runs without CAP_SYS_RESOURCE and
with crun unusable (hybrid cgroups): explicit ulimits and, where installed, the runc runtime.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hakobu.core.errors import HakobuError, PreflightError
from hakobu.core.probe import probe_output

ENGINES = ("podman", "docker")
ENGINE_VARIABLE = "HAKOBU_CONTAINER_ENGINE"  # docker | podman | none
# The image builder's switch (ship/image.py): runs must use the store builds wrote to.
VFS_VARIABLE = "HAKOBU_BUILDAH_VFS"
LOOPBACK = "127.0.0.1"
PODMAN_GATEWAY = "10.0.2.2"  # slirp4netns's address for the host's loopback
DOCKER_GATEWAY = "host.docker.internal"
PODMAN_NETWORK = f"slirp4netns:allow_host_loopback=true,outbound_addr={LOOPBACK}"
CONF_NAME = "containers.conf"
# Root without CAP_SYS_RESOURCE cannot raise limits past its own hard ones; these fit.
NOFILE_LIMIT = 20000
NPROC_LIMIT = 32768
CALL_TIMEOUT_S = 120.0
ERROR_TAIL_LINES = 10
_NO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: "never" in inspect output


@dataclass(frozen=True)
class ContainerSpec:
    """One container to run, in ECS's terms (cpu units, memory in MiB)."""

    name: str
    image: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    port: int | None = None
    cpu_units: int | None = None
    memory_mib: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    add_hosts: Mapping[str, str] = field(default_factory=dict)
    # ECS style (["CMD-SHELL", "..."] or ["CMD", ...]). Not given to the engine: podman
    # schedules its checks with systemd timers, absent in many containers and CI runners;
    # the caller runs them with `health_check` on ECS's own interval, the same on both engines.
    health_command: list[str] | None = None


@dataclass(frozen=True)
class ContainerState:
    running: bool
    exit_code: int | None
    oom_killed: bool
    started_at: str | None
    finished_at: str | None
    error: str | None


@dataclass(frozen=True)
class RunningContainer:
    id: str
    name: str
    host_port: int | None  # None without a port, or when it exited before it was read


class ContainerNotFound(HakobuError):
    """The engine knows no container by that id."""


def containers_conf(nofile: int, nproc: int, runtime: str | None) -> str:
    """The private containers.conf podman reads through CONTAINERS_CONF."""
    lines = [
        "[containers]",
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]',
    ]
    if runtime:
        lines += ["", "[engine]", f'runtime = "{runtime}"']
    return "\n".join(lines) + "\n"


def write_containers_conf(work_dir: Path) -> Path:
    """Write containers.conf under `work_dir` with limits this process may grant."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / CONF_NAME
    runc = shutil.which("runc", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/local/sbin")
    text = containers_conf(
        _within_hard_limit(resource.RLIMIT_NOFILE, NOFILE_LIMIT),
        _within_hard_limit(resource.RLIMIT_NPROC, NPROC_LIMIT),
        # runc works wherever crun does, and also on hybrid cgroups; without it, podman's default.
        "runc" if runc else None,
    )
    path.write_text(text, encoding="utf-8")
    return path


def _within_hard_limit(limit: int, wanted: int) -> int:
    hard = resource.getrlimit(limit)[1]
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


class ContainerEngine:
    """docker or podman, driven through its CLI."""

    def __init__(
        self, name: str, executable: str, conf: Path | None = None, vfs: bool = False
    ) -> None:
        if name not in ENGINES:
            raise PreflightError(f"unknown container engine {name!r}", f"use {ENGINES}")
        self.name = name
        self.executable = executable
        self.conf = conf  # podman's containers.conf
        self.vfs = vfs and name == "podman"
        self.host_gateway = PODMAN_GATEWAY if name == "podman" else DOCKER_GATEWAY

    @classmethod
    def find(cls, work_dir: Path) -> ContainerEngine | None:
        """HAKOBU_CONTAINER_ENGINE's choice, else podman then docker; None if none works."""
        choice = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
        if choice == "none":
            return None
        if choice and choice not in ENGINES:
            raise PreflightError(
                f"{ENGINE_VARIABLE}={choice!r} is not a container engine hakobu runs",
                "set it to docker, podman or none",
            )
        for name in (choice,) if choice else ENGINES:
            engine = _probe(name, work_dir)
            if engine is not None:
                return engine
        return None

    # --- commands as data ----------------------------------------------------------------

    def run_args(self, spec: ContainerSpec, host_port: int | None) -> list[str]:
        """`run` for `spec`; `host_port` None lets the engine choose a free one."""
        args = [*self._base(), "run", "--detach", "--pull=never", "--init", "--name", spec.name]
        args += [f"--label={key}={value}" for key, value in sorted(spec.labels.items())]
        args += self._network_args()
        for host, address in sorted(spec.add_hosts.items()):
            args += ["--add-host", f"{host}:{address}"]
        if spec.port is not None:
            args += ["--publish", f"{LOOPBACK}:{host_port or ''}:{spec.port}"]
        if spec.cpu_units:
            args += ["--cpus", f"{spec.cpu_units / 1024:g}"]
        if spec.memory_mib:
            args += ["--memory", f"{spec.memory_mib}m"]
        if _env_file_text(spec.environment):
            args += ["--env-file", "/dev/stdin"]
        # A value with a line break cannot sit in an env file: the engine copies it from its
        # own environment (`--env NAME`), which only this user and root can read.
        args += [arg for name in _multiline(spec.environment) for arg in ("--env", name)]
        # `--entrypoint` takes one executable; the rest of ECS's entryPoint list goes first in
        # the command, which gives the same argv (and, as in ECS, drops the image's CMD).
        entry_rest: list[str] = []
        if spec.entrypoint is not None:
            args += ["--entrypoint", spec.entrypoint[0] if spec.entrypoint else ""]
            entry_rest = spec.entrypoint[1:]
        return [*args, spec.image, *entry_rest, *(spec.command or [])]

    def exec_args(
        self, container_id: str, command: list[str], interactive: bool, stdin: bool = False
    ) -> list[str]:
        """`exec` in a running container; `interactive` adds a terminal (`-it`), `stdin`
        alone keeps stdin open without one (`-i`: a script piped in)."""
        terminal = ["--interactive"] if interactive or stdin else []
        terminal += ["--tty"] if interactive else []
        return [*self._base(), "exec", *terminal, container_id, *command]

    def describe(self) -> dict[str, object]:
        """What another process needs to call this engine as the runtime does (the runtime
        publishes it in its facts): the same executable, containers.conf and store."""
        conf = str(self.conf) if self.conf is not None else None
        return {"executable": self.executable, "containers_conf": conf, "vfs": self.vfs}

    @classmethod
    def described(cls, name: str, description: Mapping[str, object]) -> ContainerEngine:
        """The engine `describe` gave (`name`: docker or podman)."""
        conf = description.get("containers_conf")
        return cls(
            name,
            str(description["executable"]),
            Path(conf) if isinstance(conf, str) else None,
            bool(description.get("vfs")),
        )

    def environment(self) -> dict[str, str]:
        """The environment for any subprocess that calls this engine."""
        env = dict(os.environ)
        if self.conf is not None:
            env["CONTAINERS_CONF"] = str(self.conf)
        return env

    # --- running them ----------------------------------------------------------------------

    def run(self, spec: ContainerSpec) -> RunningContainer:
        """Start `spec` detached; its host port is read back from the engine."""
        env = self.environment()
        env.update({name: spec.environment[name] for name in _multiline(spec.environment)})
        result = self._call(
            self.run_args(spec, None), stdin=_env_file_text(spec.environment), env=env
        )
        if result.returncode != 0:
            raise _failure(f"{self.name} could not start container {spec.name}", result)
        container_id = result.stdout.strip().splitlines()[-1]
        host_port = self._host_port(container_id, spec.port) if spec.port else None
        return RunningContainer(container_id, spec.name, host_port)

    def state(self, container_id: str) -> ContainerState:
        """What the engine knows of the container's process."""
        args = [*self._base(), "inspect", "--type", "container"]
        result = self._call([*args, "--format", "{{json .State}}", container_id])
        if result.returncode != 0:
            self._raise_unless_missing(result, container_id, f"inspect {container_id}")
            raise ContainerNotFound(f"{self.name} has no container {container_id}")
        return parse_state(json.loads(result.stdout))

    def stop(self, container_id: str, timeout_s: float = 10) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`; a container already gone is fine."""
        seconds = str(max(0, round(timeout_s)))
        result = self._call(
            [*self._base(), "stop", "--time", seconds, container_id],
            timeout=timeout_s + CALL_TIMEOUT_S,
        )
        self._raise_unless_missing(result, container_id, f"stop {container_id}")

    def remove(self, container_id: str) -> None:
        """Remove the container (killing it if it runs); a container already gone is fine."""
        result = self._call(self._remove_args([container_id]))
        self._raise_unless_missing(result, container_id, f"remove {container_id}")

    def logs(self, container_id: str, since: float | None = None) -> list[tuple[float, str, str]]:
        """(epoch seconds, "stdout" | "stderr", line) in time order; only after `since`."""
        args = [*self._base(), "logs", "--timestamps"]
        if since is not None:
            args += ["--since", f"{since:.9f}"]
        result = self._call([*args, container_id])
        if result.returncode != 0:
            self._raise_unless_missing(result, container_id, f"logs {container_id}")
            raise ContainerNotFound(f"{self.name} has no container {container_id}")
        lines = parse_log_lines(result.stdout, "stdout") + parse_log_lines(result.stderr, "stderr")
        # The engine's --since is inclusive: a caller passing its last line's time wants newer.
        return sorted(
            (line for line in lines if since is None or line[0] > since), key=lambda line: line[0]
        )

    def health_check(self, container_id: str, command: list[str], timeout_s: float = 5) -> bool:
        """Run an ECS-style health command in the container: True when it exits 0 in time."""
        argv = self.exec_args(container_id, health_argv(command), interactive=False)
        try:
            result = subprocess.run(
                argv, env=self.environment(), capture_output=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def list_ids(self, labels: Mapping[str, str]) -> list[str]:
        """Every container (running or not) with all of `labels`."""
        filters = [f"--filter=label={key}={value}" for key, value in sorted(labels.items())]
        result = self._call([*self._base(), "ps", "--all", "--quiet", "--no-trunc", *filters])
        if result.returncode != 0:
            raise _failure(f"{self.name} could not list containers", result)
        return result.stdout.split()

    def remove_all(self, labels: Mapping[str, str]) -> int:
        """Remove every container with all of `labels` at once; how many there were."""
        ids = self.list_ids(labels)
        if ids:
            result = self._call(self._remove_args(ids))
            if result.returncode != 0 and self.list_ids(labels):
                raise _failure(f"{self.name} could not remove containers", result)
        return len(ids)

    def image_exists(self, image: str) -> bool:
        return self._call([*self._base(), "image", "inspect", image]).returncode == 0

    # --- helpers ---------------------------------------------------------------------------

    def _base(self) -> list[str]:
        return [self.executable, "--storage-driver", "vfs"] if self.vfs else [self.executable]

    def _network_args(self) -> list[str]:
        if self.name == "podman":
            return ["--network", PODMAN_NETWORK, "--dns", "none"]
        return ["--add-host", f"{DOCKER_GATEWAY}:host-gateway", "--dns", LOOPBACK]

    def _remove_args(self, ids: list[str]) -> list[str]:
        # podman would first wait its default stop timeout; removal means the end anyway.
        grace = ["--time", "0"] if self.name == "podman" else []
        return [*self._base(), "rm", "--force", *grace, *ids]

    def _host_port(self, container_id: str, port: int) -> int | None:
        result = self._call([*self._base(), "port", container_id, f"{port}/tcp"])
        # "127.0.0.1:37643" (one line per binding); nothing once the container has exited.
        for line in result.stdout.splitlines() if result.returncode == 0 else []:
            host, _, number = line.strip().rpartition(":")
            if host and number.isdigit():
                return int(number)
        return None

    def _call(
        self,
        argv: list[str],
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = CALL_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                argv,
                input=stdin or "",
                env=env or self.environment(),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise HakobuError(
                f"`{' '.join(argv[:3])} ...` did not answer within {timeout:g} s",
                f"check that {self.name} works: `{self.name} info`",
            ) from exc

    def _raise_unless_missing(
        self, result: subprocess.CompletedProcess[str], container_id: str, what: str
    ) -> None:
        if result.returncode != 0 and "no such container" not in result.stderr.lower():
            raise _failure(f"{self.name} could not {what}", result)


def _probe(name: str, work_dir: Path) -> ContainerEngine | None:
    path = shutil.which(name)
    if path is None:
        return None
    vfs = os.environ.get(VFS_VARIABLE, "").lower() in ("1", "true", "yes")
    if name == "docker" and "podman" not in (probe_output([path, "--version"]) or "").lower():
        # A docker CLI without a daemon (Docker Desktop not started) cannot run anything.
        info = probe_output([path, "info", "--format", "{{.ServerVersion}}"])
        return ContainerEngine("docker", path) if info is not None else None
    # podman, or the podman-docker shim, which takes podman's flags and config.
    engine = ContainerEngine("podman", path, write_containers_conf(work_dir), vfs)
    ok = probe_output(
        [*engine._base(), "info", "--format", "{{.Host.OCIRuntime.Name}}"], engine.environment()
    )
    return engine if ok is not None else None


def _env_file_text(environment: Mapping[str, str]) -> str:
    """KEY=VALUE lines, read literally by both CLIs (no quotes or escapes)."""
    return "".join(f"{name}={value}\n" for name, value in environment.items() if "\n" not in value)


def _multiline(environment: Mapping[str, str]) -> list[str]:
    return [name for name, value in environment.items() if "\n" in value]


def health_argv(command: list[str]) -> list[str]:
    """ECS's health command as an argv: CMD-SHELL runs in /bin/sh -c, CMD as given."""
    if command and command[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(command[1:])]
    if command and command[0] == "CMD":
        return command[1:]
    return command


def parse_state(state: Mapping[str, object]) -> ContainerState:
    """The `State` object of docker's or podman's inspect output."""
    running = bool(state.get("Running"))
    exit_code = state.get("ExitCode")
    return ContainerState(
        running=running,
        exit_code=None if running or not isinstance(exit_code, int) else exit_code,
        oom_killed=bool(state.get("OOMKilled")),
        started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        error=str(state.get("Error") or "") or None,
    )


def _time(value: object) -> str | None:
    return value if isinstance(value, str) and value and value != _NO_TIME else None


def parse_log_lines(text: str, stream: str) -> list[tuple[float, str, str]]:
    """`--timestamps` output ("2026-12-02T18:26:44.293799493Z line") as typed tuples."""
    lines = []
    for raw in text.splitlines():
        stamp, _, line = raw.partition(" ")
        try:
            when = datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            continue  # not a log line (an engine warning)
        lines.append((when, stream, _join_partial(line, when)))
    return lines


# The engine's own stamp (RFC 3339, nanoseconds) on each piece of a line written in parts.
_PIECE_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z) ")


def _join_partial(line: str, first: float) -> str:
    """One line written in pieces (`Applying 0001_initial...` and later ` OK`) comes back as
    `piece STAMP piece`: drop the engine's stamps between them. A stamp in the app's own
    text is kept: it was taken before the engine received the line, so it is not later."""
    pieces, at = [], 0
    for found in _PIECE_STAMP.finditer(line):
        try:
            later = datetime.fromisoformat(found.group(1)).timestamp() >= first
        except ValueError:
            later = False
        if later and found.start() > 0:
            pieces.append(line[at : found.start()])
            at = found.end()
    return "".join([*pieces, line[at:]])


def _failure(problem: str, result: subprocess.CompletedProcess[str]) -> HakobuError:
    tail = "\n".join(result.stderr.strip().splitlines()[-ERROR_TAIL_LINES:])
    return HakobuError(
        f"{problem}: {tail or f'exit code {result.returncode}'}",
        "the engine's own message is above; for an image it does not know, build it first "
        "(the sandbox never pulls)",
    )
