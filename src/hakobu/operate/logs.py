"""`hakobu logs`: which events to read, how to show them, and following new ones.

Pure functions parse `--since`, build the query and format lines (tested as exact values);
`read_lines` and `Follower` are the small executors. Following prefers CloudWatch Logs
Live Tail (AWS pushes events about once a second) and falls back to polling
`filter_log_events` where Live Tail is unavailable: the sandbox emulator does not implement
it, IAM policies written before it existed do not allow `logs:StartLiveTail`, and log
groups of the Infrequent Access class do not support it.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from hakobu.aws.arn import last_part
from hakobu.aws.errors import is_throttling
from hakobu.aws.logs import (
    LiveUpdate,
    LogLine,
    filter_request,
    filtered_lines,
    live_tail_request,
    log_group_arn,
    session_lines,
    start_live_tail,
    stream_task_id,
    task_log_stream,
)
from hakobu.aws.polling import call_patiently
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB, workers
from hakobu.core.errors import EXIT_BAD_INPUT, HakobuError
from hakobu.core.names import Names
from hakobu.core.target import Target, retry_config

DEFAULT_SINCE = "10m"  # what `aws logs tail` shows by default
POLL_SECONDS = 2.0
# The awslogs driver ships a task's lines in batches (every 5 s by default), so a line can
# arrive after newer lines of another task were read: each poll re-reads this much before
# the newest line seen, and de-duplicates.
LATE_MILLIS = 10_000
SHORT_TASK_ID = 8
# Web's containers log as `ecs/<container>/<task id>` (its task definition's awslogs prefix).
WEB_STREAM_ROOT = "ecs"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as `aws logs tail --follow` and `tail -f` end
SANDBOX_NOTE = (
    "SANDBOX: the emulator's log group holds only what was written to it; no container "
    "runs in the sandbox."
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"(\d+)([smhdw])")
# Task ids: 32 hex digits (or a UUID for tasks of old accounts); anything shorter is a prefix.
_FULL_TASK_ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")
_TASK_ID_PART = re.compile(r"[0-9a-f-]+")
# Errors that mean "no Live Tail here" rather than "something is wrong": polling still works.
_LIVE_TAIL_UNAVAILABLE = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnknownOperationException",
        "UnsupportedOperation",
        "InvalidAction",
        "NotImplemented",
        "InvalidOperationException",  # e.g. a log group of the Infrequent Access class
        "LimitExceededException",  # the account's concurrent Live Tail sessions are in use
    }
)
_SESSION_ENDED = (
    EventStreamError,  # SessionTimeoutException (3 hours), SessionStreamingException
    ReadTimeoutError,
    ResponseStreamingError,
    ConnectionClosedError,
)


class OptionError(HakobuError):
    """A command-line option has a bad value. Raised before any AWS call."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, flag: str, problem: str, fix: str) -> None:
        super().__init__(f"{flag}: {problem}", fix)
        self.flag = flag


# --- pure: options to a query, lines to text --------------------------------------------


def parse_since(text: str, now: datetime) -> datetime:
    """When `--since` starts, as `aws logs tail --since` reads it.

    A duration back from `now` (`<integer><unit>`, unit s, m, h, d or w: 30s, 5m, 1h, 2d,
    1w) or an ISO 8601 time; a time without an offset is UTC, as for the AWS CLI.
    """
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    fix = (
        "give a number and a unit (s, m, h, d or w), such as 30s, 5m, 1h or 2d, or an "
        "ISO 8601 time such as 2025-05-01T09:00:00+09:00"
    )
    if relative:
        try:
            return now - timedelta(seconds=int(relative[1]) * _UNITS[relative[2]])
        except OverflowError:
            raise OptionError("--since", f"{text!r} is too long ago", fix) from None
    if value.isdigit():
        raise OptionError("--since", f"{text!r} has no unit (did you mean {value}m?)", fix)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise OptionError("--since", f"{text!r} is neither a duration nor a time", fix) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > now:
        raise OptionError("--since", f"{text!r} is in the future", fix)
    return moment


