"""The results of `hakobu doctor`: statuses, groups, what a check finds and the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment

Status = Literal["ok", "warning", "problem", "skipped"]
OK: Status = "ok"
WARNING: Status = "warning"
PROBLEM: Status = "problem"
SKIPPED: Status = "skipped"
JSON_VERSION = 1

LOCAL, ACCOUNT, SECRETS = "local machine", "AWS account", "secrets"
SERVICE, NETWORK, DATABASE, REGISTRY = "service", "network", "database", "registry"
GROUPS = (LOCAL, ACCOUNT, SECRETS, SERVICE, NETWORK, DATABASE, REGISTRY)


@dataclass(frozen=True)
class CheckResult:
    """One named check in one group: its status, what was found and what to do."""

    name: str
    group: str
    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Finding:
    """What a check function returns; the runner adds the check's name and group."""

    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()


def ok(message: str, details: Iterable[str] = ()) -> Finding:
    return Finding(OK, message, None, tuple(details))


def warning(message: str, fix: str | None, details: Iterable[str] = ()) -> Finding:
    return Finding(WARNING, message, fix, tuple(details))


def problem(message: str, fix: str | None, details: Iterable[str] = ()) -> Finding:
    return Finding(PROBLEM, message, fix, tuple(details))


class Skip(Exception):
    """Raised by a check (or a fact it needs) when there is nothing to check, and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def exit_code(results: Iterable[CheckResult]) -> int:
    """1 when any check found a problem; warnings alone leave it 0."""
    return 1 if any(r.status == PROBLEM for r in results) else 0


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    found = Counter(r.status for r in results)
    return {status: found[status] for status in (OK, WARNING, PROBLEM, SKIPPED)}


def report_json(env: Environment, aws: ClientSource, results: list[CheckResult]) -> dict[str, Any]:
    """The `--json` envelope; `version` changes only when a field changes meaning."""
    return {
        "version": JSON_VERSION,
        "environment": env.name,
        "region": env.region,
        "sandbox": aws.sandbox,
        "healthy": exit_code(results) == 0,
        "counts": counts(results),
        "checks": [r.as_json() for r in results],
    }


def utc_minute(moment: Any) -> str:
    """A date AWS returned, to the minute in UTC (anything else as it is)."""
    if isinstance(moment, datetime):
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return str(moment)
