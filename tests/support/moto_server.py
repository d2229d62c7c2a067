"""moto's threaded server on a free loopback port in the test process, and real boto3
clients on it over HTTP. For tests that patch moto (its handlers run in this process) or
need no sandbox around it.

    @pytest.fixture(scope="module")
    def aws() -> Iterator[Aws]:
        with moto_server(moto_gaps) as server:  # moto_gaps installed before it starts
            yield server

    ecs = aws.client("ecs")
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.config import Config

REGION = "ap-northeast-1"


class Patches(Protocol):
    """What hakobu.sandbox.moto_gaps and edge_gaps offer: patches to moto, undone on stop."""

    def install(self) -> None: ...

    def uninstall(self) -> None: ...


@dataclass
class Aws:
    """The server's endpoint, and clients on it (one try a call: a test sees the first error)."""

    endpoint: str

    def client(self, service: str, config: Config | None = None, region: str = REGION) -> Any:
        base = Config(proxies={}, retries={"max_attempts": 1})
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id="hakobu-sandbox",
            aws_secret_access_key="hakobu-sandbox-secret",
            config=base if config is None else base.merge(config),
        )


@contextmanager
def moto_server(*patches: Patches) -> Iterator[Aws]:
    """Start the server, after installing `patches` (so its first request is answered as the
    sandbox answers it); stop it and undo them on leaving."""
    # Imported here: moto's server pulls in every service's backend, which only tests that
    # start a server should pay for at collection.
    from moto.server import ThreadedMotoServer

    for patch in patches:
        patch.install()
    try:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
            _reset(endpoint)
            yield Aws(endpoint)
        finally:
            server.stop()
    finally:
        for patch in reversed(patches):
            patch.uninstall()


def _reset(endpoint: str) -> None:
    """Start empty: moto's backends are this process's globals, so an earlier module's
    server (same xdist worker) left its resources behind, names and all."""
    post_moto_api(endpoint, "reset")


def post_moto_api(endpoint: str, action: str, body: str = "") -> None:
    """POST to moto's own `/moto-api/ACTION` (never through a proxy); it must answer 200."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/{action}",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would reach moto empty
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200
