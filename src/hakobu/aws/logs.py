"""CloudWatch Logs of ECS tasks: where the awslogs driver writes them, and reading them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# get_log_events returns at most 10,000 events per call.
MAX_EVENTS_PER_CALL = 10_000


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    message: str
    stream: str


def task_log_stream(container: str, task_id: str, prefix: str = "ecs") -> str:
    """The stream the awslogs driver writes for a task: `<prefix>/<container>/<task-id>`.

    `task_id` may also be a task ARN (short or long format).
    """
    return f"{prefix}/{container}/{task_id.rsplit('/', 1)[-1]}"


def task_log_lines(
    logs: Any,
    group: str,
    stream: str,
    start_from_head: bool = True,
    limit: int = MAX_EVENTS_PER_CALL,
) -> list[LogLine]:
    """Up to `limit` lines of a stream, oldest first; [] if the stream does not exist (yet).

    From the head, pages forward until the stream is exhausted or `limit` lines were read;
    from the tail (`start_from_head=False`), one call returns the newest `limit` lines.
    """
    lines: list[LogLine] = []
    token: str | None = None
    while len(lines) < limit:
        request: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": start_from_head,
            "limit": min(limit - len(lines), MAX_EVENTS_PER_CALL),
        }
        if token is not None:
            request["nextToken"] = token
        try:
            response = logs.get_log_events(**request)
        except logs.exceptions.ResourceNotFoundException:
            return lines
        lines.extend(_line(event, stream) for event in response.get("events", []))
        following = response.get("nextForwardToken")
        # The same token back means the end of the stream; from the tail, one page is all.
        if not start_from_head or not response.get("events") or following in (None, token):
            break
        token = following
    return lines[:limit]


def last_lines(lines: Sequence[LogLine], n: int = 20) -> list[LogLine]:
    """The last `n` lines (all if fewer; none if n <= 0)."""
    return list(lines[-n:]) if n > 0 else []


def _line(event: dict[str, Any], stream: str) -> LogLine:
    stamp = datetime.fromtimestamp(event.get("timestamp", 0) / 1000, tz=UTC)
    return LogLine(timestamp=stamp, message=event.get("message", "").rstrip("\n"), stream=stream)
