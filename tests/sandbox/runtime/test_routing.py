"""Routing follows the target group as the emulator holds it now: `modify-target-group` and
`modify-target-group-attributes` after the load balancer started change its checks and the
deregistration delay of the next drain. The emulator is replaced by a dictionary of groups;
the target is a real HTTP server on 127.0.0.1, and time is a fake clock moved by hand."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hakobu.sandbox.runtime import bridge
from hakobu.sandbox.runtime.balancer import TICK_S
from hakobu.sandbox.runtime.routing import Routing
from tests.support.images import wait_until

ARN = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/app-tg/1"
TARGET = "10.0.1.10"
HAKOBU = bridge.TargetGroup(
    arn=ARN, name="app-tg", port=8080, health_path="/health", interval_s=10, timeout_s=5,
    healthy_threshold=2, unhealthy_threshold=3, matcher="200", deregistration_delay_s=30,
    targets=(),
)  # fmt: skip
AWS_DEFAULTS = replace(
    HAKOBU, interval_s=30, healthy_threshold=5, unhealthy_threshold=2, deregistration_delay_s=300
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> dict[str, bridge.TargetGroup]:
    """The emulator's target groups, by ARN; writes to it are ignored."""
    held = {ARN: HAKOBU}
    monkeypatch.setattr(bridge, "target_group", held.get)
    for name in ("register_target", "set_target_health", "deregister_target"):
        monkeypatch.setattr(bridge, name, lambda *args, **kwargs: None)
    return held


@pytest.fixture
def backend() -> Iterator[tuple[int, threading.Event]]:
    """/health answers 200; /slow answers once the event is set (a request in flight)."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/slow":
                release.wait(30)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1]), release
    release.set()
    server.shutdown()
    server.server_close()


def test_modified_target_group_settings_reach_the_load_balancer(
    groups: dict[str, bridge.TargetGroup], backend: tuple[int, threading.Event]
) -> None:
    port, release = backend
    clock = Clock()
    routing = Routing(clock)
    served = routing.ensure(ARN)
    assert served is not None
    try:
        assert served.balancer.health_check.interval_s == 10
        routing.register(ARN, TARGET, port, 8080)
        wait_until(lambda: (s := routing.state(ARN, TARGET)) and s.state == "healthy", "healthy")
        groups[ARN] = AWS_DEFAULTS  # modify-target-group + -attributes in the emulator
        routing.sync()
        check = served.balancer.health_check
        assert (check.interval_s, check.healthy_threshold, check.unhealthy_threshold) == (30, 5, 2)

        in_flight = threading.Thread(
            target=lambda: urllib.request.urlopen(served.url + "/slow", timeout=30).read()
        )
        in_flight.start()
        wait_until(lambda: served.balancer._targets[TARGET].in_flight == 1, "a request in flight")
        routing.drain(ARN, TARGET)
        clock.now += 31  # past hakobu's 30 s, well within the new 300 s
        time.sleep(10 * TICK_S)  # the balancer looks at expired drains every tick
        assert not routing.drained(ARN, TARGET)
        assert TARGET in served.balancer.states(), "the balancer let go at the old delay"
        clock.now += 270
        wait_until(lambda: routing.drained(ARN, TARGET), "the drain to end at 300 s")
        release.set()
        in_flight.join(timeout=10)
    finally:
        release.set()
        routing.shutdown()
