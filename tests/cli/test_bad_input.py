"""Bad input stops hakobu before it calls Terraform or AWS (docs/design.md, "Bad input").

Every case runs `python -m hakobu` as a real process in a fresh app directory, with
- a fake `terraform` first on PATH (and in HAKOBU_TERRAFORM) that appends its argv to a file,
- AWS_ENDPOINT_URL pointing at an HTTP server on 127.0.0.1 that records every request, with
  dummy credentials, so any AWS SDK call made by hakobu lands there,
and asserts: exit code 2, one short message naming the key with a `Fix:` line that says the
specific fix, no traceback, no Terraform call, no AWS request, and nothing written under
`.hakobu/` (so no sandbox emulator was started for `--sandbox`).

Two positive controls prove that both detectors can fire. About 15 s (cases run four at a
time), no network.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

import pytest

from hakobu.sandbox import emulator as sandbox
from tests.conftest import Run, make_rails_app

APP = "shop"
VALID = f'app = "{APP}"\n'
DUMMY_KEY_ID = "hakobu-test-dummy-key-id"
DUMMY_SECRET = "hakobu-test-dummy-secret"

# Variables of the outer shell that could send calls elsewhere or feed hakobu settings.
_DROPPED_PREFIXES = ("AWS_", "HAKOBU_", "TF_")
_DROPPED = {
    "RAILS_MASTER_KEY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
}


# --- Detectors --------------------------------------------------------------------------


class AwsRecorder(ThreadingHTTPServer):
    """Stands in for every AWS endpoint: records each request, answers 403 AccessDenied."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[str] = []
        self.accept_identity = True
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, line: str) -> None:
        with self._lock:
            self.requests.append(line)


class _RecordingHandler(BaseHTTPRequestHandler):
    server: AwsRecorder
    _BODY = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        b"<Message>recorded by test_bad_input</Message></Error></ErrorResponse>"
    )

    _IDENTITY = (
        b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012"
        b":user/recorded</Arn><UserId>AIDRECORDED</UserId><Account>123456789012</Account>"
        b"</GetCallerIdentityResult></GetCallerIdentityResponse>"
    )

    def _answer(self) -> None:
        auth = self.headers.get("Authorization", "")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.record(f"{self.command} {self.path} {auth[:60]} {body[:40]!r}")
        # With `accept_identity`, the credentials are good (STS says who they are) and
        # every other call is refused; else STS refuses them too.
        known = self.server.accept_identity and b"Action=GetCallerIdentity" in body
        answer = self._IDENTITY if known else self._BODY
        self.send_response(200 if known else 403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def recording_aws() -> Iterator[AwsRecorder]:
    server = AwsRecorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def aws() -> Iterator[AwsRecorder]:
    with recording_aws() as server:
        yield server


TerraformMode = Literal["fake", "absent", "misnamed"]


@dataclass(frozen=True)
class World:
    root: Path  # the app directory
    record: Path  # the fake terraform appends its argv here
    env: dict[str, str]


def _world(tmp_path: Path, aws: AwsRecorder, terraform: TerraformMode) -> World:
    fake_bin, empty_bin = tmp_path / "bin", tmp_path / "empty-bin"
    fake_bin.mkdir()
    empty_bin.mkdir()
    record = tmp_path / "terraform-calls.log"
    fake = fake_bin / "terraform"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {shlex.quote(str(record))}\nexit 1\n")
    fake.chmod(0o755)

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_REGION": "ap-northeast-1",
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "CHECKPOINT_DISABLE": "1",
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }
    )
    if terraform == "fake":
        env["PATH"] = f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        env["HAKOBU_TERRAFORM"] = str(fake)
    else:
        # Neither terraform nor tofu is reachable (python runs by absolute path).
        env["PATH"] = str(empty_bin)
        if terraform == "misnamed":
            env["HAKOBU_TERRAFORM"] = "terraform-not-installed"
    root = tmp_path / APP
    root.mkdir()
    return World(root=root, record=record, env=env)


