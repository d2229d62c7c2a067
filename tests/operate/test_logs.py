"""`hakobu logs` without AWS: `--since`, the requests, the lines, and following.

The follow loop's AWS calls go through real boto3 clients stubbed strictly with botocore's
Stubber: Live Tail refused (AccessDenied, UnknownOperation, the emulator's HTTP 500) falls
back to polling `filter_log_events`; events are printed once each; throttling is retried;
a KeyboardInterrupt from the injected sleep ends the loop cleanly.

The Stubber cannot represent Live Tail's response stream (it validates a stubbed
`responseStream` as one plain dict, not a stream of events; see
`test_the_stubber_cannot_represent_a_live_tail_stream`). So Live Tail is tested through a
real botocore client whose HTTP answer is an event stream encoded byte for byte (a
`before-send` hook), parsed by botocore exactly as AWS's would be; `session_lines` is
also tested on dicts shaped like AWS's `sessionUpdate` events. No network, about 2 s.
"""

from __future__ import annotations

import json
import struct
import tomllib
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.stub import Stubber

from hakobu.aws.logs import LiveUpdate, LogLine, filter_request, live_tail_request, session_lines
from hakobu.core.config import parse_project
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.operate import logs as logtail
from hakobu.operate.logs import Follower, LogQuery, OptionError, Seen
from tests.conftest import Run, run_hakobu

NOW = datetime(2025, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = 1746100800000
GROUP = "/ecs/rails-app"
GROUP_ARN = f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{GROUP}"
TASK_A = "3f2a9c1b7d4e4f0a8b6c5d4e3f2a1b0c"
TASK_B = "9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b"
STREAM_A = f"ecs/rails-app/{TASK_A}"
STREAM_B = f"ecs/rails-app/{TASK_B}"
NAMES = Names(prefix="rails-app", container="rails-app")
START_MS = NOW_MS - 600_000  # --since 10m


def _client() -> Any:
    return boto3.client(
        "logs", region_name="ap-northeast-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def _event(event_id: str, stream: str, ms: int, message: str) -> dict[str, Any]:
    return {"eventId": event_id, "logStreamName": stream, "timestamp": ms, "message": message}


def _line(stream: str, ms: int, message: str, event_id: str | None = None) -> LogLine:
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return LogLine(timestamp=stamp, message=message, stream=stream, event_id=event_id)


# --- --since ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("0s", timedelta(0)),
        (" 10m ", timedelta(minutes=10)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_since_durations_count_back_from_now(text: str, back: timedelta) -> None:
    assert logtail.parse_since(text, NOW) == NOW - back


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025-05-01T09:00:00+09:00", datetime(2025, 5, 1, 0, 0, tzinfo=UTC)),
        ("2025-05-01T11:30:00Z", datetime(2025, 5, 1, 11, 30, tzinfo=UTC)),
        # Without an offset, UTC: what `aws logs tail --since` does.
        ("2025-05-01T11:30:00", datetime(2025, 5, 1, 11, 30, tzinfo=UTC)),
        ("2025-04-30", datetime(2025, 4, 30, tzinfo=UTC)),
    ],
)
def test_since_accepts_iso_8601_times(text: str, moment: datetime) -> None:
    assert logtail.parse_since(text, NOW) == moment


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("5x", "'5x' is neither a duration nor a time"),
        ("5M", "'5M' is neither a duration nor a time"),
        ("1.5h", "'1.5h' is neither a duration nor a time"),
        ("-5m", "'-5m' is neither a duration nor a time"),
        ("m5", "'m5' is neither a duration nor a time"),
        ("5 m", "'5 m' is neither a duration nor a time"),
        ("yesterday", "'yesterday' is neither a duration nor a time"),
        ("", "'' is neither a duration nor a time"),
        ("5", "'5' has no unit (did you mean 5m?)"),
        ("99999999w", "'99999999w' is too long ago"),
        ("2025-05-02T00:00:00Z", "'2025-05-02T00:00:00Z' is in the future"),
    ],
)
def test_a_bad_since_is_an_error_naming_the_flag(text: str, says: str) -> None:
    with pytest.raises(OptionError) as raised:
        logtail.parse_since(text, NOW)
    assert raised.value.problem == f"--since: {says}"
    assert raised.value.exit_code == 2
    assert "30s, 5m, 1h or 2d" in (raised.value.fix or "")


