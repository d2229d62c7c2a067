"""RDS instances and clusters as real local database servers.

Each DB instance (or cluster) in the emulator gets a server process on 127.0.0.1 at the port
the emulator reports for it (the bridge gives new DBs that port at creation), created with
the database name, master user and password RDS would have. The server follows the
resource: stopped with `stop-db-instance` (hakobu's pause), started again with
`start-db-instance`, and removed, data and all, when the resource is deleted. Data lives
under the runtime's work directory (`.hakobu/sandbox/db/<identifier>`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from hakobu.core.errors import HakobuError
from hakobu.sandbox.runtime import bridge
from hakobu.sandbox.runtime.database import DatabaseSpec, LocalDatabase, find_server

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# RDS statuses in which the server runs (a modify or a backup keeps serving).
SERVING = (
    "creating",
    "starting",
    "available",
    "backing-up",
    "modifying",
    "configuring-enhanced-monitoring",
)
STOPPED = ("stopped", "stopping")
# The transitions the runtime ends once its server has followed (bridge/api_fixes.py starts them).
SETTLED = {"creating": "available", "starting": "available", "stopping": "stopped"}


@dataclass
class Served:
    db: bridge.Database
    server: LocalDatabase
    pid: int | None = None


class Databases:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.served: dict[tuple[str, str, str, str], Served] = {}
        self._unsupported: set[str] = set()

    def reconcile(self) -> None:
        seen = set()
        for db in bridge.db_instances() + bridge.db_clusters():
            key = (db.account, db.region, db.kind, db.identifier)
            seen.add(key)
            try:
                self._follow(key, db)
            except Exception:
                log.exception("database %s", db.identifier)
        for key in set(self.served) - seen:
            self._remove(key)

    def _follow(self, key: tuple[str, str, str, str], db: bridge.Database) -> None:
        served = self.served.get(key) or self._create(key, db)
        if served is None:
            self._settle(db, serving=db.status in SERVING)  # the API is all there is
            return
        served.db = db
        running = served.server.running()
        served.pid = running.pid if running is not None else None
        if db.status in SERVING and running is None:
            try:
                started = served.server.start()
            except Exception:
                self._settle(db, serving=False, failed=True)
                raise
            served.pid = started.pid
            log.info("database %s (%s) on %s:%s", db.identifier, db.engine, LOOPBACK, started.port)
        elif db.status in STOPPED and running is not None:
            served.server.stop()
            served.pid = None
            log.info("database %s stopped", db.identifier)
        self._settle(db, serving=served.pid is not None)

    @staticmethod
    def _settle(db: bridge.Database, serving: bool, failed: bool = False) -> None:
        """End RDS's transition once the server followed it: "creating" and "starting"
        become "available" when it answers ("failed", RDS's word, when it could not be
        made), "stopping" becomes "stopped" once it is down."""
        if db.kind != "instance" or db.status not in SETTLED:
            return
        status = SETTLED[db.status]
        if failed and db.status == "creating":
            status = "failed"
        elif serving != (status == "available"):
            return
        bridge.set_db_instance_status(db.account, db.region, db.identifier, status, db.status)

    def _create(self, key: tuple[str, str, str, str], db: bridge.Database) -> Served | None:
        try:
            server = find_server(db.engine)
        except HakobuError:  # an engine with no local stand-in (Oracle, SQL Server, ...)
            server = None
        if server is None:
            if db.identifier not in self._unsupported:
                self._unsupported.add(db.identifier)
                log.warning(
                    "no local %s server for %s: the DB exists in the API only",
                    db.engine,
                    db.identifier,
                )
            return None
        spec = DatabaseSpec(
            engine=db.engine,
            database=db.database or "",
            username=db.username or "admin",
            password=db.password or "",
            data_dir=self._data_dir(key),
        )
        served = Served(db, LocalDatabase(spec, port=db.port))
        self.served[key] = served
        return served

    def _data_dir(self, key: tuple[str, str, str, str]) -> Path:
        account, region, kind, identifier = key
        return self.data_dir / f"{identifier}-{kind}-{region}-{account}"

    def _remove(self, key: tuple[str, str, str, str]) -> None:
        served = self.served[key]
        try:
            served.server.stop()
        finally:
            shutil.rmtree(self._data_dir(key), ignore_errors=True)
            del self.served[key]  # last: the facts show it until it is really gone
        log.info("database %s removed", served.db.identifier)

    def hosts(self, account: str, region: str, gateway: str) -> dict[str, str]:
        """Host names a container resolves to `gateway` (the host, from inside): every DB
        endpoint of the account and region, so the app connects as on AWS."""
        return {
            name: gateway
            for s in self.served.values()
            if (s.db.account, s.db.region) == (account, region)
            for name in (s.db.address, *s.db.aliases)
        }

    def facts(self) -> dict[str, dict[str, object]]:
        return {
            s.db.identifier: {
                "engine": s.db.engine,
                "host": LOOPBACK,
                "port": s.db.port,
                "endpoint": s.db.address,
                "database": s.db.database,
                "username": s.db.username,
                "pid": s.pid,
                "running": s.pid is not None,
            }
            for s in self.served.values()
        }

    def pids(self) -> list[int]:
        return [s.pid for s in self.served.values() if s.pid is not None]

    def shutdown(self) -> None:
        """Stop every server and remove its data: the emulator's state does not outlive its
        process, so neither may the databases it described."""
        for key in list(self.served):
            self._remove(key)
