"""Test images for the sandbox runtime, built locally: nothing can be pulled where tests run.

- `http_image`: busybox-static FROM scratch serving HTTP with busybox httpd. `/up` answers
  a configurable body; `/health` answers 200 while the container is healthy (404 once
  `HEALTH_OFF` has run in it, or from the start with `healthy=False`); `/cgi-bin/slow`
  answers after SLOW_S seconds (a request in flight while a target drains); with
  `exit_code` the container prints a line on each stream and exits at once; with
  `serve_port` it listens there whatever PORT says (an app bound to the wrong port). Every setting
  is an ENV default baked into the image (so two versions are two images, as in a rollout)
  that the container's environment may override (UP_BODY, HEALTHY, EXIT_CODE, SLOW_S, PORT).
  Requests are logged on stderr (httpd -vv). `bin/rails` (relative to / , the WORKDIR) prints
  a line and exits RAILS_EXIT (0 unless `release_exit` is given), so a Rails app's release
  command runs, or fails as a broken migration does.
- `PYTHON_BASE`: Debian bookworm with python3, venv and the example app's requirements,
  built once by `.ci/install-runtime-deps` (debootstrap); also tagged as the example app's
  `python:3.12-slim` where no such image exists, so its Dockerfile builds unchanged.

Builds go through hakobu's own builder commands (ship/image.py), with the engine's
environment (its containers.conf), into the store the engine runs from. An image's tag is a
hash of its build context: a second build of the same settings is a no-op.

Also what the runtime's tests share: `unavailable` (under CI=true a missing tool fails the
test, since the install step is broken; elsewhere it skips) and `wait_until` (poll a condition
with a generous deadline instead of sleeping a guessed time).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

from hakobu.sandbox.runtime.engine import ContainerEngine
from hakobu.ship.image import Builder, build_command

PYTHON_BASE = "localhost/hakobu-test/python-base"
HTTP_REPOSITORY = "localhost/hakobu-test/http"
HTTP_PORT = 8080
BUILD_TIMEOUT_S = 300
# Run in an http_image container (engine.exec_args): /health answers 404 from then on.
HEALTH_OFF = ["/bin/rm", "-f", "/www/health"]
HEALTH_ON = ["/bin/sh", "-c", "echo ok > /www/health"]
INSTALL_HINT = "run .ci/install-runtime-deps"

SERVE_SCRIPT = """#!/bin/sh
# The test app: see tests/support/images.py.
printf '%s\\n' "$UP_BODY" > /www/up
[ "$HEALTHY" = 1 ] && echo ok > /www/health
echo "test app on port $PORT: up=$UP_BODY healthy=$HEALTHY"
if [ -n "$EXIT_CODE" ]; then
  echo "test app exits with $EXIT_CODE" >&2
  exit "$EXIT_CODE"
fi
exec httpd -f -vv -p "${SERVE_PORT:-$PORT}" -h /www
"""
# `bin/rails` for the release command (`bin/rails db:migrate`) the deploy runs first.
RAILS_STUB = """#!/bin/sh
if [ "${RAILS_EXIT:-0}" != 0 ]; then
  echo "bin/rails $*: the test migration fails with $RAILS_EXIT" >&2
  exit "$RAILS_EXIT"
fi
echo "bin/rails $*: the test app has nothing to migrate"
"""
SLOW_CGI = """#!/bin/sh
sleep "$SLOW_S"
printf 'Content-Type: text/plain\\r\\n\\r\\nslow\\n'
"""


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI, where a missing tool means the install step is broken."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must install it ({INSTALL_HINT})")
    pytest.skip(f"{reason} ({INSTALL_HINT})")


T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], what: str, timeout_s: float = 60) -> T:
    """Poll `condition` until it returns a truthy value (returned); fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


def engine_or_unavailable(work_dir: Path) -> ContainerEngine:
    engine = ContainerEngine.find(work_dir)
    if engine is None:
        unavailable("no working container engine (podman or docker)")
    return engine


def http_image(
    engine: ContainerEngine,
    work_dir: Path,
    *,
    up_body: str = "ok",
    healthy: bool = True,
    exit_code: int | None = None,
    slow_s: float = 1,
    release_exit: int = 0,
    serve_port: int | None = None,
) -> str:
    """The busybox test app with these defaults; returns the image reference."""
    busybox = static_busybox()
    env = {
        "PATH": "/bin",
        "PORT": str(HTTP_PORT),
        "UP_BODY": up_body,
        "HEALTHY": "1" if healthy else "0",
        "EXIT_CODE": "" if exit_code is None else str(exit_code),
        "SLOW_S": f"{slow_s:g}",
        "RAILS_EXIT": str(release_exit),
        "SERVE_PORT": "" if serve_port is None else str(serve_port),
    }
    env_line = " ".join(f'{key}="{value}"' for key, value in env.items())
    dockerfile = (
        "FROM scratch\nCOPY bin/ /bin/\nCOPY www/ /www/\nCOPY serve /serve\n"
        f'ENV {env_line}\nEXPOSE {HTTP_PORT}\nCMD ["/serve"]\n'
    )
    digest = hashlib.sha256(
        (dockerfile + SERVE_SCRIPT + SLOW_CGI + RAILS_STUB).encode() + busybox.read_bytes()
    ).hexdigest()
    image = f"{HTTP_REPOSITORY}:{digest[:16]}"
    if not engine.image_exists(image):
        context = work_dir / f"http-image-{digest[:16]}"
        _write_http_context(context, busybox, dockerfile)
        build(engine, context, image)
    return image


def static_busybox() -> Path:
    """busybox-static: runs in an image with no libc (FROM scratch)."""
    found = shutil.which("busybox")
    if found is None:
        unavailable("busybox is not installed (Debian: busybox-static)")
    path = Path(found)
    # A dynamic binary names its loader (ld-linux...) near the start of the file.
    if b"ld-linux" in path.read_bytes()[:4096]:
        unavailable(f"{path} is linked dynamically; the test image needs busybox-static")
    return path


def _write_http_context(context: Path, busybox: Path, dockerfile: str) -> None:
    bin_dir = context / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, bin_dir / "busybox")
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        link = bin_dir / applet
        if applet != "busybox" and not link.is_symlink():
            link.symlink_to("busybox")
    cgi = context / "www" / "cgi-bin"
    cgi.mkdir(parents=True, exist_ok=True)
    scripts = (
        (context / "serve", SERVE_SCRIPT),
        (cgi / "slow", SLOW_CGI),
        (bin_dir / "rails", RAILS_STUB),
    )
    for path, text in scripts:
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")


def build(engine: ContainerEngine, context: Path, image: str) -> None:
    """Build `context`'s Dockerfile as hakobu builds (ship/image.py), into the engine's store."""
    builder = Builder(engine.name, engine.executable, vfs=engine.vfs)
    argv = build_command(builder, context, [image], host_platform(), context / "Dockerfile")
    result = subprocess.run(
        argv,
        env=engine.environment(),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"building {image} failed:\n{result.stdout}\n{result.stderr}")


def host_platform() -> str:
    machine = platform.machine().lower()
    return "linux/arm64" if machine in ("aarch64", "arm64") else "linux/amd64"


def python_base(engine: ContainerEngine) -> str:
    """The Python base image made by .ci/install-runtime-deps."""
    if not engine.image_exists(PYTHON_BASE):
        unavailable(f"the image {PYTHON_BASE} does not exist")
    return PYTHON_BASE