def _dead_aws_env(tmp_path: Path) -> dict[str, str]:
    # Any AWS call would go to a closed loopback port and fail with another message.
    return {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "hakobu-test-logs-key-id",
        "AWS_SECRET_ACCESS_KEY": "dummy",
        "HOME": str(tmp_path),
    }


def _assert_bad_input(run: Run, flag: str) -> None:
    assert run.code == 2, run.output
    assert run.stderr.startswith(f"Error: {flag}: "), run.stderr
    assert "Fix: " in run.stderr
    assert "Traceback" not in run.output
    assert run.stdout == ""


def test_cli_rejects_a_bad_since_before_reading_any_config(tmp_path: Path) -> None:
    # No hakobu.toml here: had hakobu read the config (or called AWS), the error would differ.
    run = run_hakobu("logs", "--since", "10 minutes", cwd=tmp_path, env=_dead_aws_env(tmp_path))
    _assert_bad_input(run, "--since")
    assert "'10 minutes' is neither a duration nor a time" in run.stderr


def test_cli_rejects_a_bad_task_before_starting_the_sandbox(
    rails_app: Path, tmp_path: Path
) -> None:
    run = run_hakobu(
        "logs", "--sandbox", "--task", "web-1", cwd=rails_app, env=_dead_aws_env(tmp_path)
    )
    _assert_bad_input(run, "--task")
    assert not (rails_app / ".hakobu").exists()  # no emulator was started


# --- the query and its requests, exact values ---------------------------------------------


def test_query_of_the_whole_log_group() -> None:
    query = logtail.build_query(NAMES, NOW - timedelta(minutes=10), "ERROR")
    assert query == LogQuery(group=GROUP, start_ms=START_MS, pattern="ERROR")
    assert query.filter_request() == {
        "logGroupName": GROUP,
        "startTime": START_MS,
        "filterPattern": "ERROR",
    }
    assert query.filter_request(NOW_MS - 5000) == {
        "logGroupName": GROUP,
        "startTime": NOW_MS - 5000,
        "filterPattern": "ERROR",
    }
    assert query.live_request(GROUP_ARN) == {
        "logGroupIdentifiers": [GROUP_ARN],
        "logEventFilterPattern": "ERROR",
    }


@pytest.mark.parametrize(
    "task",
    [
        TASK_A,
        TASK_A.upper(),
        f"arn:aws:ecs:ap-northeast-1:123456789012:task/rails-app-cluster/{TASK_A}",
    ],
)
def test_a_whole_task_id_or_arn_selects_its_stream_by_name(task: str) -> None:
    query = logtail.build_query(NAMES, NOW - timedelta(hours=1), task=task)
    assert query.filter_request() == {
        "logGroupName": GROUP,
        "startTime": NOW_MS - 3_600_000,
        "logStreamNames": [STREAM_A],
    }
    assert query.live_request(GROUP_ARN) == {
        "logGroupIdentifiers": [GROUP_ARN],
        "logStreamNames": [STREAM_A],
    }


def test_the_first_characters_of_a_task_id_select_streams_by_prefix() -> None:
    query = logtail.build_query(NAMES, NOW - timedelta(minutes=10), task="3f2a9c1b")
    assert query.filter_request() == {
        "logGroupName": GROUP,
        "startTime": START_MS,
        "logStreamNamePrefix": "ecs/rails-app/3f2a9c1b",
    }
    assert query.live_request(GROUP_ARN) == {
        "logGroupIdentifiers": [GROUP_ARN],
        "logStreamNamePrefixes": ["ecs/rails-app/3f2a9c1b"],
    }
    # Checked again on our side: the sandbox emulator ignores logStreamNamePrefix.
    assert query.selects(_line(STREAM_A, NOW_MS, "x"))
    assert not query.selects(_line(STREAM_B, NOW_MS, "x"))


