"""The Application Load Balancer on 127.0.0.1: one listener, one target group.

It follows ALB's documented behaviour:
- Health checks: GET `path` every `interval_s` (the next one is due an interval after the
  previous was sent, however long it took), failing after `timeout_s`; a response passes
  when its status is in `matcher` ("200", "200-399", "200,302").
- A registered target is `initial` (Elb.RegistrationInProgress, then
  Elb.InitialHealthChecking). As AWS documents, a newly registered target must pass one
  health check to be healthy; `unhealthy_threshold` consecutive failures make it
  unhealthy (Target.ResponseCodeMismatch, Target.Timeout or Target.FailedHealthChecks);
  an unhealthy target needs `healthy_threshold` consecutive passes to be healthy again.
- Requests go to healthy targets, round robin. If every registered target is unhealthy
  the group fails open: requests go to all of them. Initial targets get no requests; with no
  target to route to, the answer is 503. A target that refuses or breaks a request gives
  502; one that does not answer within `request_timeout_s` (ALB's idle timeout) gives 504.
- `deregister` makes a target `draining` (Target.DeregistrationInProgress): no new request
  is routed to it once `deregister` returns (routing and deregistering share one lock) while
  requests already routed finish. It is removed when none is left in flight (ALB completes
  a drain at once then) or after `deregistration_delay_s`, whichever comes first.
- Requests are proxied as HTTP/1.1: the client's Host header, keep-alive, chunked or sized
  bodies both ways, and ALB's X-Forwarded-For / -Proto / -Port and X-Amzn-Trace-Id.

`clock` decides when checks are due and drains expire; tests may pass a fake one.
"""

from __future__ import annotations

import contextlib
import http.client
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hakobu.core.errors import HakobuError

LOOPBACK = "127.0.0.1"
TICK_S = 0.02  # how often due checks and expired drains are looked at
REQUEST_TIMEOUT_S = 60.0  # ALB's default idle timeout
CHUNK = 64 * 1024
HEALTH_CHECK_AGENT = "ELB-HealthChecker/2.0"
# Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, never forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
     "trailer", "transfer-encoding", "upgrade", "proxy-connection"}
)  # fmt: skip
# Not forwarded either: this proxy answers `Expect: 100-continue` itself (the server does).
NOT_FORWARDED = HOP_BY_HOP | {"content-length", "expect"}
NO_BODY_STATUSES = frozenset({204, 304})

REGISTRATION = ("Elb.RegistrationInProgress", "Target registration is in progress")
INITIAL_CHECKS = ("Elb.InitialHealthChecking", "Initial health checks in progress")
DRAINING = ("Target.DeregistrationInProgress", "Target deregistration is in progress")

Clock = Callable[[], float]


@dataclass(frozen=True)
class HealthCheck:
    path: str = "/"
    interval_s: float = 30
    timeout_s: float = 5
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"

    def matches(self, status: int) -> bool:
        """`matcher` as ALB reads it: codes and ranges, comma separated."""
        for part in self.matcher.replace(" ", "").split(","):
            low, _, high = part.partition("-")
            if low.isdigit() and int(low) <= status <= int(high or low):
                return True
        return False


@dataclass(frozen=True)
class TargetState:
    state: str  # initial | healthy | unhealthy | draining | unused
    reason: str | None
    description: str | None


@dataclass
class _Target:
    id: str
    host: str
    port: int
    generation: int
    health: TargetState = field(default_factory=lambda: TargetState("initial", *REGISTRATION))
    passes: int = 0
    failures: int = 0
    next_check: float = 0.0
    checking: bool = False
    in_flight: int = 0
    drain_deadline: float | None = None


