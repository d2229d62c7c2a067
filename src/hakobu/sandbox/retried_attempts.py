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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

INVOCATION_HEADER = "HTTP_AMZ_SDK_INVOCATION_ID"
READS = ("GET", "HEAD", "OPTIONS")
REMEMBERED = 4096  # calls; a few minutes of a busy apply
LARGEST_ANSWER = 1 << 20  # bytes: bigger answers are not kept (nothing changing is that big)
FIRST_ATTEMPT_WAIT = 300.0  # seconds a second attempt waits for the first one's answer
THROTTLED = ("Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests")

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