def test_process_keeps_that_process_streams_only(rails_app: Path) -> None:
    with (rails_app / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write('\n[processes.worker]\ncommand = ["bin/jobs"]\n')
    env = parse_project(tomllib.loads((rails_app / "hakobu.toml").read_text()), rails_app)
    env = env.environment(None)
    worker = logtail.process_stream_root(env, "worker")
    assert (worker, logtail.process_stream_root(env, "web")) == ("worker", "ecs")
    query = logtail.build_query(NAMES, NOW - timedelta(minutes=10), stream_root=worker)
    assert query.filter_request() == {
        "logGroupName": GROUP,
        "startTime": START_MS,
        "logStreamNamePrefix": "worker/",
    }
    assert query.selects(_line(f"worker/rails-app/{TASK_A}", NOW_MS, "x"))
    assert not query.selects(_line(STREAM_A, NOW_MS, "x"))  # web's
    # With --task, the task's stream under the process's own prefix.
    one = logtail.build_query(NAMES, NOW - timedelta(minutes=10), task=TASK_A, stream_root=worker)
    assert one.filter_request()["logStreamNames"] == [f"worker/rails-app/{TASK_A}"]
    with pytest.raises(OptionError) as raised:
        logtail.process_stream_root(env, "sidekiq")
    assert "no process named 'sidekiq'" in str(raised.value)
    assert raised.value.exit_code == 2


def test_cli_rejects_an_unknown_process_before_starting_the_sandbox(
    rails_app: Path, tmp_path: Path
) -> None:
    run = run_hakobu(
        "logs", "--sandbox", "--process", "jobs", cwd=rails_app, env=_dead_aws_env(tmp_path)
    )
    _assert_bad_input(run, "--process")
    assert "use one of: web" in run.stderr
    assert not (rails_app / ".hakobu").exists()  # no emulator was started


def test_an_empty_filter_is_no_filter() -> None:
    query = logtail.build_query(NAMES, NOW - timedelta(minutes=10), "")
    assert query.filter_request() == {"logGroupName": GROUP, "startTime": START_MS}


def test_stream_names_and_a_prefix_cannot_be_combined() -> None:
    with pytest.raises(ValueError):
        filter_request(GROUP, 0, stream_names=[STREAM_A], stream_prefix="ecs/")
    with pytest.raises(ValueError):
        live_tail_request(GROUP_ARN, stream_names=[STREAM_A], stream_prefix="ecs/")


# --- lines -----------------------------------------------------------------------------


def test_a_line_is_the_short_task_id_the_time_and_the_message() -> None:
    line = _line(STREAM_A, NOW_MS + 78, 'Started GET "/up" for 10.0.1.5')
    assert logtail.format_line(line) == (
        '3f2a9c1b 2025-05-01T12:00:00.078Z Started GET "/up" for 10.0.1.5'
    )


def test_a_stream_that_is_no_task_keeps_its_last_part() -> None:
    assert logtail.format_line(_line("manual/check", NOW_MS, "hi")) == (
        "check 2025-05-01T12:00:00.000Z hi"
    )


def test_times_are_shown_in_utc() -> None:
    jst = datetime(2025, 5, 1, 21, 0, 0, 123000, tzinfo=timezone(timedelta(hours=9)))
    assert logtail.timestamp_text(jst) == "2025-05-01T12:00:00.123Z"


def test_a_json_line_has_the_whole_task_id_and_iso_time() -> None:
    line = _line(STREAM_B, NOW_MS + 5, "エラー: ERROR timeout", event_id="1")
    assert json.loads(logtail.json_line(line)) == {
        "timestamp": "2025-05-01T12:00:00.005Z",
        "task": TASK_B,
        "stream": STREAM_B,
        "message": "エラー: ERROR timeout",
    }
    assert "\n" not in logtail.json_line(_line(STREAM_B, NOW_MS, "two\nlines"))


# --- reading a range ----------------------------------------------------------------------


class Sleeps:
    """An injected `sleep` that records each wait; raises KeyboardInterrupt at `interrupt_at`."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls: list[float] = []
        self.interrupt_at = interrupt_at

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.interrupt_at is not None and len(self.calls) >= self.interrupt_at:
            raise KeyboardInterrupt


@pytest.fixture
def logs() -> Iterator[tuple[Any, Stubber]]:
    client = _client()
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_read_pages_through_and_prints_newest_last(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    query = logtail.build_query(NAMES, NOW - timedelta(minutes=10))
    request = {"logGroupName": GROUP, "startTime": START_MS}
    stub.add_response(
        "filter_log_events",
        {
            "events": [
                _event("3", STREAM_B, NOW_MS - 1000, "b2"),
                _event("1", STREAM_A, NOW_MS - 3000, "a1"),
            ],
            "nextToken": "t1",
        },
        request,
    )
    stub.add_client_error(
        "filter_log_events",
        "ThrottlingException",
        "Rate exceeded",
        400,
        {**request, "nextToken": "t1"},
    )
    stub.add_response(
        "filter_log_events", {"events": [], "nextToken": "t2"}, {**request, "nextToken": "t1"}
    )
    stub.add_response(
        "filter_log_events",
        {"events": [_event("2", STREAM_A, NOW_MS - 2000, "a2")]},
        {**request, "nextToken": "t2"},
    )
    sleeps = Sleeps()
    lines = logtail.read_lines(client, query, sleep=sleeps, clock=lambda: 0.0)
    assert [line.message for line in lines] == ["a1", "a2", "b2"]
    assert sleeps.calls == [1.0]  # the throttled page, retried once after a second


def test_read_of_a_missing_log_group_says_to_run_up(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    stub.add_client_error(
        "filter_log_events",
        "ResourceNotFoundException",
        "The specified log group does not exist.",
        400,
    )
    with pytest.raises(HakobuError) as raised:
        logtail.read_lines(client, logtail.build_query(NAMES, NOW))
    assert raised.value.problem == f"the log group {GROUP} does not exist"
    assert "hakobu up" in (raised.value.fix or "")


def test_a_pattern_cloudwatch_rejects_is_an_error_naming_filter(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    stub.add_client_error(
        "filter_log_events", "InvalidParameterException", "Invalid filter pattern", 400
    )
    with pytest.raises(OptionError) as raised:
        logtail.read_lines(client, logtail.build_query(NAMES, NOW, "{$.level ="))
    assert raised.value.problem == (
        "--filter: CloudWatch Logs rejected the pattern '{$.level =': Invalid filter pattern"
    )
    assert raised.value.exit_code == 2


# --- following: polling when Live Tail is unavailable (Stubber) -----------------------------


def _describe_group(stub: Stubber) -> None:
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": GROUP, "arn": f"{GROUP_ARN}:*", "logGroupArn": GROUP_ARN}]},
        {"logGroupNamePrefix": GROUP},
    )


def _follower(
    client: Any, live: Any, sleeps: Sleeps, query: LogQuery | None = None
) -> tuple[Follower, list[LogLine], list[str]]:
    emitted: list[LogLine] = []
    notes: list[str] = []
    follower = Follower(
        logs=client,
        query=query or logtail.build_query(NAMES, NOW - timedelta(minutes=10)),
        emit=emitted.append,
        note=notes.append,
        live_logs=live,
        sleep=sleeps,
        clock=lambda: 0.0,
    )
    return follower, emitted, notes


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("AccessDeniedException", 400, "AccessDeniedException"),
        ("UnknownOperationException", 400, "UnknownOperationException"),
        ("500", 500, "HTTP 500"),  # what the sandbox emulator (moto) answers
    ],
)
def test_follow_polls_when_live_tail_is_unavailable(
    logs: tuple[Any, Stubber], code: str, status: int, reason: str
) -> None:
    client, stub = logs
    live = _client()
    with Stubber(live) as live_stub:
        # Throttled first: retried, never fatal; then refused: polling from then on.
        live_stub.add_client_error("start_live_tail", "ThrottlingException", "slow down", 400)
        live_stub.add_client_error("start_live_tail", code, "no Live Tail", status)
        _describe_group(stub)
        _poll(
            stub,
            START_MS,
            [
                _event("1", STREAM_A, NOW_MS - 3000, "a1"),
                _event("2", STREAM_B, NOW_MS - 2000, "b1"),
            ],
        )
        # Every later poll re-reads from 10 s before the newest line seen (late arrivals).
        stub.add_client_error(
            "filter_log_events",
            "ThrottlingException",
            "Rate exceeded",
            400,
            _poll_request(NOW_MS - 12000),
        )
        _poll(
            stub,
            NOW_MS - 12000,
            [
                _event("2", STREAM_B, NOW_MS - 2000, "b1"),
                _event("4", STREAM_B, NOW_MS - 500, "b2"),
                _event("3", STREAM_A, NOW_MS - 2500, "a2 arrived late"),
            ],
        )
        _poll(stub, NOW_MS - 10500, [_event("4", STREAM_B, NOW_MS - 500, "b2")])
        sleeps = Sleeps(interrupt_at=5)
        follower, emitted, notes = _follower(client, live, sleeps)
        follower.run()  # returns on the KeyboardInterrupt, does not raise it
        live_stub.assert_no_pending_responses()
    assert [line.message for line in emitted] == ["a1", "b1", "a2 arrived late", "b2"]
    assert notes == [f"Live Tail is unavailable here ({reason}); polling every 2 s instead."]
    # start_live_tail throttled (1 s), poll, 2 s, throttled poll (1 s), poll, 2 s, poll, 2 s.
    assert sleeps.calls == [1.0, 2.0, 1.0, 2.0, 2.0]
    assert follower.live_logs is None


def _poll_request(start_ms: int, pattern: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"logGroupName": GROUP, "startTime": start_ms}
    return {**request, "filterPattern": pattern} if pattern else request


def _poll(
    stub: Stubber, start_ms: int, events: list[dict[str, Any]], pattern: str | None = None
) -> None:
    stub.add_response("filter_log_events", {"events": events}, _poll_request(start_ms, pattern))


def test_follow_without_live_tail_polls_from_the_start(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    _poll(stub, START_MS, [])
    _poll(stub, START_MS, [_event("1", STREAM_A, NOW_MS, "first")])
    follower, emitted, notes = _follower(client, None, Sleeps(interrupt_at=2))
    follower.run()
    assert [line.message for line in emitted] == ["first"]
    assert notes == []


def test_follow_passes_on_errors_that_are_not_about_live_tail(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    live = _client()
    with Stubber(live) as live_stub:
        live_stub.add_client_error(
            "start_live_tail", "UnrecognizedClientException", "bad token", 400
        )
        _describe_group(stub)
        follower, _, _ = _follower(client, live, Sleeps())
        with pytest.raises(ClientError):
            follower.run()


def test_follow_of_a_missing_log_group_says_to_run_up(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    stub.add_response("describe_log_groups", {"logGroups": []}, {"logGroupNamePrefix": GROUP})
    follower, _, _ = _follower(client, _client(), Sleeps())
    with pytest.raises(HakobuError, match="does not exist"):
        follower.run()


def test_which_errors_mean_live_tail_is_unavailable() -> None:
    def error(code: str, status: int = 400) -> ClientError:
        response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return ClientError(response, "StartLiveTail")

    assert logtail.live_tail_unavailable(EndpointConnectionError(endpoint_url="https://x"))
    assert logtail.live_tail_unavailable(error("AccessDeniedException"))
    assert logtail.live_tail_unavailable(error("InvalidOperationException"))
    assert logtail.live_tail_unavailable(error("LimitExceededException"))
    assert logtail.live_tail_unavailable(error("InternalFailure", 503))
    assert not logtail.live_tail_unavailable(error("ThrottlingException"))
    assert not logtail.live_tail_unavailable(error("ResourceNotFoundException"))
    assert not logtail.live_tail_unavailable(error("InvalidParameterException"))
    assert not logtail.live_tail_unavailable(KeyError("x"))


# --- de-duplication --------------------------------------------------------------------------


def test_seen_knows_polled_events_by_id_and_live_events_by_content() -> None:
    seen = Seen()
    polled = _line(STREAM_A, NOW_MS, "same", event_id="1")
    twin = _line(STREAM_A, NOW_MS, "same", event_id="2")  # a second, identical line
    assert seen.fresh(polled)
    assert not seen.fresh(polled)
    assert seen.fresh(twin)
    assert not seen.fresh(_line(STREAM_A, NOW_MS, "same"))  # the same event from Live Tail
    live = _line(STREAM_B, NOW_MS, "pushed")
    assert seen.fresh(live)
    assert not seen.fresh(live)
    assert not seen.fresh(_line(STREAM_B, NOW_MS, "pushed", event_id="9"))  # then polled
    seen.forget_before(NOW_MS + 1)
    assert seen.fresh(polled)


# --- following with Live Tail -----------------------------------------------------------------


def test_the_stubber_cannot_represent_a_live_tail_stream() -> None:
    with Stubber(_client()) as stub, pytest.raises(ParamValidationError):
        stub.add_response("start_live_tail", {"responseStream": [{"sessionStart": {}}]})


def test_session_lines_reads_session_updates() -> None:
    events = [
        {"sessionStart": {"requestId": "r", "sessionId": "s", "logGroupIdentifiers": [GROUP_ARN]}},
        {
            "sessionUpdate": {
                "sessionMetadata": {"sampled": False},
                "sessionResults": [
                    {
                        "logStreamName": STREAM_B,
                        "logGroupIdentifier": GROUP_ARN,
                        "message": "b\n",
                        "timestamp": NOW_MS + 5,
                        "ingestionTime": NOW_MS + 900,
                    },
                    {
                        "logStreamName": STREAM_A,
                        "logGroupIdentifier": GROUP_ARN,
                        "message": "a",
                        "timestamp": NOW_MS,
                        "ingestionTime": NOW_MS + 800,
                    },
                ],
            }
        },
        {"sessionUpdate": {"sessionMetadata": {"sampled": True}, "sessionResults": []}},
    ]
    assert list(session_lines(events)) == [
        LiveUpdate(lines=[_line(STREAM_A, NOW_MS, "a"), _line(STREAM_B, NOW_MS + 5, "b")]),
        LiveUpdate(lines=[], sampled=True),
    ]


def _message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of AWS's event-stream encoding (prelude, string headers, payload, CRCs)."""
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value))
        + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _stream_event(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": kind, ":content-type": "application/json"}
    return _message(headers, json.dumps(payload).encode())


def _stream_error(kind: str) -> bytes:
    headers = {
        ":message-type": "exception",
        ":exception-type": kind,
        ":content-type": "application/json",
    }
    return _message(headers, json.dumps({"message": kind}).encode())


def _update(*results: tuple[str, int, str], sampled: bool = False) -> bytes:
    return _stream_event(
        "sessionUpdate",
        {
            "sessionMetadata": {"sampled": sampled},
            "sessionResults": [
                {
                    "logStreamName": s,
                    "logGroupIdentifier": GROUP_ARN,
                    "message": m,
                    "timestamp": t,
                    "ingestionTime": t + 900,
                }
                for s, t, m in results
            ],
        },
    )


class RawStream:
    """The HTTP body of a Live Tail answer: its bytes in small chunks, then maybe Ctrl-C."""

    def __init__(self, messages: list[bytes], interrupt: bool) -> None:
        self.data = (
            _stream_event("initial-response", {})
            + _stream_event("sessionStart", {"requestId": "r", "sessionId": "s"})
            + b"".join(messages)
        )
        self.interrupt = interrupt
        self.closed = False

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        for i in range(0, len(self.data), 37):
            yield self.data[i : i + 37]
        if self.interrupt:
            raise KeyboardInterrupt  # Ctrl-C while waiting for the next update

    def close(self) -> None:
        self.closed = True


class LiveTail:
    """A real Logs client whose StartLiveTail answers come from `sessions`, one per call."""

    def __init__(self, sessions: list[RawStream]) -> None:
        self.client = _client()
        self.sessions = sessions
        self.requests: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.client.meta.events.register("before-send.logs.StartLiveTail", self._answer)

    def _answer(self, request: Any, **kwargs: Any) -> AWSResponse:
        self.urls.append(request.url)
        self.requests.append(json.loads(request.body))
        raw = self.sessions[len(self.requests) - 1]
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        return AWSResponse(request.url, 200, headers, raw)


def test_follow_with_live_tail_prints_caught_up_then_pushed_lines_once(
    logs: tuple[Any, Stubber],
) -> None:
    client, stub = logs
    session = RawStream(
        [
            _update((STREAM_B, NOW_MS - 2000, "b1"), (STREAM_A, NOW_MS + 100, "a2")),
            _update(),
            _update((STREAM_B, NOW_MS + 700, "b2"), sampled=True),
            _update((STREAM_A, NOW_MS + 900, "a3"), sampled=True),
        ],
        interrupt=True,
    )
    live = LiveTail([session])
    _describe_group(stub)
    # The session is open before this read; "b1" is in both and printed once.
    caught_up = [
        _event("1", STREAM_A, NOW_MS - 3000, "a1"),
        _event("2", STREAM_B, NOW_MS - 2000, "b1"),
    ]
    _poll(stub, NOW_MS - 60_000, caught_up, pattern="ERROR")
    query = logtail.build_query(NAMES, NOW - timedelta(minutes=1), "ERROR")
    follower, emitted, notes = _follower(client, live.client, Sleeps(), query)
    follower.run()
    assert [line.message for line in emitted] == ["a1", "b1", "a2", "b2", "a3"]
    assert live.requests == [{"logGroupIdentifiers": [GROUP_ARN], "logEventFilterPattern": "ERROR"}]
    assert live.urls == ["https://stream-logs.ap-northeast-1.amazonaws.com/"]
    assert session.closed
    assert len(notes) == 1 and notes[0].startswith("More than 500 lines per second match")


def test_follow_opens_a_new_session_when_one_times_out(logs: tuple[Any, Stubber]) -> None:
    client, stub = logs
    first = RawStream(
        [_update((STREAM_A, NOW_MS, "a1")), _stream_error("SessionTimeoutException")],
        interrupt=False,
    )
    second = RawStream([_update((STREAM_A, NOW_MS + 3000, "a3"))], interrupt=True)
    live = LiveTail([first, second])
    _describe_group(stub)  # once: the ARN is kept
    _poll(stub, START_MS, [])
    # Between the sessions: caught up from 10 s before the newest line; "a1" known, "a2" new.
    _poll(
        stub,
        NOW_MS - 10_000,
        [_event("1", STREAM_A, NOW_MS, "a1"), _event("2", STREAM_A, NOW_MS + 1000, "a2")],
    )
    sleeps = Sleeps()
    follower, emitted, notes = _follower(client, live.client, sleeps)
    follower.run()
    assert [line.message for line in emitted] == ["a1", "a2", "a3"]
    assert len(live.requests) == 2
    assert first.closed and second.closed
    assert sleeps.calls == [2.0]
    assert notes == []
