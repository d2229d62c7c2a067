"""CloudWatch Logs of ECS tasks: where the awslogs driver writes them, and reading them back.

One task's stream (`task_log_lines`, used by deploys), a whole log group over a time range
(`filter_request` + `filtered_lines`), and Live Tail sessions (`live_tail_request` +
`session_lines`). Requests are built as data by pure functions; the executors are small.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hakobu.aws.arn import last_part
from hakobu.aws.polling import call_patiently

# get_log_events returns at most 10,000 events per call.
MAX_EVENTS_PER_CALL = 10_000


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    message: str
    stream: str
    # filter_log_events gives each event an id; get_log_events and Live Tail do not.
    event_id: str | None = None

    @property
    def task_id(self) -> str:
        return stream_task_id(self.stream)

    @property
    def millis(self) -> int:
        return round(self.timestamp.timestamp() * 1000)


def task_log_stream(container: str, task_id: str, prefix: str = "ecs") -> str:
    """The stream the awslogs driver writes for a task: `<prefix>/<container>/<task-id>`.

    `task_id` may also be a task ARN (short or long format).
    """
    return f"{prefix}/{container}/{last_part(task_id)}"


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


def stream_task_id(stream: str) -> str:
    """The task id in a stream name `<prefix>/<container>/<task-id>` (its last part)."""
    return last_part(stream)


# --- a log group over a time range: filter_log_events -----------------------------------


def filter_request(
    group: str,
    start_ms: int,
    *,
    end_ms: int | None = None,
    pattern: str | None = None,
    stream_names: Sequence[str] = (),
    stream_prefix: str | None = None,
) -> dict[str, Any]:
    """`filter_log_events` kwargs: events of `group` from `start_ms` (epoch ms, inclusive).

    `stream_names` and `stream_prefix` are exclusive (AWS rejects both); `interleaved` is
    not sent: AWS ignores it since 2019 and always interleaves streams.
    """
    if stream_names and stream_prefix:
        raise ValueError("stream_names and stream_prefix cannot be combined")
    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if end_ms is not None:
        request["endTime"] = end_ms
    if pattern:
        request["filterPattern"] = pattern
    if stream_names:
        request["logStreamNames"] = list(stream_names)
    if stream_prefix:
        request["logStreamNamePrefix"] = stream_prefix
    return request


def filtered_lines(
    logs: Any,
    request: dict[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    deadline: float = math.inf,
) -> Iterator[LogLine]:
    """Every event `request` matches, page after page, in the order AWS returns them.

    A throttled page is retried (with backoff, until `deadline`) from where it stopped, so
    a long read is never restarted nor cut short by throttling. AWS may return empty pages
    with a `nextToken` while it searches: they are followed too.
    """
    token: str | None = None
    while True:
        page = {**request, "nextToken": token} if token else request
        response = call_patiently(
            lambda page=page: logs.filter_log_events(**page),
            sleep=sleep,
            clock=clock,
            deadline=deadline,
        )
        for event in response.get("events", []):
            yield _line(event, event.get("logStreamName", ""))
        following = response.get("nextToken")
        if not following or following == token:
            return
        token = following


# --- Live Tail: start_live_tail ---------------------------------------------------------


def log_group_arn(logs: Any, group: str) -> str | None:
    """The ARN of `group` (without the `:*` suffix Live Tail rejects), None if it is absent."""
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group)
    for page in pages:
        for described in page.get("logGroups", []):
            if described.get("logGroupName") == group:
                arn = described.get("logGroupArn") or described.get("arn", "")
                return str(arn).removesuffix(":*")
    return None


def live_tail_request(
    group_arn: str,
    *,
    pattern: str | None = None,
    stream_names: Sequence[str] = (),
    stream_prefix: str | None = None,
) -> dict[str, Any]:
    """`start_live_tail` kwargs for one log group (Live Tail wants its ARN, not its name)."""
    if stream_names and stream_prefix:
        raise ValueError("stream_names and stream_prefix cannot be combined")
    request: dict[str, Any] = {"logGroupIdentifiers": [group_arn]}
    if stream_names:
        request["logStreamNames"] = list(stream_names)
    if stream_prefix:
        request["logStreamNamePrefixes"] = [stream_prefix]
    if pattern:
        request["logEventFilterPattern"] = pattern
    return request


@dataclass(frozen=True)
class LiveUpdate:
    """One `sessionUpdate` of a Live Tail session, about one per second."""

    lines: list[LogLine]
    # Above 500 matching events per second, AWS sends a sample, not every event.
    sampled: bool = False


def session_lines(events: Iterable[dict[str, Any]]) -> Iterator[LiveUpdate]:
    """The updates of a Live Tail response stream, lines oldest first; other events skipped.

    `events` is `start_live_tail(...)["responseStream"]` (or dicts shaped like its events:
    `{"sessionStart": {...}}`, `{"sessionUpdate": {"sessionMetadata": {"sampled": bool},
    "sessionResults": [...]}}`). Errors sent in the stream (SessionTimeoutException after
    three hours, SessionStreamingException) are raised by botocore as `EventStreamError`.
    """
    for event in events:
        update = event.get("sessionUpdate")
        if update is None:
            continue
        results = update.get("sessionResults", [])
        lines = sorted(
            (_line(result, result.get("logStreamName", "")) for result in results),
            key=lambda line: line.timestamp,
        )
        sampled = bool(update.get("sessionMetadata", {}).get("sampled", False))
        yield LiveUpdate(lines=lines, sampled=sampled)


def _line(event: dict[str, Any], stream: str) -> LogLine:
    stamp = datetime.fromtimestamp(event.get("timestamp", 0) / 1000, tz=UTC)
    return LogLine(
        timestamp=stamp,
        message=event.get("message", "").rstrip("\n"),
        stream=stream,
        event_id=event.get("eventId"),
    )


def start_live_tail(live: Any, request: dict[str, Any]) -> Any:
    """Open a Live Tail session; its response stream (iterate it, then close it)."""
    return live.start_live_tail(**request)
