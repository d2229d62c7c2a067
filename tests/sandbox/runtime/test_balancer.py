"""The load balancer against real HTTP targets on 127.0.0.1 (in-process servers).

Health checks run every 50 ms here, so state changes take a fraction of a second; every
wait polls a condition with a generous deadline, never a guessed sleep.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hakobu.sandbox.runtime.balancer import HealthCheck, LoadBalancer, TargetState
from tests.support.images import wait_until

FAST = HealthCheck(path="/health", interval_s=0.05, timeout_s=2, healthy_threshold=3,
                   unhealthy_threshold=2, matcher="200")  # fmt: skip


class Backend:
    """A target: answers with its name; its health, slowness and failures are switches."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.health_status = 200
        self.health_delay = threading.Event()  # set: /health hangs (a timeout)
        self.release = threading.Event()  # /slow waits for it
        self.slow_started = threading.Event()
        self.requests: list[dict[str, object]] = []  # every non-health request received
        self.health_checks: list[int] = []  # status of each health check answered
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._health()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                with backend.lock:
                    backend.requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                    )
                if self.path == "/crash":
                    self.connection.shutdown(socket.SHUT_RDWR)  # no response at all
                    self.close_connection = True
                    return
                if self.path == "/slow":
                    backend.slow_started.set()
                    backend.release.wait(30)
                if self.path == "/chunked":
                    self._chunked([b"hello ", b"from ", backend.name.encode()])
                    return
                self._send(200, json.dumps({
                    "target": backend.name, "method": self.command, "body": body,
                    "headers": dict(self.headers.items()),
                }).encode())  # fmt: skip

            do_POST = do_HEAD = do_GET

            def _health(self) -> None:
                if backend.health_delay.is_set():
                    backend.release.wait(30)
                status = backend.health_status
                with backend.lock:
                    backend.health_checks.append(status)
                self._send(status, b"health")

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _chunked(self, parts: list[bytes]) -> None:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for part in parts:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")

        return Handler

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backends() -> Iterator[dict[str, Backend]]:
    made = {name: Backend(name) for name in ("a", "b", "c")}
    yield made
    for backend in made.values():
        backend.stop()


@pytest.fixture
def lb() -> Iterator[LoadBalancer]:
    balancer = LoadBalancer(FAST, deregistration_delay_s=30)
    yield balancer
    balancer.stop()