@dataclass(frozen=True)
class LogQuery:
    """What `hakobu logs` reads: a log group from a time on, maybe a pattern and one task."""

    group: str
    start_ms: int
    pattern: str | None = None
    stream_names: tuple[str, ...] = ()
    stream_prefix: str | None = None

    def filter_request(self, start_ms: int | None = None) -> dict[str, Any]:
        return filter_request(
            self.group,
            self.start_ms if start_ms is None else start_ms,
            pattern=self.pattern,
            stream_names=self.stream_names,
            stream_prefix=self.stream_prefix,
        )

    def live_request(self, group_arn: str) -> dict[str, Any]:
        return live_tail_request(
            group_arn,
            pattern=self.pattern,
            stream_names=self.stream_names,
            stream_prefix=self.stream_prefix,
        )

    def selects(self, line: LogLine) -> bool:
        # AWS applies the stream filters itself; checking again costs nothing and keeps
        # `--task` right where an emulator ignores logStreamNamePrefix (moto does).
        if self.stream_names:
            return line.stream in self.stream_names
        return self.stream_prefix is None or line.stream.startswith(self.stream_prefix)


def build_query(
    names: Names,
    start: datetime,
    pattern: str | None = None,
    task: str | None = None,
    stream_root: str | None = None,
) -> LogQuery:
    """The query of `hakobu logs`: the app's log group, maybe narrowed to one task's stream.

    `task` is a task id, an id's first characters (as `hakobu logs` prints them) or a task
    ARN. A whole id selects its stream by name, a shorter one by prefix. `stream_root` (from
    `process_stream_root`) keeps one process's streams only.
    """
    root = stream_root or WEB_STREAM_ROOT
    if task:
        names_, prefix = _task_streams(names.container, task, root)
    else:
        names_, prefix = (), (f"{root}/" if stream_root else None)
    return LogQuery(
        group=names.log_group,
        start_ms=round(start.timestamp() * 1000),
        pattern=pattern or None,
        stream_names=names_,
        stream_prefix=prefix,
    )


def process_stream_root(env: Environment, process: str | None) -> str | None:
    """The first part of `process`'s log streams (`--process`): a worker logs under its own
    name (provision/blueprint/processes.py), web under `ecs`, as one-off tasks do (the
    release command, `hakobu run`, schedules), so web's lines include theirs."""
    if process is None:
        return None
    known = [WEB, *workers(env)]
    if process not in known:
        raise OptionError(
            "--process",
            f"no process named {process!r}",
            f"use one of: {', '.join(known)} (web, and each [processes.NAME] of hakobu.toml)",
        )
    return WEB_STREAM_ROOT if process == WEB else process


def _task_streams(
    container: str, task: str, root: str = "ecs"
) -> tuple[tuple[str, ...], str | None]:
    task_id = last_part(task.strip()).lower()
    if not _TASK_ID_PART.fullmatch(task_id):
        raise OptionError(
            "--task",
            f"{task!r} is not an ECS task id",
            "give a task id (32 hex digits, or its first characters as `hakobu logs` "
            "prints them) or a task ARN; `hakobu status` lists the running tasks",
        )
    stream = task_log_stream(container, task_id, root)
    if _FULL_TASK_ID.fullmatch(task_id):
        return (stream,), None
    return (), stream


