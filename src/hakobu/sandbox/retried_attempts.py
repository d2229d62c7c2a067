"""A retried attempt of an AWS SDK call gets the answer its first attempt got.

Every AWS SDK (botocore, and the Go SDK inside Terraform's provider) sends one
`amz-sdk-invocation-id` for all the attempts of one call. When an attempt's answer does
not reach it in time, the SDK sends the call again. AWS itself mostly survives that
(client tokens, or a second call that finds the work done); moto applies the call a second
time and refuses it: `InvalidPermission.Duplicate` for a security-group rule it has just
added, `ListenerNotFound` for a listener it has just deleted, a DB cluster's automated
snapshot "already exists". On a loaded machine the provider retried such calls often
enough to fail one `up` or `destroy` in three.

So the emulator remembers each changing call's answer by its invocation id, and answers a
later attempt with it (waiting for the first attempt if that is still being served). Reads
are left alone, and so are answers AWS's SDKs retry because of what they say (5xx,
throttling): those attempts run again, as on AWS.

Each replayed attempt writes one line to the emulator's log (`.hakobu/sandbox.log`): the
operation, the invocation id, the SDK's `amz-sdk-request` attempt count and the status
replayed. Never a request body, a header with credentials, or an answer: the line is what
shows that an SDK really sent a call again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

INVOCATION_HEADER = "HTTP_AMZ_SDK_INVOCATION_ID"
ATTEMPT_HEADER = "HTTP_AMZ_SDK_REQUEST"  # "attempt=2; max=3", from botocore and the Go SDK
TARGET_HEADER = "HTTP_X_AMZ_TARGET"  # JSON protocols: "AmazonEC2ContainerServiceV20141113.X"
REPLAYED = "replayed a retried attempt"  # what each log line starts with (sandbox status counts)
READS = ("GET", "HEAD", "OPTIONS")
REMEMBERED = 4096  # calls; a few minutes of a busy apply
LARGEST_ANSWER = 1 << 20  # bytes: bigger answers are not kept (nothing changing is that big)
FIRST_ATTEMPT_WAIT = 300.0  # seconds a second attempt waits for the first one's answer
THROTTLED = ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests")

_LOG = logging.getLogger(__name__)
_FORM = "application/x-www-form-urlencoded"
_LONGEST_FIELD = 128  # characters of a header value or an Action the log keeps
_UNSAFE = re.compile(r"[^A-Za-z0-9._:;=/ -]")  # nothing that could forge a second log line

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class _Answer:
    done: threading.Event = field(default_factory=threading.Event)
    status: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    replayable: bool = False


class RetriedAttempts:
    """WSGI middleware in front of moto's application."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, _Answer] = OrderedDict()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        invocation = environ.get(INVOCATION_HEADER)
        if not invocation or environ.get("REQUEST_METHOD", "GET") in READS:
            return self._app(environ, start_response)
        answer, first = self._claim(invocation)
        if not first:
            if answer.done.wait(FIRST_ATTEMPT_WAIT) and answer.replayable:
                _log_replayed(environ, invocation, answer.status)
                start_response(answer.status, answer.headers)
                return [answer.body]
            return self._app(environ, start_response)  # served again, as AWS would
        try:
            return self._serve(answer, environ, start_response)
        finally:
            answer.done.set()

    def _claim(self, invocation: str) -> tuple[_Answer, bool]:
        with self._lock:
            found = self._answers.get(invocation)
            if found is not None:
                return found, False
            answer = self._answers[invocation] = _Answer()
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)
            return answer, True

    def _serve(
        self, answer: _Answer, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def recording_start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            seen["status"], seen["headers"] = status, list(headers)
            return start_response(status, headers, *rest)

        chunks = self._app(environ, recording_start)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status = str(seen.get("status", ""))
        answer.status, answer.headers, answer.body = status, seen.get("headers", []), body
        answer.replayable = _replayable(status, body)
        return [body]


def _replayable(status: str, body: bytes) -> bool:
    """An answer the SDK would not retry because of what it says."""
    code = int(status.split(" ", 1)[0]) if status[:3].isdigit() else 500
    if code >= 500 or code == 429 or len(body) > LARGEST_ANSWER:
        return False
    return not any(name.encode() in body for name in THROTTLED)


def _log_replayed(environ: dict[str, Any], invocation: str, status: str) -> None:
    _LOG.info(
        "%s: %s, invocation %s, amz-sdk-request %s: answered %s again",
        REPLAYED,
        _operation(environ),
        _clean(invocation),
        _clean(environ.get(ATTEMPT_HEADER, "")) or "(none)",
        _clean(status),
    )


def _operation(environ: dict[str, Any]) -> str:
    """The call's name: X-Amz-Target (JSON protocols), the query's or the form's Action (EC2,
    RDS, ELB, IAM...), else the method and path (REST protocols). Only that one field of a
    form is kept; the attempt is not served, so reading its body here takes nothing from moto."""
    target = environ.get(TARGET_HEADER)
    if target:
        return _clean(target)
    action = _action(environ.get("QUERY_STRING", "").encode())
    if action is None and environ.get("CONTENT_TYPE", "").startswith(_FORM):
        action = _action(_body(environ))
    if action is not None:
        return action
    return _clean(f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}")


def _action(form: bytes) -> str | None:
    for pair in form.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"Action":
            return _clean(unquote_plus(value.decode("ascii", "replace")))
    return None


def _body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    stream = environ.get("wsgi.input")
    return stream.read(min(length, LARGEST_ANSWER)) if stream is not None and length > 0 else b""


def _clean(value: str) -> str:
    return _UNSAFE.sub("?", str(value))[:_LONGEST_FIELD]
