"""Auto scaling as `status` and `scale` see it: the range, the last activities, the limits.

With [autoscaling], Application Auto Scaling owns the task count between min and max:
`hakobu scale N` outside that range would be undone at the next scaling activity, so it
is refused before any call, with the way to change the range instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hakobu.aws import autoscaling as aas
from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.core.errors import InvalidArgument
from hakobu.core.names import Names

ACTIVITIES_SHOWN = 5


@dataclass(frozen=True)
class ScalingActivity:
    started: str  # ISO 8601, UTC, to the second
    description: str
    cause: str
    status: str

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class ScalingView:
    """The registered range (None: not registered yet) and the newest activities."""

    minimum: int | None
    maximum: int | None
    suspended: bool
    activities: tuple[ScalingActivity, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "min": self.minimum,
            "max": self.maximum,
            "suspended": self.suspended,
            "activities": [a.as_json() for a in self.activities],
        }


def check_within_range(env: Environment, count: int) -> None:
    """Refuse a count auto scaling would undo; nothing has been called yet."""
    settings = env.settings.autoscaling
    if settings is None or settings.min <= count <= settings.max:
        return
    raise InvalidArgument(
        f"COUNT {count} is outside the auto scaling range {settings.min}-{settings.max} "
        f"of {env.name!r}: Application Auto Scaling would set it back",
        f"pass {settings.min} to {settings.max}, or change [autoscaling] min / max in "
        "hakobu.toml and run `hakobu up`",
    )


def scaling_view(env: Environment, source: ClientSource) -> ScalingView | None:
    """None without [autoscaling]; else what Application Auto Scaling has registered."""
    if env.settings.autoscaling is None:
        return None
    names = Names.of(env)
    client = source.client("application-autoscaling")
    target = aas.scalable_target(client, names.cluster, names.service)
    if target is None:
        return ScalingView(None, None, False, ())
    activities = aas.scaling_activities(client, names.cluster, names.service, ACTIVITIES_SHOWN)
    suspended = any((target.get("SuspendedState") or {}).values())
    return ScalingView(
        int(target["MinCapacity"]),
        int(target["MaxCapacity"]),
        suspended,
        tuple(_activity(a) for a in activities),
    )


def _activity(raw: dict[str, Any]) -> ScalingActivity:
    return ScalingActivity(
        started=raw["StartTime"].isoformat(timespec="seconds"),
        description=str(raw.get("Description", "")),
        cause=str(raw.get("Cause", "")),
        status=str(raw.get("StatusCode", "")),
    )