def timestamp_text(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: 2025-05-01T03:04:05.678Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def short_task_id(stream: str) -> str:
    """The task id of a stream, shortened like a git commit (whole if it is no task id)."""
    task_id = stream_task_id(stream)
    return task_id[:SHORT_TASK_ID] if _FULL_TASK_ID.fullmatch(task_id) else task_id


def format_line(line: LogLine) -> str:
    """`<short task id> <time> <message>`, one event of the group."""
    return f"{short_task_id(line.stream)} {timestamp_text(line.timestamp)} {line.message}"


def json_line(line: LogLine) -> str:
    """One event as a JSON object on one line (the whole task id, for scripts)."""
    return json.dumps(
        {
            "timestamp": timestamp_text(line.timestamp),
            "task": line.task_id,
            "stream": line.stream,
            "message": line.message,
        },
        ensure_ascii=False,
    )


# --- executors --------------------------------------------------------------------------


def show_logs(
    env: Environment,
    target: Callable[[], Target],
    start: datetime,
    emit: Callable[[LogLine], None],
    note: Callable[[str], None],
    *,
    pattern: str | None = None,
    task: str | None = None,
    process: str | None = None,
    follow: bool = False,
) -> LogQuery:
    """`hakobu logs`: every event of the query since `start` to `emit`, oldest first, and
    with `follow` the new ones until Ctrl-C. Returns the query (its group, its pattern),
    for a caller that says when nothing matched.

    `target` is called only once `--task` and `--process` are known to be good, so a bad
    option starts no emulator and makes no AWS call.
    """
    query = build_query(Names.of(env), start, pattern, task, process_stream_root(env, process))
    aws = target()
    if aws.sandbox and not aws.runs_tasks:  # else the runtime's containers wrote them
        note(SANDBOX_NOTE)
    if follow:
        Follower(aws.client("logs"), query, emit, note, live_tail_client(aws)).run()
        return query
    for line in read_lines(aws.client("logs"), query):
        emit(line)
    return query


def read_lines(
    logs: Any,
    query: LogQuery,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[LogLine]:
    """Every event of the query up to now, oldest first, interleaved across tasks.

    Pages are gathered before sorting: AWS interleaves streams within its search, not
    strictly across pages, and "newest last" must hold for the whole output.
    """
    with translated_errors(query):
        lines = filtered_lines(logs, query.filter_request(), sleep=sleep, clock=clock)
        return sorted((line for line in lines if query.selects(line)), key=_time)


@contextmanager
def translated_errors(query: LogQuery) -> Iterator[None]:
    """AWS errors a user can act on, as `HakobuError`s that say how."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            raise _missing_group(query.group) from exc
        if code == "InvalidParameterException" and query.pattern:
            raise OptionError(
                "--filter",
                f"CloudWatch Logs rejected the pattern {query.pattern!r}: {message}",
                'see "Filter pattern syntax" in the CloudWatch Logs guide; quote a '
                "phrase inside the pattern: --filter '\"Completed 500\"'",
            ) from exc
        raise


def _missing_group(group: str) -> HakobuError:
    return HakobuError(
        f"the log group {group} does not exist",
        "run `hakobu up` (it creates the log group), or check the environment name",
    )


def live_tail_client(aws: Target) -> Any:
    """A Logs client for `start_live_tail`: one attempt, short timeouts.

    Live Tail is an optimisation, so an endpoint that cannot be reached must fail fast into
    polling instead of waiting through botocore's retries (throttling is retried by
    `Follower` itself). Live Tail's `stream-` host prefix cannot go before the sandbox's
    IP address, so it is not injected there.
    """
    config = retry_config().merge(
        Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=10,
            read_timeout=30,  # AWS sends an update every second, even an empty one
        )
    )
    if aws.sandbox:
        config = config.merge(Config(proxies={}, inject_host_prefix=False))
    return aws.session().client("logs", endpoint_url=aws.endpoint_url, config=config)


def live_tail_unavailable(exc: BaseException) -> bool:
    """Whether a failed `start_live_tail` means Live Tail cannot be used here (so: poll)."""
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return True
    if not isinstance(exc, ClientError) or is_throttling(exc):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code in _LIVE_TAIL_UNAVAILABLE or status in (404, 501) or status >= 500


class Seen:
    """The events already printed, so that overlapping reads print each event once.

    Polls re-read the last `LATE_MILLIS`, and a Live Tail session overlaps the read that
    catches up before it. Events from `filter_log_events` are known by their eventId. Live
    Tail events have none, so they are known by (time, stream, message): two identical
    lines of one stream in the same millisecond show once in Live Tail.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        # (millis, stream, message) -> whether it came from Live Tail
        self._contents: dict[tuple[int, str, str], bool] = {}

    def fresh(self, line: LogLine) -> bool:
        """True the first time an event is offered (and remembers it)."""
        content = (line.millis, line.stream, line.message)
        if line.event_id is None:
            if content in self._contents:
                return False
            self._contents[content] = True
            return True
        if line.event_id in self._ids or self._contents.get(content):
            return False
        self._ids[line.event_id] = line.millis
        self._contents.setdefault(content, False)
        return True

    def forget_before(self, millis: int) -> None:
        """Drop events older than any later read can return, so memory stays bounded."""
        self._ids = {i: t for i, t in self._ids.items() if t >= millis}
        self._contents = {c: live for c, live in self._contents.items() if c[0] >= millis}


@dataclass
class Follower:
    """Prints the query's events from its start, then new ones as they come, until Ctrl-C.

    `logs` reads (`filter_log_events`); `live_logs` opens Live Tail sessions (None: poll
    only). `emit` gets each event once, `note` gets remarks for people (stderr). `sleep`
    and `clock` are injectable so tests run without waiting.
    """

    logs: Any
    query: LogQuery
    emit: Callable[[LogLine], None]
    note: Callable[[str], None] = lambda text: None
    live_logs: Any | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_seconds: float = POLL_SECONDS
    late_millis: int = LATE_MILLIS
    seen: Seen = field(default_factory=Seen, init=False)
    cursor_ms: int = field(default=-1, init=False)  # the newest event time printed (epoch ms)
    sampled_noted: bool = field(default=False, init=False)
    group_arn: str | None = field(default=None, init=False)  # Live Tail wants the ARN

    def run(self) -> None:
        """Follow until Ctrl-C; returns only then (KeyboardInterrupt ends it cleanly)."""
        self.cursor_ms = max(self.cursor_ms, self.query.start_ms)
        try:
            with translated_errors(self.query):
                while self.live_logs is not None and self._live_session():
                    self.sleep(self.poll_seconds)  # a session ended (3 h limit): next one
                self._poll()
        except KeyboardInterrupt:
            return

    def _poll(self) -> None:
        while True:
            self._catch_up()
            self.sleep(self.poll_seconds)

    def _catch_up(self) -> None:
        """Print what `filter_log_events` has that was not printed yet."""
        start = max(self.query.start_ms, self.cursor_ms - self.late_millis)
        request = self.query.filter_request(start)
        lines = filtered_lines(self.logs, request, sleep=self.sleep, clock=self.clock)
        self._emit_new(sorted(lines, key=_time))

    def _live_session(self) -> bool:
        """One Live Tail session; False (and no session) if Live Tail is unavailable."""
        stream = self._open_live()
        if stream is None:
            return False
        try:
            # The session is open before catching up, so nothing falls between the two.
            self._catch_up()
            for update in session_lines(stream):
                self._emit_live(update)
        except _SESSION_ENDED:
            pass  # the next session catches up on anything missed meanwhile
        finally:
            stream.close()
        return True

    def _open_live(self) -> Any | None:
        """The response stream of a new session, or None after falling back to polling."""
        live = self.live_logs
        if not hasattr(live, "start_live_tail"):
            return self._fall_back("this botocore predates it")
        try:
            # Inside the try: a policy may deny DescribeLogGroups too; polling needs neither.
            request = self.query.live_request(self._group_arn())
            response = call_patiently(
                lambda: start_live_tail(live, request),
                sleep=self.sleep,
                clock=self.clock,
                deadline=math.inf,
            )
        except (ClientError, BotoCoreError) as exc:
            if not live_tail_unavailable(exc):
                raise
            return self._fall_back(_reason(exc))
        return response["responseStream"]

    def _group_arn(self) -> str:
        if self.group_arn is None:
            self.group_arn = log_group_arn(self.logs, self.query.group)
            if self.group_arn is None:
                raise _missing_group(self.query.group)
        return self.group_arn

    def _fall_back(self, reason: str) -> None:
        self.live_logs = None
        self.note(
            f"Live Tail is unavailable here ({reason}); "
            f"polling every {self.poll_seconds:g} s instead."
        )

    def _emit_live(self, update: LiveUpdate) -> None:
        if update.sampled and not self.sampled_noted:
            self.sampled_noted = True
            self.note(
                "More than 500 lines per second match: Live Tail shows a sample. "
                "Narrow it with --filter or --task, or read everything later without --follow."
            )
        self._emit_new(update.lines)

    def _emit_new(self, lines: list[LogLine]) -> None:
        for line in lines:
            if self.query.selects(line) and self.seen.fresh(line):
                self.emit(line)
                self.cursor_ms = max(self.cursor_ms, line.millis)
        self.seen.forget_before(self.cursor_ms - self.late_millis)


def _time(line: LogLine) -> datetime:
    return line.timestamp


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.get("Code", ""))
        return code if code and not code.isdigit() else f"HTTP {status or code}"
    return type(exc).__name__
