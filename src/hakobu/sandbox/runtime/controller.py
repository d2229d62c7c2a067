"""The sandbox runtime: a reconcile loop in the emulator's process that makes what the
emulated AWS describes really run (docs/design.md, "The sandbox runtime and its images").

Every pass (about every 0.5 s) it:
1. starts, stops or removes a real database server for each RDS instance or cluster;
2. picks up `run_task` requests (the release command, `hakobu run`) and runs them;
3. follows every running container: output to CloudWatch Logs, exits;
4. schedules every ECS service (services.py): rolling updates, target registration and
   draining, health, the circuit breaker;
5. copies the load balancers' measured target health into the emulator, and writes the
   runtime's public facts (load balancer URLs, database ports, containers) to
   `.hakobu/sandbox-runtime.json`.

`stop()` removes every container (by the runtime's label) and database process it started.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hakobu.sandbox.emulator import RUNTIME_FACTS
from hakobu.sandbox.runtime import bridge
from hakobu.sandbox.runtime.database import free_port
from hakobu.sandbox.runtime.databases import Databases
from hakobu.sandbox.runtime.engine import ContainerEngine
from hakobu.sandbox.runtime.routing import Routing
from hakobu.sandbox.runtime.services import Scheduler
from hakobu.sandbox.runtime.tasks import TaskRunner

log = logging.getLogger(__name__)

INTERVAL_S = 0.5
FACTS_NAME = RUNTIME_FACTS


def facts_path(state_file: Path) -> Path:
    """The runtime's facts sit next to the emulator's state file (`.hakobu/sandbox.json`)."""
    return state_file.with_name(FACTS_NAME)


def read_facts(state_file: Path) -> dict[str, Any] | None:
    """What a running sandbox runtime published, or None (no runtime, or not yet)."""
    try:
        data = json.loads(facts_path(state_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Runtime:
    """The loop and its parts; `start()` once, `stop()` once."""

    def __init__(
        self,
        engine: ContainerEngine,
        work_dir: Path,
        facts_file: Path,
        *,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.facts_file = facts_file
        self.interval_s = interval_s
        # One id per work directory: a restarted sandbox finds (and removes) what a crashed
        # one left, and two sandboxes on one machine never touch each other's containers.
        self.runtime_id = self.id_for(work_dir)
        self.databases = Databases(work_dir / "db")
        self.routing = Routing(clock)
        self.runner = TaskRunner(engine, self.runtime_id, self._hosts, clock)
        self.scheduler = Scheduler(self.runner, self.routing, clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_facts: str | None = None

    @staticmethod
    def id_for(work_dir: Path) -> str:
        """The label value of the containers a runtime for `work_dir` starts."""
        return hashlib.sha256(str(work_dir.resolve()).encode()).hexdigest()[:16]

    def start(self) -> None:
        bridge.install(db_port=lambda _engine: free_port())
        left = self.engine.remove_all(self.runner.labels)
        if left:
            log.info("removed %d containers a previous sandbox left", left)
        self._thread = threading.Thread(target=self._loop, name="hakobu-runtime", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the loop, then remove every container, balancer and database started."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        removed = self.runner.shutdown()
        self.routing.shutdown()
        self.databases.shutdown()
        bridge.uninstall()
        self.facts_file.unlink(missing_ok=True)
        log.info("runtime stopped: %d containers removed", removed)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick()
            self._stop.wait(max(0.05, self.interval_s - (time.monotonic() - started)))

    def tick(self) -> None:
        """One reconcile pass; each part's failure is logged, never fatal to the loop."""
        for name, part in (
            ("databases", self.databases.reconcile),
            ("run_task", self._run_tasks),
            ("containers", self.runner.poll),
            ("services", lambda: self.scheduler.reconcile(self.runner.forget_stopped())),
            ("target health", self.routing.sync),
            ("facts", self._write_facts),
        ):
            if self._stop.is_set():
                return
            try:
                part()
            except Exception:
                log.exception("runtime: %s", name)

    def _run_tasks(self) -> None:
        for task in bridge.pending_run_tasks():
            self.runner.launch(task)

    def _hosts(self, account: str, region: str) -> dict[str, str]:
        # docker's --add-host takes an IP or its keyword for the host; podman's slirp gives
        # the host's loopback an IP.
        gateway = "host-gateway" if self.engine.name == "docker" else self.engine.host_gateway
        return self.databases.hosts(account, region, gateway)

    def facts(self) -> dict[str, Any]:
        containers = [
            {
                "task": run.ref.arn,
                "task_id": run.id,
                "cluster": run.ref.cluster,
                "service": run.service,
                "container": name,
                "id": container.id,
                "host_port": container.host_port,
                "status": run.status,
            }
            for run in list(self.runner.runs.values())
            for name, container in run.containers.items()
        ]
        return {
            "engine": self.engine.name,
            "engine_cli": self.engine.describe(),  # `hakobu exec --sandbox` calls it so
            "pid": os.getpid(),
            "load_balancers": self.routing.urls(),
            "databases": self.databases.facts(),
            "containers": containers,
        }

    def _write_facts(self) -> None:
        facts = self.facts()
        text = json.dumps(facts, indent=2, sort_keys=True)
        if text == self._last_facts:
            return
        self._last_facts = text
        stamped = {**facts, "updated_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self.facts_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.facts_file.with_name(f".{self.facts_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stamped, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.facts_file)
