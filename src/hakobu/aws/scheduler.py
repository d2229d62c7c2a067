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


# What `update_schedule` takes back from `get_schedule`'s answer: UpdateSchedule replaces
# the whole schedule, so every field is sent again, only State changed.
UPDATE_FIELDS = (
    "ActionAfterCompletion",
    "Description",
    "EndDate",
    "FlexibleTimeWindow",
    "GroupName",
    "KmsKeyArn",
    "Name",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "Target",
)


def set_state(scheduler: Any, described: dict[str, Any], state: str) -> bool:
    """Set a described schedule's State (ENABLED / DISABLED); False if it already was."""
    if described.get("State") == state:
        return False
    request = {k: described[k] for k in UPDATE_FIELDS if described.get(k) is not None}
    scheduler.update_schedule(**request, State=state)
    return True
