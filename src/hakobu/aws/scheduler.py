"""EventBridge Scheduler: a schedule as Scheduler holds it (what `hakobu schedules` shows)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.errors import error_code


def schedule(scheduler: Any, name: str, group: str = "default") -> dict[str, Any] | None:
    """`get_schedule`'s answer, or None when there is no such schedule (not applied yet)."""
    try:
        return dict(scheduler.get_schedule(Name=name, GroupName=group))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