def _run(world: World, *args: str) -> Run:
    """`python -m hakobu ARGS` as a user runs it, with exactly `world.env` (like run_hakobu,
    which cannot drop the caller's variables)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "hakobu", *args],
            cwd=world.root,
            env=world.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        if sandbox.state_path(world.root).exists():  # a bug: do not leak the emulator
            sandbox.stop(world.root)
    return Run(done.returncode, done.stdout, done.stderr)


# --- The cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    toml: str | None  # hakobu.toml; None: no file (or, with rails, the one `hakobu init` wrote)
    error: tuple[str, ...]  # what the `Error:` line must say (the key path first)
    fix: tuple[str, ...]  # what the `Fix:` line must say
    args: tuple[str, ...] = ("plan",)
    fix_not: tuple[str, ...] = ()  # what the `Fix:` line must not say
    rails: bool = False  # a Rails app (config/application.rb) without config/master.key
    terraform: TerraformMode = "fake"


CASES = [
    # TOML syntax: the line number is the fix.
    Case(
        "toml-unclosed-string",
        VALID + 'region = "ap-northeast-1\n',
        ("not valid TOML", "line 2"),
        ("fix the syntax at that line",),
    ),
    Case(
        "toml-unclosed-table-header",
        VALID + "[service\ncpu = 256\n",
        ("not valid TOML", "line 2"),
        ("tables [brackets]",),
    ),
    Case(
        "toml-unclosed-array-at-end",
        VALID + '[network]\npublic_subnets = ["10.0.1.0/24", "10.0.2.0/24"\n',
        ("not valid TOML", "line 3"),
        ("fix the syntax",),
    ),
    # Unknown keys and wrong types.
    Case(
        "unknown-top-level-key",
        VALID + "servce = 1\n",
        ("hakobu.toml: servce: ", "unknown key"),
        ("remove it", "service"),
    ),
    Case(
        "unknown-nested-key",
        VALID + "[service]\ncpuu = 512\n",
        ("hakobu.toml: service.cpuu: ", "unknown key"),
        ("cpu", "memory"),
    ),
    Case(
        "wrong-type-memory-string",
        VALID + '[service]\nmemory = "big"\n',
        ("hakobu.toml: service.memory: ", "whole number", "'big'"),
        ("without quotes",),
    ),
    Case(
        "wrong-type-count-boolean",
        VALID + "[service]\ndesired_count = true\n",
        ("hakobu.toml: service.desired_count: ", "whole number"),
        ("without quotes",),
    ),
    Case(
        "wrong-type-section-not-table",
        VALID + "service = 5\n",
        ("hakobu.toml: service: ", "expected a table"),
        ("[service] section",),
    ),
    # Fargate task size.
    Case(
        "cpu-not-fargate-size",
        VALID + "[service]\ncpu = 300\n",
        ("hakobu.toml: service.cpu: ", "300"),
        ("256, 512, 1024, 2048, 4096, 8192, 16384",),
    ),
    Case(
        "cpu-memory-pair-256",
        VALID + "[service]\ncpu = 256\nmemory = 4096\n",
        ("hakobu.toml: service.memory: ", "memory = 4096", "cpu = 256"),
        ("with cpu = 256, memory must be 512, 1024, 2048",),
        args=("plan", "--sandbox"),
    ),
    Case(
        "cpu-memory-pair-1024",
        VALID + "[service]\ncpu = 1024\nmemory = 1024\n",
        ("hakobu.toml: service.memory: ", "cpu = 1024"),
        ("with cpu = 1024, memory must be 2048 to 8192 in steps of 1024",),
    ),
    # Service settings.
    Case(
        "desired-count-negative",
        VALID + "[service]\ndesired_count = -1\n",
        ("hakobu.toml: service.desired_count: ", "-1"),
        ("at least 0",),
    ),
    Case(
        "port-out-of-range",
        VALID + "[service]\nport = 70000\n",
        ("hakobu.toml: service.port: ", "70000"),
        ("at most 65535",),
        args=("up", "--yes"),
    ),
    Case(
        "health-check-no-slash",
        VALID + '[service]\nhealth_check_path = "up"\n',
        ("hakobu.toml: service.health_check_path: ", "'up'"),
        ('start it with "/"',),
    ),
    Case(
        "health-check-bracket-value",
        VALID + '[service]\nhealth_check_path = "[/up]"\n',
        ("hakobu.toml: service.health_check_path: ", "'[/up]'"),
        ('start it with "/"',),
    ),
    # Region and network.
    Case(
        "region-unknown",
        VALID + 'region = "ap-northeast-9"\n',
        ("hakobu.toml: region: ", "'ap-northeast-9' is not an AWS region"),
        ("ap-northeast-1", "ap-northeast-3"),
        args=("up", "--yes", "--sandbox"),
    ),
    Case(
        "subnet-outside-vpc",
        VALID + '[network]\npublic_subnets = ["10.0.1.0/24", "10.1.2.0/24"]\n',
        ("hakobu.toml: network.public_subnets.1: ", "not inside the VPC 10.0.0.0/16"),
        ("inside 10.0.0.0/16", "widen vpc_cidr"),
    ),
    Case(
        "subnets-overlap",
        VALID + '[network]\nprivate_subnets = ["10.0.1.128/25", "10.0.11.0/24"]\n',
        ("hakobu.toml: network.private_subnets.0: ", "overlaps 10.0.1.0/24"),
        ("its own block",),
    ),
    Case(
        "cidr-invalid-text",
        VALID + '[network]\nvpc_cidr = "10.0.300.0/16"\n',
        ("hakobu.toml: network.vpc_cidr: ", "not a CIDR block"),
        ('"10.0.1.0/24"',),
    ),
    Case(
        "one-availability-zone",
        VALID + '[network]\navailability_zones = ["a"]\n',
        ("hakobu.toml: network.availability_zones: ", "two different zone"),
        ('["a", "c"]',),
    ),
    # Database and logs.
    Case(
        "engine-version-5.7",
        VALID + '[database]\nengine_version = "5.7"\n',
        ("hakobu.toml: database.engine_version: ", "'5.7'"),
        ('"8.4" or "8.0"',),
    ),
    # Engines (issue 13): each message names the key and the allowed values.
    Case(
        "engine-unknown",
        VALID + '[database]\nengine = "oracle"\n',
        ("hakobu.toml: database.engine: ", "'oracle'"),
        ("'mysql', 'aurora-mysql', 'postgres' or 'aurora-postgresql'",),
    ),
    Case(
        "engine-version-of-another-engine",
        VALID + '[database]\nengine = "postgres"\nengine_version = "8.4"\n',
        ("hakobu.toml: database.engine_version: ", "'8.4'", "PostgreSQL"),
        ('"18", "17" or "16"',),
    ),
    Case(
        "aurora-version-that-does-not-exist",
        VALID + '[database]\nengine = "aurora-mysql"\nengine_version = "8.4"\n',
        ("hakobu.toml: database.engine_version: ", "'8.4'", "Aurora MySQL"),
        ('"8.0"', "8.0.mysql_aurora.3.10.0"),
    ),
    Case(
        "capacity-min-above-max",
        VALID + '[database]\nengine = "aurora-mysql"\nmin_capacity = 4\nmax_capacity = 2\n',
        ("hakobu.toml: database.min_capacity: ", "(4) is above max_capacity (2)"),
        ("raise max_capacity to at least 4",),
    ),
    Case(
        "capacity-above-aws-range",
        VALID + '[database]\nengine = "aurora-postgresql"\nmax_capacity = 512\n',
        ("hakobu.toml: database.max_capacity: ", "512 ACUs"),
        ("multiple of 0.5 from 0.5 to 256",),
    ),
    Case(
        "capacity-not-a-half-step",
        VALID + '[database]\nengine = "aurora-postgresql"\nmax_capacity = 2.25\n',
        ("hakobu.toml: database.max_capacity: ", "2.25 ACUs"),
        ("multiple of 0.5",),
    ),
    Case(
        "capacity-zero-without-auto-pause",
        VALID
        + '[database]\nengine = "aurora-postgresql"\nengine_version = "16.2"\nmin_capacity = 0\n',
        ("hakobu.toml: database.min_capacity: ", "16.2 cannot pause itself"),
        ("min_capacity = 0.5", "16.3"),
    ),
    Case(
        "capacity-on-rds",
        VALID + '[database]\nengine = "postgres"\nmax_capacity = 4\n',
        ("hakobu.toml: database.max_capacity: ", "RDS"),
        ('engine = "aurora-postgresql"',),
    ),
    Case(
        "aurora-micro-class",
        VALID + '[database]\nengine = "aurora-mysql"\ninstance_class = "db.t3.micro"\n',
        ("hakobu.toml: database.instance_class: ", "db.t3.micro"),
        ('"db.serverless"',),
    ),
    Case(
        "instance-class-malformed",
        VALID + '[database]\ninstance_class = "t3.micro"\n',
        ("hakobu.toml: database.instance_class: ", "'t3.micro'"),
        ('"db.t4g.micro"',),
    ),
    Case(
        "log-retention-not-allowed",
        VALID + "[logs]\nretention_days = 10\n",
        ("hakobu.toml: logs.retention_days: ", "10"),
        ("7, 14, 30", "3653"),
    ),
    # The app's identity.
    Case(
        "app-name-invalid",
        'app = "My_App"\n',
        ("hakobu.toml: app: ", "'My_App'"),
        ("lowercase letters, digits and hyphens",),
    ),
    Case(
        "app-missing",
        'region = "us-east-1"\n',
        ("hakobu.toml: app: ", "required"),
        ("add app = ",),
        args=("plan", "--sandbox"),
    ),
    # Environments.
    Case(
        "staging-error-has-prefix",
        VALID + "[environments.production]\n[environments.staging]\nservice.memory = 4096\n",
        ("hakobu.toml: environments.staging.service.memory: ",),
        ("with cpu = 256, memory must be 512, 1024, 2048",),
        args=("plan", "staging"),
    ),
    Case(
        "staging-error-up-sandbox",
        VALID + '[environments.staging]\ndatabase.instance_class = "large"\n',
        ("hakobu.toml: environments.staging.database.instance_class: ", "'large'"),
        ('"db.t4g.micro"',),
        args=("up", "staging", "--yes", "--sandbox"),
    ),
    Case(
        "staging-cpu-override-names-environment",
        VALID + "[environments.staging]\nservice.cpu = 1024\n",
        ("environments.staging", "service.memory", "cpu = 1024"),
        ("2048 to 8192 in steps of 1024",),
        args=("plan", "staging"),
    ),
    Case(
        "staging-app-key",
        VALID + '[environments.staging]\napp = "other"\n',
        ("hakobu.toml: environments.staging.app: ", "unknown key"),
        ("remove it",),
        fix_not=("app,", "environments,", "framework,"),
        args=("plan", "staging"),
    ),
    Case(
        "unknown-environment-on-command-line",
        VALID + "[environments.production]\n",
        ("hakobu.toml: environments.staging: ", "no environment named 'staging'"),
        ("production", "[environments.staging]"),
        args=("plan", "staging"),
    ),
    Case(
        "environment-named-app",
        VALID + "[environments.app]\n",
        ("hakobu.toml: environments.app: ", 'cannot be named "app"'),
        ("[environments.staging]",),
    ),
    Case("no-hakobu-toml", None, ("no hakobu.toml",), ("hakobu init", "--config")),
    # Preflight: what the machine lacks.
    Case(
        "rails-master-key-missing",
        None,
        ("master key was not found", "config/master.key", "RAILS_MASTER_KEY is not set"),
        ("secrets.master_key_file", "RAILS_MASTER_KEY"),
        rails=True,
    ),
    Case(
        "rails-master-key-missing-up-sandbox",
        None,
        ("master key was not found", "RAILS_MASTER_KEY is not set"),
        ("secrets.master_key_file",),
        args=("up", "--yes", "--sandbox"),
        rails=True,
    ),
    Case(
        "rails-master-key-file-setting-missing",
        VALID + 'framework = "rails"\n[secrets]\n'
        'master_key_file = "config/credentials/production.key"\n',
        ("master key was not found", "config/credentials/production.key"),
        ("secrets.master_key_file",),
        rails=True,
    ),
    Case(
        "terraform-absent",
        VALID,
        ("neither terraform nor tofu was found",),
        (
            "install Terraform",
            "https://developer.hashicorp.com/terraform/install",
            "OpenTofu",
            "HAKOBU_TERRAFORM",
        ),
        terraform="absent",
    ),
    Case(
        "terraform-misnamed-up-sandbox",
        VALID,
        ("terraform-not-installed",),
        ("install Terraform", "OpenTofu", "HAKOBU_TERRAFORM"),
        args=("up", "--yes", "--sandbox"),
        terraform="misnamed",
    ),
]


def _params() -> list[object]:
    params = []
    for case in CASES:
        params.append(pytest.param(case, id=case.id))
    return params


def _prepare(world: World, case: Case) -> None:
    if case.rails:
        make_rails_app(world.root, APP)
        (world.root / "config" / "master.key").unlink()
    if case.toml is not None:
        (world.root / "hakobu.toml").write_text(case.toml, encoding="utf-8")


@dataclass(frozen=True)
class Outcome:
    world: World
    run: Run
    aws_requests: list[str]


def _attempt(case: Case, tmp_path: Path) -> Outcome:
    with recording_aws() as aws:
        world = _world(tmp_path, aws, case.terraform)
        _prepare(world, case)
        run = _run(world, *case.args)
        return Outcome(world, run, list(aws.requests))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, a few processes at a time (each starts in about 0.5 s)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            case.id: pool.submit(_attempt, case, tmp_path_factory.mktemp(case.id)) for case in CASES
        }
    return {case_id: future.result() for case_id, future in futures.items()}


@pytest.mark.parametrize("case", _params())
def test_bad_input_stops_before_terraform_and_aws(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    world, run = outcome.world, outcome.run

    assert "Traceback" not in run.output, run.output
    assert run.code == 2, run.output
    assert run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    fixes = [line for line in lines if line.startswith("Fix: ")]
    assert len(errors) == 1 and len(fixes) == 1, run.stderr
    assert len(lines) <= 3 and len(run.stderr) < 600, f"not a short message:\n{run.stderr}"
    for text in case.error:
        assert text in errors[0], f"{text!r} not in the Error line:\n{run.stderr}"
    for text in case.fix:
        assert text in fixes[0], f"{text!r} not in the Fix line:\n{run.stderr}"
    for text in case.fix_not:
        assert text not in fixes[0], f"{text!r} in the Fix line:\n{run.stderr}"

    assert not world.record.exists(), f"terraform ran: {world.record.read_text()}"
    assert outcome.aws_requests == [], f"AWS was called: {outcome.aws_requests}"
    assert not (world.root / ".hakobu").exists(), "something was created under .hakobu/"
    assert not sandbox.state_path(world.root).exists(), "the sandbox was started"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 18
    assert len({case.id for case in CASES}) == len(CASES)


# --- Positive controls: the detectors above can fail --------------------------------------


def test_control_valid_rails_app_reaches_terraform(tmp_path: Path, aws: AwsRecorder) -> None:
    world = _world(tmp_path, aws, "fake")
    make_rails_app(world.root, APP)

    run = _run(world, "plan")

    assert world.record.is_file(), run.output
    assert world.record.read_text().startswith("init "), world.record.read_text()
    assert (world.root / ".hakobu").exists()


def test_control_s3_state_reaches_aws(tmp_path: Path, aws: AwsRecorder) -> None:
    world = _world(tmp_path, aws, "fake")
    (world.root / "hakobu.toml").write_text(VALID + 'state = "s3"\n', encoding="utf-8")

    run = _run(world, "plan")

    # hakobu asks STS for the account id to name the state bucket: that call lands here,
    # signed with the dummy key.
    assert aws.requests, run.output
    assert DUMMY_KEY_ID in aws.requests[0], aws.requests
    assert run.code != 0


# --- No credentials: checked with STS before any Terraform run ---------------------------


@pytest.mark.parametrize("command", [("plan",), ("up", "--yes"), ("status",), ("deploy",)])
def test_without_credentials_nothing_runs(
    tmp_path: Path, aws: AwsRecorder, command: tuple[str, ...]
) -> None:
    """No AWS key anywhere (no variables, no files, no instance role): one line saying so
    with the fix, exit 2, and neither Terraform nor any AWS endpoint is called."""
    world = _world(tmp_path, aws, "fake")
    make_rails_app(world.root, APP)
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    env = {k: v for k, v in world.env.items() if k not in keys}

    run = _run(World(world.root, world.record, env), *command)

    assert "Traceback" not in run.output, run.output
    assert run.code == 2, run.output
    lines = run.stderr.splitlines()
    assert lines[0] == "Error: no AWS credentials were found", run.stderr
    assert lines[1].startswith("Fix: run `aws configure`") and "--sandbox" in lines[1]
    assert not world.record.exists(), world.record.read_text()  # zero Terraform invocations
    assert aws.requests == []
    assert "No valid credential sources" not in run.output


def test_rejected_credentials_stop_before_terraform(tmp_path: Path, aws: AwsRecorder) -> None:
    """Keys that STS refuses: said in one line after the one STS call, exit 2, no Terraform."""
    aws.accept_identity = False
    world = _world(tmp_path, aws, "fake")
    make_rails_app(world.root, APP)

    run = _run(world, "plan")

    assert "Traceback" not in run.output, run.output
    assert run.code == 2, run.output
    assert run.stderr.startswith("Error: AWS rejected the credentials: AccessDenied"), run.stderr
    assert not world.record.exists()
    assert len(aws.requests) == 1 and "GetCallerIdentity" in aws.requests[0], aws.requests