class LoadBalancer:
    """A listener on 127.0.0.1 in front of one target group."""

    def __init__(
        self,
        health_check: HealthCheck,
        deregistration_delay_s: float = 300,
        clock: Clock = time.monotonic,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.health_check = health_check
        self.deregistration_delay_s = deregistration_delay_s
        self.request_timeout_s = request_timeout_s
        self.port: int | None = None
        self._clock = clock
        self._lock = threading.Condition()
        self._targets: dict[str, _Target] = {}
        self._generation = 0
        self._turn = 0
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:`port` (0: a free one); returns the port."""
        handler = type("Handler", (_ProxyHandler,), {"balancer": self})
        try:
            self._server = ThreadingHTTPServer((LOOPBACK, port), handler)
        except OSError as exc:
            raise HakobuError(
                f"the sandbox load balancer cannot listen on {LOOPBACK}:{port}: {exc}",
                "choose another port, or stop what listens there",
            ) from exc
        self.port = int(self._server.server_address[1])
        for target, name in ((self._server.serve_forever, "listener"), (self._run, "checks")):
            thread = threading.Thread(target=target, name=f"lb-{self.port}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self.port

    def stop(self) -> None:
        """Stop listening, close client connections, end health checks."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)

    # --- the target group ------------------------------------------------------------------

    def register(self, target_id: str, host: str, port: int) -> None:
        """Add a target (again, if it was there): `initial`, checked at once."""
        with self._lock:
            self._generation += 1
            self._targets[target_id] = _Target(
                target_id, host, port, self._generation, next_check=self._clock()
            )

    def deregister(self, target_id: str) -> None:
        """Start draining: once this returns, no new request goes to the target."""
        with self._lock:
            target = self._targets.get(target_id)
            if target is None or target.drain_deadline is not None:
                return
            target.health = TargetState("draining", *DRAINING)
            target.drain_deadline = self._clock() + self.deregistration_delay_s
            self._finish_drain_if_idle(target)

    def states(self) -> dict[str, TargetState]:
        """Each registered target's health, as describe-target-health shows it."""
        with self._lock:
            return {target_id: t.health for target_id, t in self._targets.items()}

    def drained(self, target_id: str, timeout_s: float) -> bool:
        """Wait until `target_id` has left the group (drained); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: target_id not in self._targets, timeout_s)

    def set_health_check(self, hc: HealthCheck) -> None:
        with self._lock:
            self.health_check = hc

    def set_deregistration_delay(self, seconds: float) -> None:
        """For targets deregistered from now on (a drain under way keeps its deadline)."""
        with self._lock:
            self.deregistration_delay_s = seconds

    # --- routing ---------------------------------------------------------------------------

    def _route(self) -> _Target | None:
        """The next target for a request (counted in flight), or None: answer 503."""
        with self._lock:
            serving = [t for t in self._targets.values() if t.drain_deadline is None]
            healthy = [t for t in serving if t.health.state == "healthy"]
            if not healthy and serving and all(t.health.state == "unhealthy" for t in serving):
                healthy = serving  # fail open, as ALB does when every target is unhealthy
            if not healthy:
                return None
            target = healthy[self._turn % len(healthy)]
            self._turn += 1
            target.in_flight += 1
            return target

    def _done(self, target: _Target) -> None:
        with self._lock:
            target.in_flight -= 1
            if target.drain_deadline is not None:
                self._finish_drain_if_idle(target)

    def _finish_drain_if_idle(self, target: _Target) -> None:
        # Called with the lock held.
        idle = target.in_flight == 0 or self._clock() >= (target.drain_deadline or 0)
        if idle and self._targets.get(target.id) is target:
            del self._targets[target.id]
            self._lock.notify_all()

    # --- health checks ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.wait(TICK_S):
            with self._lock:
                now = self._clock()
                for target in list(self._targets.values()):
                    if target.drain_deadline is not None:
                        self._finish_drain_if_idle(target)
                    elif not target.checking and now >= target.next_check:
                        target.checking = True
                        target.next_check = now + self.health_check.interval_s
                        self._spawn_check(target, self.health_check)

    def _spawn_check(self, target: _Target, hc: HealthCheck) -> None:
        def check() -> None:
            result = probe(target.host, target.port, hc)
            with self._lock:
                target.checking = False
                if self._targets.get(target.id) is target and target.drain_deadline is None:
                    self._record(target, result, hc)

        threading.Thread(target=check, name=f"lb-check-{target.id}", daemon=True).start()

    def _record(self, target: _Target, failure: TargetState | None, hc: HealthCheck) -> None:
        """Apply one check's result (None: it passed) to the target's state."""
        state = target.health.state
        if failure is None:
            target.passes, target.failures = target.passes + 1, 0
            if state == "initial" or (
                state == "unhealthy" and target.passes >= hc.healthy_threshold
            ):
                target.health = TargetState("healthy", None, None)
            return
        target.passes, target.failures = 0, target.failures + 1
        if state == "unhealthy" or target.failures >= hc.unhealthy_threshold:
            target.health = failure
        elif state == "initial":
            target.health = TargetState("initial", *INITIAL_CHECKS)


def probe(host: str, port: int, hc: HealthCheck) -> TargetState | None:
    """One health check: None when it passes, else the unhealthy state it would mean."""
    connection = http.client.HTTPConnection(host, port, timeout=hc.timeout_s)
    try:
        connection.putrequest("GET", hc.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"{host}:{port}")  # ALB sends the target's address
        connection.putheader("User-Agent", HEALTH_CHECK_AGENT)
        connection.putheader("Connection", "close")
        connection.endheaders()
        response = connection.getresponse()
        response.read()
    except TimeoutError:
        return TargetState("unhealthy", "Target.Timeout", "Request timed out")
    except (OSError, http.client.HTTPException):
        return TargetState("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
    finally:
        connection.close()
    if hc.matches(response.status):
        return None
    return TargetState(
        "unhealthy",
        "Target.ResponseCodeMismatch",
        f"Health checks failed with these codes: [{response.status}]",
    )


class _ProxyHandler(BaseHTTPRequestHandler):
    """One client connection: each request is routed on its own, as ALB does."""

    balancer: LoadBalancer
    protocol_version = "HTTP/1.1"  # keep-alive with clients

    def setup(self) -> None:
        super().setup()
        with self.balancer._lock:
            self.balancer._connections.add(self.connection)

    def finish(self) -> None:
        with self.balancer._lock:
            self.balancer._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the library never prints; the target logs its own requests

    def do_GET(self) -> None:
        self._proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _proxy(self) -> None:
        try:
            body = self._request_body()
        except (ValueError, OSError):
            self._error(400, "Bad Request")
            return
        target = self.balancer._route()
        if target is None:
            self._error(503, "Service Temporarily Unavailable")
            return
        try:
            self._forward(target, body)
        finally:
            self.balancer._done(target)

    def _forward(self, target: _Target, body: bytes | None) -> None:
        upstream = http.client.HTTPConnection(
            target.host, target.port, timeout=self.balancer.request_timeout_s
        )
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self._upstream_headers(body):
                upstream.putheader(name, value)
            upstream.endheaders(body)
            response = upstream.getresponse()
        except TimeoutError:
            self._error(504, "Gateway Time-out")
            return
        except (OSError, http.client.HTTPException):
            self._error(502, "Bad Gateway")
            return
        try:
            self._relay(response)
        except (OSError, http.client.HTTPException):
            # Headers may be out already: only closing tells the client it broke.
            self.close_connection = True
        finally:
            upstream.close()

    def _request_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length is not None else None

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers end with an empty line
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _upstream_headers(self, body: bytes | None) -> list[tuple[str, str]]:
        headers = [
            (name, value)
            for name, value in self.headers.items()
            if name.lower() not in NOT_FORWARDED and not name.lower().startswith("x-forwarded-")
        ]  # fmt: skip
        client = self.client_address[0]
        earlier = self.headers.get("X-Forwarded-For")
        headers += [
            ("X-Forwarded-For", f"{earlier}, {client}" if earlier else client),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", str(self.balancer.port)),
            ("Connection", "close"),  # one upstream connection per request: in flight = open
        ]
        if "X-Amzn-Trace-Id" not in self.headers:
            headers.append(("X-Amzn-Trace-Id", trace_id()))
        if body is not None:
            headers.append(("Content-Length", str(len(body))))
        return headers

    def _relay(self, response: http.client.HTTPResponse) -> None:
        has_body = self.command != "HEAD" and response.status not in NO_BODY_STATUSES
        has_body = has_body and response.status >= 200
        length = response.getheader("Content-Length")
        chunked = has_body and length is None and self.request_version == "HTTP/1.1"
        if has_body and length is None and not chunked:
            self.close_connection = True  # an HTTP/1.0 client: the end of the body is EOF
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        while has_body and (data := response.read1(CHUNK)):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _error(self, status: int, reason: str) -> None:
        """ALB's own answer when no target can: a small HTML page."""
        page = (
            f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
        ).encode()
        self.send_response_only(status, reason)
        self.send_header("Server", "awselb/2.0")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page)
        self.wfile.flush()


def trace_id() -> str:
    """ALB's X-Amzn-Trace-Id: Root=1-<epoch seconds, hex>-<96 random bits, hex>."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
