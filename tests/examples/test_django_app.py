"""The example Django app (examples/django-app), run as its container runs it.

Every Django command runs in a subprocess (`python manage.py ...`, gunicorn) with the
settings taken from environment variables, as on ECS, so this test process is never
configured by Django. Requests go through Django's test client inside `manage.py shell`,
and once through the real gunicorn on 127.0.0.1. The database is SQLite in a temporary
directory; "the database is down" is MySQL on loopback ports that refuse or never answer.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import load_project
from hakobu.provision.blueprint.service import container_definition

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "django-app"
REQUIREMENTS = ("django", "pymysql", "psycopg", "gunicorn", "whitenoise")
MISSING = [name for name in REQUIREMENTS if importlib.util.find_spec(name) is None]


@pytest.fixture(autouse=True)
def _requirements_installed() -> None:
    require_requirements()


def require_requirements() -> None:
    """Skip without the example's requirements; in CI a missing install step fails instead
    of hiding behind a skip. Called by module-scoped fixtures too: they are set up before
    the autouse fixture above, so a skip of theirs would otherwise win."""
    if MISSING:
        message = (
            f"{', '.join(MISSING)} not installed: "
            "pip install -r examples/django-app/requirements.txt"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def clean_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without any setting the example reads, plus overrides."""
    ours = ("DJANGO_", "DATABASE_", "GUNICORN_")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(ours) and key not in ("PORT", "WEB_CONCURRENCY")
    }
    environment["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the example's tree
    environment.update(overrides)
    return environment


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Runs inside `manage.py shell`: performs the GET requests listed in $EXAMPLE_REQUESTS
# with Django's test client and prints the responses as one JSON line.
CLIENT_SCRIPT = """
import json, os
from django.test import Client
client = Client(raise_request_exception=False)
results = []
for request in json.loads(os.environ["EXAMPLE_REQUESTS"]):
    response = client.get(request["path"], headers=request.get("headers", {}))
    results.append({"status": response.status_code, "headers": dict(response.headers),
                    "body": response.content.decode()})
print("RESULTS " + json.dumps(results))
"""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Site:
    """A migrated SQLite database and collected static files, as after a release."""

    env: dict[str, str] = field(default_factory=dict)

    def with_env(self, **overrides: str) -> dict[str, str]:
        return {**self.env, **overrides}

    def get(self, *requests: dict[str, Any], **overrides: str) -> list[Response]:
        env = self.with_env(EXAMPLE_REQUESTS=json.dumps(requests), **overrides)
        result = manage("shell", "--no-imports", "-c", CLIENT_SCRIPT, env=env)
        assert result.returncode == 0, result.stderr
        line = next(x for x in result.stdout.splitlines() if x.startswith("RESULTS "))
        return [Response(**r) for r in json.loads(line.removeprefix("RESULTS "))]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    require_requirements()
    root = tmp_path_factory.mktemp("django-app")
    env = clean_environment(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SQLITE_PATH=str(root / "db.sqlite3"),
        DJANGO_STATIC_ROOT=str(root / "static"),
    )
    # What a deploy does: collectstatic in the image build, migrate as the release command.
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        result = manage(*command, env=env)
        assert result.returncode == 0, result.stderr
    return Site(env=env)


def test_the_committed_migration_matches_the_models(site: Site) -> None:
    result = manage("makemigrations", "--check", "--dry-run", env=site.env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_home_page_lists_members_with_hashed_static_files(site: Site) -> None:
    created = manage(
        "shell",
        "--no-imports",
        "-c",
        "from users.models import Member; "
        "Member.objects.create(name='Ada <Lovelace>', email='ada@example.com')",
        env=site.env,
    )
    assert created.returncode == 0, created.stderr
    [page] = site.get({"path": "/"})
    assert page.status == 200
    assert "Ada &lt;Lovelace&gt;" in page.body and "ada@example.com" in page.body
    assert "1 member." in page.body
    # WhiteNoise's manifest storage: a content hash in the name, so it can be cached forever.
    assert re.search(r'href="/static/users/site\.[0-9a-f]{12}\.css"', page.body)


def test_up_answers_200_before_host_checks_and_https_redirects(site: Site) -> None:
    task_ip = {"host": "10.0.10.23:8000"}  # what the ALB's health checks send as Host
    domain = {"host": "members.example.com"}
    up, unknown_host, plain_http, https = site.get(
        {"path": "/up", "headers": task_ip},
        {"path": "/", "headers": task_ip},
        {"path": "/", "headers": domain},
        {"path": "/", "headers": {**domain, "x-forwarded-proto": "https"}},
        DJANGO_HTTPS="1",
        DJANGO_ALLOWED_HOSTS="members.example.com",
    )
    assert (up.status, up.body) == (200, "ok\n")
    assert up.headers["Content-Type"] == "text/plain"
    assert up.headers["Cache-Control"] == "no-store"
    # Everything else does get the host check and the redirect...
    assert unknown_host.status == 400
    assert plain_http.status == 301
    assert plain_http.headers["Location"] == "https://members.example.com/"
    # ...and the ALB's X-Forwarded-Proto marks a request as HTTPS.
    assert https.status == 200
    assert https.headers["Strict-Transport-Security"] == "max-age=3600"


def _database_env(port: int, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_HOST": "127.0.0.1",
        "DATABASE_PORT": str(port),
        "DATABASE_NAME": "django_app_production",
        "DATABASE_USERNAME": "app",
        "DATABASE_PASSWORD": "not-a-real-password",
        **extra,
    }


@pytest.mark.parametrize("engine", ["mysql", "postgres"])
def test_up_answers_503_when_the_database_refuses_connections(site: Site, engine: str) -> None:
    """Either engine hakobu sets in DATABASE_ENGINE: the backend and its driver load (PyMySQL
    or psycopg from requirements.txt) and a database that is down is a 503, not a crash."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        [up] = site.get({"path": "/up"}, **_database_env(port, DATABASE_ENGINE=engine))
    assert (up.status, up.body) == (503, "database unreachable (OperationalError)\n")


def test_up_answers_503_when_postgres_never_answers(site: Site) -> None:
    """libpq's connect_timeout (DATABASE_CONNECT_TIMEOUT) covers the startup exchange too: a
    listener that never speaks does not hold the request (manage()'s limit would fail it)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = _database_env(silent.getsockname()[1], DATABASE_ENGINE="postgres")
        [up] = site.get({"path": "/up"}, **env, DATABASE_CONNECT_TIMEOUT="1")
    assert (up.status, up.body) == (503, "database unreachable (OperationalError)\n")


def test_up_answers_503_when_mysql_never_answers(site: Site) -> None:
    with socket.socket() as silent:
        # The kernel completes the TCP handshake for the backlog; nothing ever speaks.
        # Without the read timeout the request would wait for ever, and manage()'s own
        # limit would fail the test: no wall-clock assertion needed (they flake under load).
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        [up] = site.get(
            {"path": "/up"},
            **_database_env(silent.getsockname()[1], DATABASE_READ_TIMEOUT="1"),
        )
    assert (up.status, up.body) == (503, "database unreachable (OperationalError)\n")


def test_settings_refuse_to_start_without_a_secret_key_unless_debugging() -> None:
    production = manage("check", env=clean_environment())
    assert production.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in production.stderr

    development = manage("check", env=clean_environment(DJANGO_DEBUG="1"))
    assert development.returncode == 0, development.stderr

    typo = manage("check", env=clean_environment(DJANGO_DEBUG="maybe"))
    assert typo.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in typo.stderr


def _warnings(result: subprocess.CompletedProcess) -> set[str]:
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"\((security\.W\d+)\)", result.stderr + result.stdout))


def test_deploy_checks_leave_only_what_needs_https(site: Site) -> None:
    # The ALB listens on plain HTTP today: only the HTTPS-only settings are reported (no
    # weak key, no DEBUG, no missing ALLOWED_HOSTS, no error).
    plain = manage("check", "--deploy", env=site.env)
    assert _warnings(plain) == {"security.W004", "security.W008", "security.W016"}
    # With DJANGO_HTTPS=1, what is left is the site owner's HSTS choice (subdomains,
    # preload list), deliberately not made for them.
    https = manage("check", "--deploy", env=site.with_env(DJANGO_HTTPS="1"))
    assert _warnings(https) == {"security.W005", "security.W021"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def gunicorn(site: Site, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The container's command, bound to loopback instead of 0.0.0.0."""
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = site.with_env(PORT=str(port), GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port}")
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"],
            cwd=EXAMPLE,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"gunicorn exited:\n{log.read_text()}"
            try:
                if _http_get(f"{base}/up")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"gunicorn never served /up:\n{log.read_text()}"
            time.sleep(0.1)
        yield base, log
        # What ECS does to stop a task: SIGTERM, then a graceful exit.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_gunicorn_config_binds_port_from_the_environment(site: Site) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--print-config",
            "config.wsgi",
        ],
        cwd=EXAMPLE,
        env=site.with_env(PORT="8123"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
    )
    assert config["bind"] == "['0.0.0.0:8123']"
    assert (config["workers"], config["threads"], config["worker_class"]) == ("2", "2", "gthread")
    assert config["accesslog"] == "-"  # stdout, so CloudWatch Logs gets it
    assert int(config["keepalive"]) > 60  # outlives the ALB's idle timeout
    assert int(config["graceful_timeout"]) < 30  # ECS's SIGTERM-to-SIGKILL window


def test_gunicorn_serves_pages_static_files_and_logs_requests(
    gunicorn: tuple[str, Path],
) -> None:
    base, log = gunicorn
    status, _, body = _http_get(f"{base}/up", {"X-Forwarded-For": "203.0.113.9"})
    assert (status, body) == (200, b"ok\n")
    status, _, page = _http_get(f"{base}/")
    assert status == 200 and b"<h1>Members</h1>" in page
    stylesheet = re.search(rb'href="(/static/users/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, page
    status, headers, css = _http_get(base + stylesheet.group(1).decode())
    assert status == 200 and b"font-family" in css
    assert "immutable" in headers["Cache-Control"]
    # The access log names the client from the ALB's X-Forwarded-For.
    deadline = time.monotonic() + 5
    while '203.0.113.9 "GET /up HTTP/1.1" 200' not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_hakobu_toml_and_the_variables_the_container_gets() -> None:
    env = load_project(EXAMPLE / "hakobu.toml").environment(None)
    assert (env.app, env.framework) == ("django-app", "django")
    assert (env.settings.service.port, env.settings.service.health_check_path) == (8000, "/up")
    container = container_definition(env)
    names = [v["name"] for v in container["environment"]]  # type: ignore[union-attr]
    names += [s["name"] for s in container["secrets"]]  # type: ignore[union-attr]
    assert {"DATABASE_HOST", "DATABASE_PASSWORD", "PORT"} <= set(names)
    # Every variable hakobu sets is one the app reads.
    read = "\n".join(
        (EXAMPLE / path).read_text() for path in ("config/settings.py", "gunicorn.conf.py")
    )
    for name in names:
        assert f'"{name}"' in read or f"'{name}'" in read, f"the app ignores {name}"


SECRET_PATTERNS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # an AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"SECRET_KEY\s*=\s*['\"]"),  # a Django key written in the code
    re.compile(r"django-insecure-"),  # startproject's throwaway key
]


def test_example_is_small_and_holds_no_secret_or_wheel() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs the git work tree")
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            "examples/django-app",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    files = [REPO / name for name in listed if name and (REPO / name).is_file()]
    assert EXAMPLE / "Dockerfile" in files and EXAMPLE / "hakobu.toml" in files
    assert sum(f.stat().st_size for f in files) < 64 * 1024
    for path in files:
        assert path.suffix not in {".whl", ".sqlite3", ".pem", ".key"}, path
        assert "wheels" not in path.relative_to(EXAMPLE).parts, path
        text = path.read_text(encoding="utf-8")
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(text), f"{path}: {pattern.pattern}"
    # Vendored wheels stay out of git but go into the build context.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "examples/django-app/wheels/django.whl"], cwd=REPO
    )
    assert ignored.returncode == 0
    dockerfile = (EXAMPLE / "Dockerfile").read_text()
    assert "--no-index --find-links=" in dockerfile
    assert re.search(r"^USER app$", dockerfile, re.M)
    assert set(re.findall(r"^FROM (\S+)", dockerfile, re.M)) == {"python:3.12-slim"}
