"""The record of a pause: what it changed and what `hakobu resume` puts back.

It is written to `.hakobu/<env>/paused.json` (`.hakobu/sandbox/<env>/` for the sandbox)
BEFORE anything changes, so a pause that fails half-way can still be resumed. Also here:
whether a pause is in effect without any AWS call, and the notice `hakobu up` / `plan`
print then.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.workspace import environment_dir

STATE_FILE = "paused.json"
STATE_VERSION = 1
# AWS starts a stopped RDS instance again by itself after seven days (RDS User Guide,
# "Stopping an Amazon RDS DB instance temporarily").
AUTO_START = timedelta(days=7)


@dataclass(frozen=True)
class PauseRecord:
    """What a pause changed, and what resume puts back."""

    environment: str
    paused_at: datetime
    deep: bool
    desired_count: int  # the service's, before the pause
    task_definition: str  # the revision the service ran (an ARN), restored by resume
    database: str  # the DB instance identifier
    database_status: str | None  # before the pause (None: no such instance)
    database_stopped_at: datetime | None  # when hakobu last stopped it (AWS restarts it
    # AUTO_START later); None when it was already stopped by someone else
    monthly_saving: float | None  # the estimate printed at pause time, USD a month
    saving_complete: bool
    emulator: str | None = None  # sandbox only: the emulator it belongs to (started_at)
    # Each process beside web ([processes.NAME]) and its desired count before the pause.
    processes: dict[str, int] = field(default_factory=dict)

    @property
    def auto_start_at(self) -> datetime | None:
        return self.database_stopped_at + AUTO_START if self.database_stopped_at else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("paused_at", "database_stopped_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return {"version": STATE_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PauseRecord:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
        fields = {k: v for k, v in data.items() if k != "version"}
        fields["paused_at"] = datetime.fromisoformat(fields["paused_at"])
        stopped = fields.get("database_stopped_at")
        fields["database_stopped_at"] = datetime.fromisoformat(stopped) if stopped else None
        return cls(**fields)


def state_path(env: Environment, sandbox: bool) -> Path:
    return environment_dir(env, sandbox) / STATE_FILE


def load_record(path: Path) -> PauseRecord | None:
    """The pause recorded at `path`, or None when the environment is not paused."""
    if not path.is_file():
        return None
    try:
        return PauseRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise HakobuError(
            f"the pause record {path} cannot be read ({exc})",
            "check the service's desired count and the DB's status with `hakobu status`, "
            "set them back by hand, then delete the file",
        ) from None


def save_record(path: Path, record: PauseRecord) -> None:
    """Write atomically: a record half-written by a crash would lose what to restore."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(record.as_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def remove_record(path: Path) -> None:
    path.unlink(missing_ok=True)


def current_record(path: Path, emulator: str | None) -> PauseRecord | None:
    """The pause in effect. A sandbox record made in another emulator is forgotten: a new
    emulator starts empty (hakobu forgets its Terraform state too), so nothing is paused."""
    record = load_record(path)
    if record is not None and record.emulator != emulator:
        remove_record(path)
        return None
    return record


# --- for `hakobu up` and `hakobu plan` ------------------------------------------------


def paused_notice(env: Environment, record: PauseRecord) -> str:
    """Why applying hakobu.toml now would undo part of the pause, and what to run instead."""
    since = f"{record.paused_at:%Y-%m-%d %H:%M} UTC"
    brings = "re-creates the NAT Gateway(s) and the ALB and sets" if record.deep else "sets"
    return (
        f"`{env.name}` is paused{' (deep)' if record.deep else ''} since {since}: applying "
        f"hakobu.toml now {brings} the service's desired count back to "
        f"{env.settings.service.desired_count} while the DB stays stopped. `hakobu resume "
        f"{env.name}` ends the pause (DB first, then the service on its recorded revision)."
    )


def pause_in_effect(env: Environment, sandbox: bool) -> PauseRecord | None:
    """The pause recorded for `env`, without any AWS call (for `hakobu up` and `plan`)."""
    return current_record(state_path(env, sandbox), emulator_of(env) if sandbox else None)


def emulator_of(env: Environment) -> str | None:
    """The running sandbox emulator's start time: it tells one emulator from the next."""
    from hakobu.sandbox import emulator as sandbox

    server = sandbox.running(env.root)
    return server.started_at if server else None


def now_utc() -> datetime:
    return datetime.now(UTC)
