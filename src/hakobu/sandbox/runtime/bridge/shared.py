"""What the bridge's modules share: one lock, what the runtime measured that moto cannot
hold, the ECS backends, and two converters of moto's loosely typed values."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from hakobu.sandbox.runtime.model import TargetHealth

ACCOUNT = DEFAULT_ACCOUNT_ID  # moto's account when requests carry no other
# Statuses of a task that still holds (or will hold) a container.
LIVE_STATUSES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")

# Held by every read-modify-write of moto's state (moto's server threads run beside us).
lock = threading.RLock()
# Target health measured by the runtime: {target group ARN: {target id: state}}.
measured_health: dict[str, dict[str, TargetHealth]] = {}
# Tasks the runtime runs (service tasks it made, run_task tasks it picked up).
claimed: set[str] = set()


def all_ecs_backends() -> Iterator[tuple[str, str, Any]]:
    yield from list(ecs_backends.iter_backends())


def ecs_backend(account: str, region: str) -> Any:
    return ecs_backends[account][region]


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_strings(value: Any) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if value else None
