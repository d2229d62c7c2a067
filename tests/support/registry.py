"""A real image registry on loopback for tests: Debian's `docker-registry` (distribution 2.8).

It stands in for ECR, whose emulated twin in moto does not speak the registry protocol:
htpasswd basic auth with user `AWS` and the emulator's ECR token as password mirrors ECR's
`AWS:<token>` login. Storage is a temp directory; the process is stopped by its pid.

    registry = start_registry(tmp_path, "AWS", password)
    try: ... registry.host ... registry.manifest("rails-app", "abc123", "AWS", password)
    finally: registry.stop()
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
BINARIES = ("docker-registry", "registry")  # Debian's name, then upstream's
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
# Everything a registry may answer for a tag, so it never has to convert (or refuse).
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
# Never through HTTP(S)_PROXY: the registry is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class ManifestResponse:
    status: int
    digest: str | None
    media_type: str | None


@dataclass
class Registry:
    """A running registry: `host` is what image names start with (127.0.0.1:PORT)."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return (self.root / "registry.log").read_text(encoding="utf-8", errors="replace")

    def manifest(self, repo: str, ref: str, username: str, password: str) -> ManifestResponse:
        """GET /v2/<repo>/manifests/<ref> with basic auth: status and digest header."""
        request = self._request(f"/v2/{repo}/manifests/{ref}", username, password)
        request.add_header("Accept", MANIFEST_ACCEPT)
        try:
            with _OPENER.open(request, timeout=10) as response:
                headers = response.headers
                return ManifestResponse(
                    response.status,
                    headers.get("Docker-Content-Digest"),
                    headers.get("Content-Type"),
                )
        except urllib.error.HTTPError as error:
            return ManifestResponse(error.code, None, None)

    def image_config(self, repo: str, ref: str, username: str, password: str) -> dict[str, Any]:
        """The image's config blob (architecture, os, ...), through its manifest."""
        request = self._request(f"/v2/{repo}/manifests/{ref}", username, password)
        request.add_header("Accept", MANIFEST_ACCEPT)
        with _OPENER.open(request, timeout=10) as response:
            config_digest = json.load(response)["config"]["digest"]
        blob = self._request(f"/v2/{repo}/blobs/{config_digest}", username, password)
        with _OPENER.open(blob, timeout=10) as response:
            config: dict[str, Any] = json.load(response)
        return config

    def _request(self, path: str, username: str, password: str) -> urllib.request.Request:
        request = urllib.request.Request(f"http://{self.host}{path}")
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
        return request

    def stop(self) -> None:
        """SIGTERM, then SIGKILL, by pid; reaps the child."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                return
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                continue


def registry_binary() -> str | None:
    return next((path for name in BINARIES if (path := shutil.which(name))), None)


def missing() -> list[str]:
    """What this machine lacks to run a test registry (empty if nothing)."""
    lacks = []
    if registry_binary() is None:
        lacks.append("docker-registry (apt-get install docker-registry)")
    if shutil.which("htpasswd") is None and importlib.util.find_spec("bcrypt") is None:
        lacks.append("htpasswd (apt-get install apache2-utils) or Python's bcrypt")
    return lacks


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry: distribution's htpasswd auth accepts bcrypt only."""
    if shutil.which("htpasswd"):
        # -i: the password comes on stdin, never in argv.
        result = subprocess.run(
            ["htpasswd", "-B", "-n", "-i", username],
            input=password.encode(),
            capture_output=True,
            check=True,
        )
        return result.stdout.decode().strip()
    import bcrypt  # type: ignore[import-not-found]

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    return f"{username}:{hashed}"


def start_registry(tmp: Path, username: str, password: str) -> Registry:
    """Start a registry under `tmp` (config, storage, log); retried if the port was taken."""
    binary = registry_binary()
    assert binary is not None, "docker-registry is not installed"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "htpasswd").write_text(htpasswd_line(username, password) + "\n", encoding="utf-8")
    for _ in range(3):  # the free port can be taken between probe and bind
        port = _free_port()
        (tmp / "config.yml").write_text(_config(tmp, port), encoding="utf-8")
        registry = _spawn(binary, tmp, port)
        if _wait_ready(registry):
            return registry
        registry.stop()
    raise RuntimeError(f"the registry did not start; its log:\n{registry.log()}")


def _config(tmp: Path, port: int) -> str:
    return f"""\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {tmp / "storage"}
http:
  addr: {LOOPBACK}:{port}
  secret: {secrets.token_hex(16)}
auth:
  htpasswd:
    realm: hakobu-test
    path: {tmp / "htpasswd"}
"""


def _spawn(binary: str, tmp: Path, port: int) -> Registry:
    # REGISTRY_* variables override the config file: drop any from the caller's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with (tmp / "registry.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "serve", str(tmp / "config.yml")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return Registry(process=process, port=port, root=tmp)


def _wait_ready(registry: Registry) -> bool:
    """True once /v2/ answers (401: auth is on); False if the process died (port taken)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            return False
        try:
            with _OPENER.open(f"http://{registry.host}/v2/", timeout=1):
                pass
        except urllib.error.HTTPError:
            pass  # 401 without credentials: it is up
        except OSError:
            time.sleep(0.05)
            continue
        # Still ours? Another server on a port we lost the race for would answer too.
        return registry.process.poll() is None
    return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
