"""How fast is a code-only redeploy with hakobu, compared with the guide's manual sequence?

Run: `python bench/deploy_speed.py [--runs 5] [--polls 15] [--keep]` (about 2.5 minutes,
most of it the one-off `hakobu up --sandbox --yes`). See bench/README.md.

1. Measured, against ONE sandbox emulator (moto) provisioned once by `hakobu up`:
   `hakobu deploy --sandbox --image REPO:TAG` (prebuilt image: no build) versus the guide's
   `aws ecs update-service --force-new-deployment` followed by a fixed number of its
   `aws ecs describe-services --query 'services[0].runningCount'` polls. AWS calls are
   counted on the emulator side, twice: moto's request recorder (which also names each
   operation) and the werkzeug request lines in `.hakobu/sandbox.log`.
   Terraform must not run during a deploy: a logging `terraform` shim (proved by `up`,
   which goes through it) and the state file's mtime and hash show it does not.
2. Computed: the rollout wait implied by the target group's health-check settings on real
   AWS, hakobu's (read from `hakobu.provision.blueprint.render`) versus the guide's defaults.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from hakobu.core.config import Environment, load_project, parse_project
from hakobu.core.names import Names
from hakobu.provision.blueprint import render
from hakobu.sandbox import emulator as sandbox

APP = "bench"
TAG = "v1"
RELEASE_COMMAND = "python manage.py migrate"
# The guide says "wait for the tasks to start (2-3 minutes)" and gives no poll interval.
# A person re-running the command every 10 s for the midpoint, 2.5 minutes, polls 15 times.
GUIDE_POLL_INTERVAL_S = 10
GUIDE_WAIT_S = 150
GUIDE_POLLS = GUIDE_WAIT_S // GUIDE_POLL_INTERVAL_S
# The guide's target group shows no health_check block, so AWS's defaults for an HTTP
# target group apply: interval 30 s, healthy threshold 5, deregistration delay 300 s.
GUIDE_HEALTH = {"interval": 30, "healthy_threshold": 5, "deregistration_delay": 300}
# The Terraform provider's own default (used if a health_check block sets only `path`).
PROVIDER_HEALTHY_THRESHOLD = 3
UP_TIMEOUT_S = 600
CALL_TIMEOUT_S = 120
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:" + "b" * 64,
        },
        "layers": [],
    }
)
_LOG_REQUEST = re.compile(r'"(?:GET|POST|PUT|DELETE|HEAD|PATCH) (\S+) HTTP/')
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- the bench's workspace ---------------------------------------------------------------


@dataclass
class Workspace:
    """The temporary app, its emulator and the files the bench counts with."""

    tmp: Path
    root: Path
    recording: Path
    shim_log: Path
    base_env: dict[str, str]
    server: sandbox.SandboxServer | None = None

    @property
    def env(self) -> Environment:
        return load_project(self.root / "hakobu.toml").environment(None)

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    @property
    def live(self) -> sandbox.SandboxServer:
        assert self.server is not None, "the sandbox is not running"
        return self.server

    def hakobu(self, *args: str, timeout: float = CALL_TIMEOUT_S) -> tuple[float, str]:
        """Run `python -m hakobu ARGS` in the app; its wall time and output."""
        return timed([sys.executable, "-m", "hakobu", *args], self.root, self.base_env, timeout)

    def aws_env(self) -> dict[str, str]:
        return sandbox.subprocess_environment(self.live, self.env.region)


def make_workspace() -> Workspace:
    tmp = Path(tempfile.mkdtemp(prefix="hakobu-bench-"))
    root = tmp / APP
    root.mkdir()
    shim_log = tmp / "terraform-calls.log"
    base_env = {k: v for k, v in os.environ.items() if k != "MOTO_ENABLE_RECORDING"}
    base_env |= {"COLUMNS": "200", "NO_COLOR": "1"}
    # The control plane only: with an engine the runtime would try to run the placeholder
    # image and `deploy` would follow (and fail) the rollout. bench/rollout_speed.py runs one.
    base_env["HAKOBU_CONTAINER_ENGINE"] = "none"
    base_env |= terraform_shim(tmp / "shim", shim_log, base_env)
    # Inherited by the emulator `hakobu up` starts; recording stays off until we start it.
    base_env["MOTO_RECORDER_FILEPATH"] = str(tmp / "recording.jsonl")
    return Workspace(tmp, root, tmp / "recording.jsonl", shim_log, base_env)


def terraform_shim(directory: Path, log: Path, env: dict[str, str]) -> dict[str, str]:
    """A `terraform` (and `tofu`) on PATH that logs each invocation, then runs the real one."""
    real = env.get("HAKOBU_TERRAFORM") or shutil.which("terraform") or shutil.which("tofu")
    if real is None:
        raise SystemExit("terraform (or tofu) is not on PATH: `hakobu up` needs it")
    directory.mkdir(parents=True)
    for name in ("terraform", "tofu"):
        shim = directory / name
        shim.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
        shim.chmod(0o755)
    return {
        "HAKOBU_TERRAFORM": str(directory / "terraform"),
        "PATH": f"{directory}{os.pathsep}{env.get('PATH', '')}",
    }


def timed(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[float, str]:
    """Run a command; its wall time and output. A failure stops the bench."""
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` exited {done.returncode}:\n{output[-3000:]}")
    return seconds, output


# --- setup -------------------------------------------------------------------------------


def set_up(ws: Workspace) -> float:
    """init + up + an image in ECR; the seconds `hakobu up` took."""
    ws.hakobu("init", "--app", APP)
    assert ws.env.framework == "container", "an empty directory should give a container app"
    say("Provisioning the sandbox stack: `hakobu up --sandbox --yes` takes about 100 s ...")
    seconds, _ = ws.hakobu("up", "--sandbox", "--yes", timeout=UP_TIMEOUT_S)
    ws.server = sandbox.running(ws.root)
    push_image(ws)
    moto_api(ws, "recorder/start-recording", post=True)
    return seconds


def push_image(ws: Workspace) -> None:
    ecr = sandbox.client(ws.live, ws.env.region, "ecr")
    ecr.put_image(repositoryName=ws.names.repository, imageManifest=MANIFEST, imageTag=TAG)


def image_uri(ws: Workspace) -> str:
    ecr = sandbox.client(ws.live, ws.env.region, "ecr")
    found = ecr.describe_repositories(repositoryNames=[ws.names.repository])["repositories"]
    return f"{found[0]['repositoryUri']}:{TAG}"


def set_release_command(ws: Workspace, command: str) -> None:
    config = ws.root / "hakobu.toml"
    text, count = re.subn(
        r"^release_command = .*$",
        f"release_command = {json.dumps(command)}",
        config.read_text(encoding="utf-8"),
        count=1,
        flags=re.M,
    )
    assert count == 1, "hakobu.toml has no release_command line to change"
    config.write_text(text, encoding="utf-8")
    assert ws.env.release_command == command.split()


# --- counting on the emulator side -------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    operations: list[str]  # from moto's recorder
    log_requests: int  # werkzeug lines in sandbox.log, AWS paths only


def moto_api(ws: Workspace, path: str, post: bool = False) -> str:
    request = urllib.request.Request(
        f"{ws.live.endpoint}/moto-api/{path}", method="POST" if post else "GET"
    )
    with _DIRECT.open(request, timeout=10) as response:
        return response.read().decode("utf-8")


@contextmanager
def counted(ws: Workspace, into: list[Sample]) -> Iterator[Callable[[float], None]]:
    """Count the requests the emulator receives inside the block; the block reports its time."""
    moto_api(ws, "recorder/reset-recording", post=True)
    log = sandbox.log_path(ws.root)
    offset = log.stat().st_size
    seconds: list[float] = []
    yield seconds.append
    time.sleep(0.2)  # let the server thread write its last log line
    with log.open("rb") as handle:
        handle.seek(offset)
        added = handle.read().decode("utf-8", errors="replace")
    recorded = moto_api(ws, "recorder/download-recording")
    into.append(Sample(sum(seconds), recorded_operations(recorded), aws_log_lines(added)))


def recorded_operations(recording: str) -> list[str]:
    entries = [json.loads(line) for line in recording.splitlines() if line.strip()]
    return [operation(e) for e in entries if not urlparse(e["url"]).path.startswith("/moto-api/")]


def operation(entry: dict[str, Any]) -> str:
    """`service:Operation` of a recorded request (JSON target, query Action, or REST path)."""
    headers = {k.lower(): v for k, v in entry["headers"].items()}
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = scope.group(1) if scope else "?"
    if "x-amz-target" in headers:
        return f"{service}:{headers['x-amz-target'].rsplit('.', 1)[-1]}"
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    action = parse_qs(body).get("Action")
    if action:
        return f"{service}:{action[0]}"
    return f"{service}:{entry['method']} {urlparse(entry['url']).path}"


def aws_log_lines(log_text: str) -> int:
    paths = _LOG_REQUEST.findall(log_text)
    return sum(1 for path in paths if not path.startswith("/moto-api/"))


# --- the two sides -----------------------------------------------------------------------


def hakobu_deploy(ws: Workspace, image: str, into: list[Sample]) -> None:
    with counted(ws, into) as took:
        seconds, output = ws.hakobu("deploy", "--sandbox", "--image", image)
        took(seconds)
    assert "the rollout was not followed" in output, output


def guide_sequence(ws: Workspace, polls: int, into: list[Sample], update_only: list[float]) -> None:
    cluster, service, region = ws.names.cluster, ws.names.service, ws.env.region
    update = [
        "aws",
        "ecs",
        "update-service",
        "--cluster",
        cluster,
        "--service",
        service,
        "--force-new-deployment",
        "--region",
        region,
    ]
    poll = [
        "aws",
        "ecs",
        "describe-services",
        "--cluster",
        cluster,
        "--services",
        service,
        "--query",
        "services[0].runningCount",
        "--region",
        region,
    ]
    env = ws.aws_env()
    with counted(ws, into) as took:
        seconds, _ = timed(update, ws.root, env, CALL_TIMEOUT_S)
        update_only.append(seconds)
        took(seconds)
        for _ in range(polls):
            took(timed(poll, ws.root, env, CALL_TIMEOUT_S)[0])


def startup_costs(ws: Workspace, runs: int = 3) -> dict[str, float]:
    """Median seconds of process start-up alone, and of one warm moto round trip."""
    aws = [timed(["aws", "--version"], ws.root, ws.aws_env(), 30)[0] for _ in range(runs)]
    hakobu = [ws.hakobu("--help")[0] for _ in range(runs)]
    ecs = sandbox.client(ws.live, ws.env.region, "ecs")
    trips = []
    for _ in range(20):
        start = time.perf_counter()
        ecs.describe_services(cluster=ws.names.cluster, services=[ws.names.service])
        trips.append(time.perf_counter() - start)
    return {
        "aws --version": statistics.median(aws),
        "python -m hakobu --help": statistics.median(hakobu),
        "moto round trip (boto3, warm)": statistics.median(trips),
    }


@dataclass
class Measurements:
    hakobu: list[Sample] = field(default_factory=list)
    hakobu_release: list[Sample] = field(default_factory=list)
    guide: list[Sample] = field(default_factory=list)
    guide_update_only: list[float] = field(default_factory=list)
    startup: dict[str, float] = field(default_factory=dict)
    terraform_calls_in_up: int = 0
    terraform_calls_in_deploys: int = 0
    state_unchanged: bool = False


def measure(ws: Workspace, runs: int, polls: int) -> Measurements:
    found = Measurements(terraform_calls_in_up=line_count(ws.shim_log))
    state = state_file(ws.root)
    before = fingerprint(state)
    image = image_uri(ws)
    for i in range(runs):  # interleaved, so drift on a shared machine hits both sides alike
        say(f"Run {i + 1}/{runs}: hakobu deploy, then the guide's 1 + {polls} aws calls ...")
        hakobu_deploy(ws, image, found.hakobu)
        guide_sequence(ws, polls, found.guide, found.guide_update_only)
    set_release_command(ws, RELEASE_COMMAND)
    say(f"{runs} more hakobu deploys with release_command = {RELEASE_COMMAND!r} ...")
    for _ in range(runs):
        hakobu_deploy(ws, image, found.hakobu_release)
    found.terraform_calls_in_deploys = line_count(ws.shim_log) - found.terraform_calls_in_up
    found.state_unchanged = fingerprint(state) == before
    found.startup = startup_costs(ws)
    return found


def state_file(root: Path) -> Path:
    found = sorted((root / ".hakobu" / "sandbox").glob("*/terraform.tfstate"))
    assert found, "no Terraform state after `hakobu up`"
    return found[0]


def fingerprint(path: Path) -> tuple[int, str]:
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


# --- 2. the rollout wait implied by health checks ------------------------------------------


@dataclass(frozen=True)
class HealthWait:
    interval: int
    healthy_threshold: int
    deregistration_delay: int

    @property
    def to_healthy(self) -> int:
        return self.interval * self.healthy_threshold

    @property
    def per_rollout(self) -> int:
        return self.to_healthy + self.deregistration_delay


def hakobu_health(root: Path) -> HealthWait:
    """The target group as hakobu renders it for a default environment."""
    env = parse_project({"app": APP}, root).environment(None)
    groups = render(env)["resource"]["aws_lb_target_group"]
    assert len(groups) == 1, f"expected one target group, got {list(groups)}"
    group = next(iter(groups.values()))
    check = group["health_check"]
    return HealthWait(
        int(check["interval"]), int(check["healthy_threshold"]), int(group["deregistration_delay"])
    )


# --- the report --------------------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)


def median(samples: list[Sample]) -> tuple[float, float, float]:
    """Median wall seconds, recorded AWS calls and AWS log lines."""
    return (
        statistics.median(s.seconds for s in samples),
        statistics.median(len(s.operations) for s in samples),
        statistics.median(s.log_requests for s in samples),
    )


def operations_text(samples: list[Sample]) -> str:
    counts = Counter(samples[0].operations)
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())


def versions() -> str:
    import moto

    aws = subprocess.run(["aws", "--version"], capture_output=True, text=True, check=False)
    return f"moto {moto.__version__}, {(aws.stdout or aws.stderr).split()[0]}"


def report_deploys(m: Measurements, runs: int, polls: int) -> None:
    h, hr, g = median(m.hakobu), median(m.hakobu_release), median(m.guide)
    u = statistics.median(m.guide_update_only)
    say(f"\n1. Code-only redeploy of a prebuilt image (median of {runs} runs, same emulator)")
    say(f"   {'':44}{'wall s':>8}{'AWS calls':>11}{'log lines':>11}")
    rows = [
        ("hakobu deploy --sandbox --image (no release)", h),
        ("hakobu deploy, release_command set", hr),
        (f"guide: update-service + {polls} polls", g),
    ]
    for label, (sec, calls, lines) in rows:
        say(f"   {label:44}{sec:8.2f}{calls:11.0f}{lines:11.0f}")
    say(f"   {'  of which update-service alone':44}{u:8.2f}{1:11d}")
    say(f"   {'ratio hakobu / guide (no release)':44}{h[0] / g[0]:8.2f}{h[1] / g[1]:11.2f}")
    say(f"   {'ratio hakobu / guide (release command)':44}{hr[0] / g[0]:8.2f}{hr[1] / g[1]:11.2f}")
    say(f"   {'ratio hakobu / update-service alone':44}{h[0] / u:8.2f}{h[1]:11.2f}")
    agree = all(len(s.operations) == s.log_requests for s in m.hakobu + m.hakobu_release + m.guide)
    say(
        f"   AWS calls = moto's request recorder; log lines = werkzeug lines in sandbox.log "
        f"(without /moto-api/ probes); they {'agree for every run' if agree else 'DISAGREE'}."
    )
    say(f"   hakobu's calls: {operations_text(m.hakobu)}")
    say(f"   with release:   {operations_text(m.hakobu_release)}")
    say(f"   guide's calls:  {operations_text(m.guide)}")


def report_sides(m: Measurements, polls: int) -> None:
    say("   What each side does:")
    say(
        "   - hakobu: reads the service, resolves the tag to its digest in ECR, registers a new"
        " immutable\n     task-definition revision (tagged with image, who, when), runs the"
        " release task\n     (when set), points the service at that revision. In the sandbox it"
        " stops there;\n     on AWS it would then follow the rollout to COMPLETED (or the"
        " circuit breaker's rollback)."
    )
    say(
        f"   - guide: restarts the service on whatever `latest` is now, then polls runningCount"
        f" {polls} times\n     (the guide's '2-3 minutes', midpoint 150 s, at one poll every"
        f" {GUIDE_POLL_INTERVAL_S} s; here without the sleeps).\n     No revision, no digest,"
        " no migrations (the guide runs them afterwards by hand via ECS Exec)."
    )
    startup = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in m.startup.items())
    say(f"   Start-up and latency (median): {startup}")
    say(
        f"   Terraform during the {len(m.hakobu) + len(m.hakobu_release)} deploys: "
        f"{m.terraform_calls_in_deploys} invocations (the same shim logged "
        f"{m.terraform_calls_in_up} during `up`); state file "
        f"{'unchanged (mtime and sha256)' if m.state_unchanged else 'CHANGED'}."
    )


def report_health(root: Path) -> None:
    ours, guide = hakobu_health(root), HealthWait(**GUIDE_HEALTH)
    provider = HealthWait(guide.interval, PROVIDER_HEALTHY_THRESHOLD, guide.deregistration_delay)
    say("\n2. Rollout wait implied by health-check settings on real AWS (computed, not measured)")
    say(f"   {'':34}{'to healthy':>18}{'old task drains':>17}{'per rollout':>13}")
    for label, w in (("hakobu (rendered target group)", ours), ("guide (AWS defaults)", guide)):
        healthy = f"{w.interval} x {w.healthy_threshold} = {w.to_healthy} s"
        say(f"   {label:34}{healthy:>18}{w.deregistration_delay:>15} s{w.per_rollout:>11} s")
    say(
        f"   {'ratio hakobu / guide':34}{ours.to_healthy / guide.to_healthy:>18.2f}"
        f"{ours.deregistration_delay / guide.deregistration_delay:>17.2f}"
        f"{ours.per_rollout / guide.per_rollout:>13.2f}"
    )
    say(
        f"   Saved per rollout: {guide.per_rollout - ours.per_rollout} s. If the guide's"
        " Terraform had a health_check block setting only `path`,"
        f"\n   the provider's default healthy_threshold = {PROVIDER_HEALTHY_THRESHOLD} would"
        f" apply: {provider.to_healthy} s to healthy, {provider.per_rollout} s per rollout "
        f"(ratio {ours.per_rollout / provider.per_rollout:.2f})."
    )


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per side (default 5)")
    parser.add_argument(
        "--polls",
        type=int,
        default=GUIDE_POLLS,
        help=f"the guide's describe-services polls per run (default {GUIDE_POLLS})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary app directory")
    args = parser.parse_args()
    ws = make_workspace()
    say(
        f"hakobu deploy-speed bench, {date.today().isoformat()}, {versions()}, "
        f"{os.cpu_count()} CPUs; app in {ws.root}"
    )
    try:
        setup_s = set_up(ws)
        say(f"Setup (not part of the comparison): `hakobu up --sandbox --yes` {setup_s:.1f} s")
        found = measure(ws, args.runs, args.polls)
        report_deploys(found, args.runs, args.polls)
        report_sides(found, args.polls)
        report_health(ws.root)
    finally:
        subprocess.run(
            [sys.executable, "-m", "hakobu", "sandbox", "stop"],
            cwd=ws.root,
            env=ws.base_env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if not args.keep:
            shutil.rmtree(ws.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
