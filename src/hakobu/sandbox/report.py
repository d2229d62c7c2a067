"""What the sandbox runs, as typed values: the runtime's facts file read for people.

The runtime (sandbox/runtime/controller.py) publishes its facts as JSON in
`.hakobu/sandbox-runtime.json`; `hakobu sandbox status` lists them and the sandbox's
sessions (`exec`, `db shell`) find their container or database there. Parsing is a pure
function of that JSON (tested as exact values); nothing here imports the runtime (moto).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hakobu.sandbox import emulator
from hakobu.sandbox.retried_attempts import REPLAYED


@dataclass(frozen=True)
class SandboxContainer:
    """One container of a task the runtime runs (a service's, or a one-off's)."""

    task_arn: str
    task_id: str
    cluster: str
    service: str | None  # None: a one-off task (the release command, `hakobu run`)
    name: str
    engine_id: str
    host_port: int | None
    status: str


@dataclass(frozen=True)
class SandboxDatabase:
    """One RDS instance (or cluster) served by a local database server."""

    identifier: str
    engine: str
    host: str
    port: int
    database: str | None
    username: str | None
    running: bool


@dataclass(frozen=True)
class RuntimeReport:
    engine: str
    engine_cli: Mapping[str, Any]
    load_balancers: dict[str, str]  # name -> URL on 127.0.0.1
    containers: list[SandboxContainer] = field(default_factory=list)
    databases: list[SandboxDatabase] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "load_balancers": self.load_balancers,
            "containers": [asdict(c) for c in self.containers],
            "databases": [asdict(d) for d in self.databases],
        }


@dataclass(frozen=True)
class SandboxStatus:
    """The emulator (None: not running), what its runtime runs (None: no engine), and how
    many retried SDK attempts it answered with their first attempt's answer."""

    server: emulator.SandboxServer | None
    runtime: RuntimeReport | None
    replayed_attempts: int = 0

    def as_json(self) -> dict[str, Any]:
        server = self.server
        return {
            "running": server is not None,
            "endpoint": server.endpoint if server else None,
            "pid": server.pid if server else None,
            "started_at": server.started_at if server else None,
            "runtime": self.runtime.as_json() if self.runtime else None,
            "replayed_attempts": self.replayed_attempts if server else None,
        }


def parse(facts: Mapping[str, Any]) -> RuntimeReport | None:
    """The runtime's facts as a report; None when they name no engine."""
    engine = facts.get("engine")
    if not isinstance(engine, str):
        return None
    balancers = facts.get("load_balancers") or {}
    databases = facts.get("databases") or {}
    return RuntimeReport(
        engine=engine,
        engine_cli=dict(facts.get("engine_cli") or {}),
        load_balancers={name: str(lb["url"]) for name, lb in sorted(balancers.items())},
        containers=[_container(c) for c in facts.get("containers") or []],
        databases=[_database(name, d) for name, d in sorted(databases.items())],
    )


def _container(raw: Mapping[str, Any]) -> SandboxContainer:
    port = raw.get("host_port")
    return SandboxContainer(
        task_arn=str(raw["task"]),
        task_id=str(raw["task_id"]),
        cluster=str(raw.get("cluster", "")),
        service=raw.get("service") or None,
        name=str(raw["container"]),
        engine_id=str(raw["id"]),
        host_port=int(port) if port else None,
        status=str(raw.get("status", "UNKNOWN")),
    )


def _database(identifier: str, raw: Mapping[str, Any]) -> SandboxDatabase:
    return SandboxDatabase(
        identifier=identifier,
        engine=str(raw.get("engine", "")),
        host=str(raw.get("host", emulator.LOOPBACK)),
        port=int(raw["port"]),
        database=raw.get("database") or None,
        username=raw.get("username") or None,
        running=bool(raw.get("running")),
    )


def runtime_report(root: Path) -> RuntimeReport | None:
    """What the runtime of the sandbox at `root` publishes, or None (no engine, or none yet)."""
    facts = emulator.runtime_facts(root)
    return parse(facts) if facts is not None else None


def sandbox_status(root: Path) -> SandboxStatus:
    """The emulator for `root` and what it runs. Facts left by a dead emulator are ignored."""
    server = emulator.running(root)
    if server is None:
        return SandboxStatus(None, None)
    return SandboxStatus(server, runtime_report(root), replayed_attempts(root))


def replayed_attempts(root: Path) -> int:
    """The lines the running emulator wrote for a replayed attempt (its log starts anew with
    each start, so this counts since `started_at`)."""
    try:
        with emulator.log_path(root).open(encoding="utf-8", errors="replace") as log:
            return sum(1 for line in log if REPLAYED in line)
    except OSError:
        return 0