def request(port: int, method: str = "GET", path: str = "/", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def target_of(port: int) -> str:
    status, body = request(port)
    assert status == 200, body
    return str(json.loads(body)["target"])


def healthy(lb: LoadBalancer, *ids: str) -> bool:
    states = lb.states()
    return all(states.get(i, TargetState("?", None, None)).state == "healthy" for i in ids)


def state_of(lb: LoadBalancer, target_id: str, state: str) -> TargetState | None:
    current = lb.states().get(target_id)
    return current if current is not None and current.state == state else None


# --- pure --------------------------------------------------------------------------------


def test_matcher_reads_codes_ranges_and_lists_as_alb_does() -> None:
    assert HealthCheck(matcher="200").matches(200) and not HealthCheck().matches(204)
    assert all(HealthCheck(matcher="200-399").matches(code) for code in (200, 302, 399))
    assert not HealthCheck(matcher="200-399").matches(404)
    assert HealthCheck(matcher="200,302").matches(302)
    assert not HealthCheck(matcher="200,302").matches(301)


# --- health and routing ------------------------------------------------------------------


def test_a_new_target_is_initial_then_healthy_after_one_passing_check(
    lb: LoadBalancer, backends: dict[str, Backend]
) -> None:
    lb.register("a", "127.0.0.1", backends["a"].port)
    # Registered before the listener starts: no check has run yet.
    assert lb.states() == {
        "a": TargetState("initial", "Elb.RegistrationInProgress",
                         "Target registration is in progress"),
    }  # fmt: skip
    port = lb.start()
    wait_until(lambda: healthy(lb, "a"), "target a to be healthy")
    assert backends["a"].health_checks[:1] == [200]
    assert target_of(port) == "a"


def test_requests_go_round_robin_to_healthy_targets_only(
    lb: LoadBalancer, backends: dict[str, Backend]
) -> None:
    backends["c"].health_status = 404
    port = lb.start()
    for name, backend in backends.items():
        lb.register(name, "127.0.0.1", backend.port)
    wait_until(lambda: healthy(lb, "a", "b"), "a and b to be healthy")
    unhealthy = wait_until(lambda: state_of(lb, "c", "unhealthy"), "c to be unhealthy")
    assert unhealthy == TargetState(
        "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [404]"
    )
    served = [target_of(port) for _ in range(10)]
    assert sorted(set(served)) == ["a", "b"]
    assert all(x != y for x, y in itertools.pairwise(served))  # they alternate
    assert backends["c"].requests == []


def test_a_failing_target_goes_unhealthy_after_the_threshold_and_back_after_its_passes(
    lb: LoadBalancer, backends: dict[str, Backend]
) -> None:
    port = lb.start()
    lb.register("a", "127.0.0.1", backends["a"].port)
    lb.register("b", "127.0.0.1", backends["b"].port)
    wait_until(lambda: healthy(lb, "a", "b"), "both healthy")
    backends["a"].health_status = 500
    wait_until(lambda: state_of(lb, "a", "unhealthy"), "a to be unhealthy")
    failed = [s for s in backends["a"].health_checks if s == 500]
    assert len(failed) >= FAST.unhealthy_threshold
    assert {target_of(port) for _ in range(6)} == {"b"}
    # Back to passing: healthy only after healthy_threshold passes in a row.
    with backends["a"].lock:
        seen = len(backends["a"].health_checks)
    backends["a"].health_status = 200
    wait_until(lambda: healthy(lb, "a"), "a to be healthy again")
    with backends["a"].lock:
        passes_since = backends["a"].health_checks[seen:].count(200)
    assert passes_since >= FAST.healthy_threshold
    assert {target_of(port) for _ in range(6)} == {"a", "b"}


def test_a_check_that_does_not_answer_in_time_is_a_timeout(backends: dict[str, Backend]) -> None:
    backends["a"].health_delay.set()
    balancer = LoadBalancer(HealthCheck("/health", 0.05, 0.2, 3, 2))
    try:
        balancer.start()
        balancer.register("a", "127.0.0.1", backends["a"].port)
        assert wait_until(lambda: state_of(balancer, "a", "unhealthy"), "a timing out") == (
            TargetState("unhealthy", "Target.Timeout", "Request timed out")
        )
    finally:
        balancer.stop()


def test_a_target_that_refuses_connections_failed_its_checks(lb: LoadBalancer) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]  # nothing listens once this closes
    lb.start()
    lb.register("dead", "127.0.0.1", dead_port)
    # One failure (below the threshold of 2) keeps it initial, then it goes unhealthy.
    assert wait_until(lambda: state_of(lb, "dead", "unhealthy"), "dead unhealthy") == (
        TargetState("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
    )


def test_every_target_unhealthy_fails_open(lb: LoadBalancer, backends: dict[str, Backend]) -> None:
    for backend in backends.values():
        backend.health_status = 503
    port = lb.start()
    for name, backend in backends.items():
        lb.register(name, "127.0.0.1", backend.port)
    wait_until(
        lambda: all(s.state == "unhealthy" for s in lb.states().values()) and len(lb.states()) == 3,
        "all three unhealthy",
    )
    assert {target_of(port) for _ in range(9)} == {"a", "b", "c"}


def test_no_target_to_route_to_answers_503(lb: LoadBalancer, backends: dict[str, Backend]) -> None:
    port = lb.start()
    status, body = request(port)
    assert status == 503 and b"503 Service Temporarily Unavailable" in body
    # Only initial targets (one failure so far, below the threshold): still nobody to serve.
    lb.set_health_check(HealthCheck("/health", 0.05, 2, 3, unhealthy_threshold=1000))
    backends["a"].health_status = 500
    lb.register("a", "127.0.0.1", backends["a"].port)
    wait_until(
        lambda: lb.states()["a"].reason == "Elb.InitialHealthChecking", "initial health checking"
    )
    assert request(port)[0] == 503
    assert backends["a"].requests == []


def test_set_health_check_changes_what_is_checked(
    lb: LoadBalancer, backends: dict[str, Backend]
) -> None:
    lb.start()
    lb.register("a", "127.0.0.1", backends["a"].port)
    wait_until(lambda: healthy(lb, "a"), "a healthy")
    lb.set_health_check(HealthCheck("/health", 0.05, 2, 3, 2, matcher="204"))
    assert wait_until(lambda: state_of(lb, "a", "unhealthy"), "a unhealthy on 204").description == (
        "Health checks failed with these codes: [200]"
    )


# --- failures while proxying ---------------------------------------------------------------


def test_a_target_that_breaks_mid_request_gives_502_and_a_slow_one_504(
    backends: dict[str, Backend],
) -> None:
    balancer = LoadBalancer(FAST, request_timeout_s=0.5)
    try:
        port = balancer.start()
        balancer.register("a", "127.0.0.1", backends["a"].port)
        wait_until(lambda: healthy(balancer, "a"), "a healthy")
        assert request(port, path="/crash")[0] == 502
        assert request(port, path="/slow")[0] == 504
        backends["a"].release.set()
        assert target_of(port) == "a"  # the target itself is fine afterwards
    finally:
        balancer.stop()


# --- HTTP/1.1 proxying ---------------------------------------------------------------------


@pytest.fixture
def one_target(lb: LoadBalancer, backends: dict[str, Backend]) -> int:
    port = lb.start()
    lb.register("a", "127.0.0.1", backends["a"].port)
    wait_until(lambda: healthy(lb, "a"), "a healthy")
    return port


def test_host_body_and_alb_forwarding_headers_reach_the_target(one_target: int) -> None:
    status, body = request(
        one_target, "POST", "/users?x=1", body=b"name=ann",
        headers={"Host": "app.example.com", "Content-Type": "application/x-www-form-urlencoded",
                 "X-Forwarded-For": "203.0.113.9"},
    )  # fmt: skip
    echoed = json.loads(body)
    assert status == 200 and echoed["method"] == "POST" and echoed["body"] == "name=ann"
    headers = echoed["headers"]
    assert headers["Host"] == "app.example.com"
    assert headers["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Port"] == str(one_target)
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_a_chunked_request_body_arrives_whole(one_target: int) -> None:
    # An iterable body of unknown length: http.client sends it chunked.
    status, body = request(one_target, "POST", "/", body=iter([b"part one, ", b"part two"]))
    assert status == 200 and json.loads(body)["body"] == "part one, part two"


def test_a_chunked_response_is_relayed_and_keep_alive_holds(one_target: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", one_target, timeout=30)
    try:
        connection.request("GET", "/chunked")
        first = connection.getresponse()
        assert (first.status, first.read()) == (200, b"hello from a")
        assert first.getheader("Transfer-Encoding") == "chunked"
        client_socket = connection.sock
        connection.request("HEAD", "/")
        second = connection.getresponse()
        assert second.status == 200 and second.read() == b""
        assert connection.sock is client_socket  # the same client connection, kept alive
        connection.request("GET", "/", headers={"Connection": "close"})
        third = connection.getresponse()
        assert third.status == 200 and json.loads(third.read())["target"] == "a"
        assert third.getheader("Connection") == "close"
    finally:
        connection.close()


# --- draining ------------------------------------------------------------------------------


def test_draining_finishes_in_flight_requests_and_sends_no_new_ones(
    lb: LoadBalancer, backends: dict[str, Backend]
) -> None:
    port = lb.start()
    lb.register("a", "127.0.0.1", backends["a"].port)
    wait_until(lambda: healthy(lb, "a"), "a healthy")
    in_flight: list[tuple[int, bytes]] = []
    slow = threading.Thread(target=lambda: in_flight.append(request(port, path="/slow")))
    slow.start()
    assert backends["a"].slow_started.wait(30)
    lb.register("b", "127.0.0.1", backends["b"].port)
    wait_until(lambda: healthy(lb, "b"), "b healthy")
    lb.deregister("a")
    assert lb.states()["a"] == TargetState(
        "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
    )
    assert {target_of(port) for _ in range(6)} == {"b"}
    backends["a"].release.set()
    slow.join(30)
    assert in_flight[0][0] == 200 and json.loads(in_flight[0][1])["target"] == "a"
    # Nothing left in flight: the drain ends without waiting for the delay (30 s here).
    assert lb.drained("a", timeout_s=10)
    assert "a" not in lb.states()


def test_a_drain_ends_when_the_deregistration_delay_elapses(backends: dict[str, Backend]) -> None:
    now = [1000.0]
    balancer = LoadBalancer(FAST, deregistration_delay_s=300, clock=lambda: now[0])
    try:
        port = balancer.start()
        balancer.register("a", "127.0.0.1", backends["a"].port)
        wait_until(lambda: healthy(balancer, "a"), "a healthy")
        slow = threading.Thread(target=request, args=(port, "GET", "/slow"))
        slow.start()
        assert backends["a"].slow_started.wait(30)
        balancer.deregister("a")
        assert not balancer.drained("a", timeout_s=0.2)  # a request holds it, 300 s to go
        now[0] += 300
        assert balancer.drained("a", timeout_s=10)
    finally:
        backends["a"].release.set()
        balancer.stop()


def test_deregistering_under_load_fails_no_request_and_sends_none_after_the_drain(
    lb: LoadBalancer, backends: dict[str, Backend]
) -> None:
    """A rollout's view: clients keep sending while the old target leaves."""
    port = lb.start()
    lb.register("a", "127.0.0.1", backends["a"].port)
    lb.register("b", "127.0.0.1", backends["b"].port)
    wait_until(lambda: healthy(lb, "a", "b"), "both healthy")
    stop = threading.Event()
    failures: list[object] = []
    served: list[int] = []

    def client() -> None:
        while not stop.is_set():
            try:
                status, _ = request(port)
            except OSError as exc:
                failures.append(exc)
                continue
            served.append(status)
            if status != 200:
                failures.append(status)

    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    wait_until(lambda: len(backends["a"].requests) >= 5, "traffic on a")
    lb.deregister("a")
    with backends["a"].lock:
        at_deregister = len(backends["a"].requests)
    assert lb.drained("a", timeout_s=30)
    with backends["a"].lock:
        at_drained = len(backends["a"].requests)
    wait_until(lambda: len(served) >= at_drained + 50, "more requests after the drain")
    stop.set()
    for thread in clients:
        thread.join(30)
    assert failures == []
    # Only requests already routed (at most one per client) reached a after deregister().
    assert at_drained - at_deregister <= len(clients)
    assert len(backends["a"].requests) == at_drained
