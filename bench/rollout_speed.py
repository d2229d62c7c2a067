"""How long does a real rollout take with hakobu's health settings, and with AWS's defaults?

Run: `python bench/rollout_speed.py [--boot 5] [--keep]` (about 3.5 minutes: ~2 of them
the one-off `hakobu up --sandbox --yes`). See bench/README.md.

In ONE sandbox whose runtime runs the service's tasks as podman (or docker) containers
behind a load balancer on 127.0.0.1: a Rails-like app is provisioned, a busybox httpd
image (tests/support/images.py) is recorded in the emulated ECR as `deploy --sandbox`
records one and deployed. Then, while a client asks `/up` through the load balancer in a
loop, `hakobu deploy --sandbox --image REPO:TAG` rolls out the next version (a new `/up`
body), and the bench records the seconds from the deploy's start until every answer comes
from the new version, the failed requests, and when `deploy` returned (rollout COMPLETED).

Two rollouts per setting: an app listening within milliseconds of its start, and one
that needs `--boot` seconds before it listens (a Rails or Django server loading its code).
Settings: first the target group and service as hakobu renders them, then the same ones
set to AWS's defaults with boto3 against the emulator (interval 30 s, healthy 5,
unhealthy 2, timeout 5 s, deregistration delay 300 s, no health-check grace period).
Ratios are hakobu / defaults. The emulator is stopped and the directory removed at the
end, also on failure or Ctrl-C (`--keep` keeps both).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

from hakobu.core.config import Environment, load_project
from hakobu.core.names import Names
from hakobu.provision.blueprint import render
from hakobu.provision.blueprint.service import HEALTH_CHECK_GRACE_SECONDS
from hakobu.provision.scaffold import write_config
from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.runtime.engine import ContainerEngine

# The test images and the ECR record are the integration tests' own (tests/support/).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.images import build, http_image
from tests.support.sandbox_app import load_balancer_url, record_in_ecr

APP = "rollout-bench"
UP_TIMEOUT_S = 900
DEPLOY_TIMEOUT_S = 900
POLL_GAP_S = 0.05  # the client's pause between requests (about 20 requests a second)
PROGRESS_EVERY_S = 10
SETTLE_S = 1.0  # keep asking this long after `deploy` returned
# AWS's defaults for an HTTP target group (CreateTargetGroup) and for a service that sets
# no healthCheckGracePeriodSeconds (0).
AWS_DEFAULTS = {
    "HealthCheckIntervalSeconds": 30,
    "HealthyThresholdCount": 5,
    "UnhealthyThresholdCount": 2,
    "HealthCheckTimeoutSeconds": 5,
}
AWS_DEREGISTRATION_S = 300
AWS_GRACE_S = 0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def say(line: str) -> None:
    print(line, flush=True)


# --- the app and its versions ------------------------------------------------------------


@dataclass
class Sandbox:
    """The provisioned app, its engine and AWS clients against its emulator."""

    root: Path
    env_vars: dict[str, str]
    engine: ContainerEngine
    images_dir: Path
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> Environment:
        return load_project(self.root / "hakobu.toml").environment(None)

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            server = sandbox.running(self.root)
            assert server is not None, "the sandbox emulator is not running"
            self.clients[service] = sandbox.client(server, self.env.region, service)
        return self.clients[service]

    def hakobu(self, *args: str) -> Running:
        """Start `python -m hakobu ARGS` in the app, its output going to a file."""
        log = self.images_dir.parent / f"hakobu-{time.monotonic_ns()}.log"
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "hakobu", *args],
                cwd=self.root,
                env=self.env_vars,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return Running(process, log, " ".join(args[:2]))

    def target_group_arn(self) -> str:
        service = self.client("ecs").describe_services(
            cluster=self.names.cluster, services=[self.names.service]
        )["services"][0]
        return str(service["loadBalancers"][0]["targetGroupArn"])

    def version(self, tag: str, body: str, boot_s: float) -> str:
        """Build the version (or reuse its image), record it in ECR; the image URI."""
        image = http_image(self.engine, self.images_dir, up_body=body)
        if boot_s > 0:
            image = booting(self.engine, self.images_dir, image, boot_s)
        uri, _ = record_in_ecr(self.client("ecr"), self.engine, image, self.names.repository, tag)
        return f"{uri}:{tag}"


def booting(engine: ContainerEngine, work_dir: Path, base: str, boot_s: float) -> str:
    """`base` that waits `boot_s` seconds before it listens (a server loading its code)."""
    image = f"{base}-boot{boot_s:g}"
    if not engine.image_exists(image):
        context = work_dir / f"boot-{image.rsplit(':', 1)[-1]}"
        context.mkdir(parents=True, exist_ok=True)
        (context / "Dockerfile").write_text(
            f'FROM {base}\nENV BOOT_S="{boot_s:g}"\n'
            'CMD ["/bin/sh", "-c", "sleep \\"$BOOT_S\\" && exec /serve"]\n',
            encoding="utf-8",
        )
        build(engine, context, image)
    return image


def make_app(tmp: Path) -> Path:
    """A directory that looks like a Rails app, with the hakobu.toml `hakobu init` writes."""
    root = tmp / APP
    (root / "config").mkdir(parents=True)
    (root / "config" / "application.rb").write_text(
        "module Myapp\n  class Application < Rails::Application\n  end\nend\n"
    )
    (root / "config" / "master.key").write_text("5f0e6c1d2b3a49588776655443322110\n")
    write_config(root, APP)
    return root


@dataclass
class Running:
    """A hakobu command started in the background."""

    process: subprocess.Popen[bytes]
    log: Path
    what: str

    def poll(self) -> int | None:
        return self.process.poll()

    def kill(self) -> None:
        self.process.kill()

    def finished(self, timeout: float) -> str:
        """Wait for it; its output. A failure stops the bench."""
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        output = self.log.read_text(encoding="utf-8", errors="replace")
        if code != 0:
            raise RuntimeError(f"`hakobu {self.what}` exited {code}:\n{output[-3000:]}")
        return output


# --- the client and the target-health sampler --------------------------------------------


@dataclass(frozen=True)
class Answer:
    at: float  # monotonic, when the request was sent
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    body: str


class Client(threading.Thread):
    """Asks `/up` through the load balancer in a loop, as a user's browser would."""

    def __init__(self, url: str) -> None:
        super().__init__(name="bench-client", daemon=True)
        self.url = url
        self.answers: list[Answer] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.answers.append(self._ask())
            self._halt.wait(POLL_GAP_S)

    def _ask(self) -> Answer:
        at = time.monotonic()
        try:
            with _DIRECT.open(self.url + "/up", timeout=10) as reply:
                return Answer(at, reply.status, reply.read().decode().strip())
        except urllib.error.HTTPError as error:
            return Answer(at, error.code, "")
        except OSError as error:
            return Answer(at, None, str(error))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=15)


class Health(threading.Thread):
    """describe-target-health every 0.2 s: when each target was first seen in each state."""

    def __init__(self, elbv2: Any, target_group: str) -> None:
        super().__init__(name="bench-health", daemon=True)
        self.elbv2, self.target_group = elbv2, target_group
        self.first_seen: dict[tuple[str, str], float] = {}
        self.now: dict[str, str] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            with contextlib.suppress(Exception):  # one missed sample is no matter
                found = self.elbv2.describe_target_health(TargetGroupArn=self.target_group)
                at = time.monotonic()
                self.now = {
                    t["Target"]["Id"]: t["TargetHealth"]["State"]
                    for t in found["TargetHealthDescriptions"]
                }
                for target_id, state in self.now.items():
                    self.first_seen.setdefault((target_id, state), at)
            self._halt.wait(0.2)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=15)


# --- one rollout -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollout:
    setting: str
    app: str
    all_new_s: float  # deploy start -> first answer after which every answer is new
    first_new_s: float  # deploy start -> the first answer from the new version
    deploy_s: float  # deploy start -> `hakobu deploy` returned (rollout COMPLETED)
    new_healthy_s: float | None  # deploy start -> the new target first seen healthy
    old_draining_s: float | None  # deploy start -> the old target first seen draining
    requests: int
    failed: int
    old_answers: int  # answers from the old version after the deploy started


def rollout(sb: Sandbox, setting: str, app: str, old: str, new: str, image: str) -> Rollout:
    url = load_balancer_url(sb.root)
    assert url is not None, "the sandbox serves no load balancer"
    client, health = Client(url), Health(sb.client("elbv2"), sb.target_group_arn())
    client.start()
    health.start()
    try:
        wait_for(
            lambda: health.now and any(a.body == old for a in client.answers),
            f"{old!r} to answer and its target to be described",
            30,
        )
        old_targets = {t for t, state in health.now.items() if state == "healthy"}
        start = time.monotonic()
        deploy = sb.hakobu("deploy", "--sandbox", "--image", image)
        next_report = start + PROGRESS_EVERY_S
        while deploy.poll() is None:
            time.sleep(0.2)
            if time.monotonic() >= next_report:
                next_report += PROGRESS_EVERY_S
                progress(start, client, health, new)
            if time.monotonic() - start > DEPLOY_TIMEOUT_S:
                deploy.kill()
        deploy_s = time.monotonic() - start
        deploy.finished(30)
        time.sleep(SETTLE_S)
    finally:
        client.stop()
        health.stop()
    answers = [a for a in client.answers if a.at >= start]
    last_other = max((i for i, a in enumerate(answers) if a.body != new), default=-1)
    assert last_other + 1 < len(answers), f"{new!r} never answered every request"
    new_targets = {t for t, _ in health.first_seen} - old_targets
    return Rollout(
        setting=setting,
        app=app,
        all_new_s=answers[last_other + 1].at - start,
        first_new_s=next(a.at for a in answers if a.body == new) - start,
        deploy_s=deploy_s,
        new_healthy_s=seen(health, new_targets, "healthy", start),
        old_draining_s=seen(health, old_targets, "draining", start),
        requests=len(answers),
        failed=sum(1 for a in answers if a.status != 200),
        old_answers=sum(1 for a in answers if a.body == old),
    )


def seen(health: Health, targets: set[str], state: str, start: float) -> float | None:
    times = [at for (t, s), at in health.first_seen.items() if t in targets and s == state]
    return min(times) - start if times else None


def progress(start: float, client: Client, health: Health, new: str) -> None:
    since = [a for a in client.answers if a.at >= start]
    recent = since[-40:]
    share = sum(a.body == new for a in recent) / len(recent) if recent else 0.0
    targets = ", ".join(f"{t} {s}" for t, s in sorted(health.now.items())) or "none"
    say(
        f"    {time.monotonic() - start:5.0f} s: {len(since)} answers since the deploy began, "
        f"{share:4.0%} of the last {len(recent)} from the new version; targets: {targets}"
    )


def wait_for(condition: Any, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


# --- the settings ------------------------------------------------------------------------


def described(sb: Sandbox) -> dict[str, Any]:
    """The target group and service health settings as the emulator describes them."""
    elbv2, arn = sb.client("elbv2"), sb.target_group_arn()
    group = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    service = sb.client("ecs").describe_services(
        cluster=sb.names.cluster, services=[sb.names.service]
    )["services"][0]
    delay = {a["Key"]: a["Value"] for a in attributes}["deregistration_delay.timeout_seconds"]
    return {
        "interval": int(group["HealthCheckIntervalSeconds"]),
        "healthy": int(group["HealthyThresholdCount"]),
        "unhealthy": int(group["UnhealthyThresholdCount"]),
        "timeout": int(group["HealthCheckTimeoutSeconds"]),
        "deregistration": int(delay),
        "grace": int(service.get("healthCheckGracePeriodSeconds", 0)),
    }


def rendered(sb: Sandbox) -> dict[str, Any]:
    """The same settings as hakobu renders them (provision/blueprint)."""
    resources = render(sb.env)["resource"]
    group = next(iter(resources["aws_lb_target_group"].values()))
    check = group["health_check"]
    return {
        "interval": int(check["interval"]),
        "healthy": int(check["healthy_threshold"]),
        "unhealthy": int(check["unhealthy_threshold"]),
        "timeout": int(check["timeout"]),
        "deregistration": int(group["deregistration_delay"]),
        "grace": HEALTH_CHECK_GRACE_SECONDS,
    }


def set_aws_defaults(sb: Sandbox) -> None:
    elbv2, arn = sb.client("elbv2"), sb.target_group_arn()
    elbv2.modify_target_group(TargetGroupArn=arn, **AWS_DEFAULTS)
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(AWS_DEREGISTRATION_S)}
        ],
    )
    sb.client("ecs").update_service(
        cluster=sb.names.cluster,
        service=sb.names.service,
        healthCheckGracePeriodSeconds=AWS_GRACE_S,
    )
    time.sleep(2)  # the runtime reads the group again on its next pass (every second or less)


def settings_text(s: dict[str, Any]) -> str:
    return (
        f"interval {s['interval']} s, healthy {s['healthy']}, unhealthy {s['unhealthy']}, "
        f"timeout {s['timeout']} s, deregistration {s['deregistration']} s, "
        f"grace {s['grace']} s"
    )


# --- the run -----------------------------------------------------------------------------


def set_up(tmp: Path, base_env: dict[str, str]) -> tuple[Sandbox, float]:
    root = make_app(tmp)
    engine = ContainerEngine.find(tmp)
    if engine is None:
        raise SystemExit("no working podman or docker: the runtime cannot run tasks here")
    images_dir = tmp / "images"
    images_dir.mkdir()
    sb = Sandbox(root, base_env, engine, images_dir)
    say("Provisioning: `hakobu up --sandbox --yes` (about 2 minutes) ...")
    start = time.monotonic()
    sb.hakobu("up", "--sandbox", "--yes").finished(UP_TIMEOUT_S)
    up_s = time.monotonic() - start
    facts = sandbox.runtime_facts(root) or {}
    if not facts.get("engine"):
        raise SystemExit(f"the sandbox runtime runs no tasks here: {json.dumps(facts)}")
    return sb, up_s


def measure(sb: Sandbox, boot_s: float) -> list[Rollout]:
    say("Deploying v1 (the starting point, not measured) ...")
    bodies = [f"bench v{n}" for n in range(1, 6)]
    sb.hakobu("deploy", "--sandbox", "--image", sb.version("v1", bodies[0], 0)).finished(
        DEPLOY_TIMEOUT_S
    )
    applied, ours = described(sb), rendered(sb)
    say(f"hakobu's settings, rendered: {settings_text(ours)}")
    say(f"                   applied:  {settings_text(applied)}")
    assert applied == ours, "the sandbox does not hold what hakobu renders"
    apps = (("instant", 0.0), (f"boots {boot_s:g} s", boot_s))
    plan = [("hakobu", apps[0], 2), ("hakobu", apps[1], 3), ("AWS defaults", apps[0], 4),
            ("AWS defaults", apps[1], 5)]  # fmt: skip
    found: list[Rollout] = []
    for setting, (app, boot), n in plan:
        if setting == "AWS defaults" and found[-1].setting == "hakobu":
            set_aws_defaults(sb)
            say(f"AWS's defaults set with boto3, described back: {settings_text(described(sb))}")
        old, new = bodies[n - 2], bodies[n - 1]
        image = sb.version(f"v{n}", new, boot)
        wait = " (AWS defaults: a minute or less)" if setting != "hakobu" else ""
        say(f"Rollout v{n - 1} -> v{n}, {setting} settings, app {app}{wait} ...")
        done = rollout(sb, setting, app, old, new, image)
        say(
            f"    all answers from v{n} after {done.all_new_s:.1f} s; deploy returned after "
            f"{done.deploy_s:.1f} s; {done.failed} failed of {done.requests}"
        )
        found.append(done)
    return found


def report(found: list[Rollout], up_s: float, total_s: float) -> None:
    say(f"\nSetup (not compared): `hakobu up --sandbox --yes` {up_s:.0f} s")
    say("\nReal rollouts in the sandbox (client on /up through the load balancer, one run):")
    header = (
        f"  {'settings':13}{'app':14}{'all new':>9}{'first new':>10}{'new healthy':>12}"
        f"{'old drains':>11}{'deploy':>8}{'requests':>9}{'failed':>7}"
    )
    say(header)
    for r in found:
        say(
            f"  {r.setting:13}{r.app:14}{r.all_new_s:8.1f}s{r.first_new_s:9.1f}s"
            f"{opt(r.new_healthy_s):>12}{opt(r.old_draining_s):>11}{r.deploy_s:7.1f}s"
            f"{r.requests:9d}{r.failed:7d}"
        )
    say("  (seconds from the start of `hakobu deploy`; new healthy / old drains: first seen")
    say("   in describe-target-health, sampled every 0.2 s)")
    by = {(r.setting, r.app): r for r in found}
    for app in dict.fromkeys(r.app for r in found):
        ours, theirs = by[("hakobu", app)], by[("AWS defaults", app)]
        say(
            f"  ratio hakobu / AWS defaults, app {app}: to all new "
            f"{ours.all_new_s / theirs.all_new_s:.2f} ({ours.all_new_s:.1f} s / "
            f"{theirs.all_new_s:.1f} s), to deploy done {ours.deploy_s / theirs.deploy_s:.2f}"
        )
    say(f"  failed requests in all: {sum(r.failed for r in found)}")
    say(f"\nTotal wall time: {total_s:.0f} s")


def opt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def workspace(keep: bool, base_env: dict[str, str]) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="hakobu-rollout-bench-"))
    try:
        yield tmp
    finally:
        root = tmp / APP
        if keep:
            say(f"\nKept {root} (stop its emulator with `hakobu sandbox stop` there).")
        elif (root / "hakobu.toml").exists():
            say("Cleaning up: `hakobu sandbox stop` ...")
            subprocess.run(
                [sys.executable, "-m", "hakobu", "sandbox", "stop"],
                cwd=root,
                env=base_env,
                capture_output=True,
                timeout=180,
                check=False,
            )
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--boot", type=float, default=5, help="seconds the second app waits before it listens"
    )
    parser.add_argument("--keep", action="store_true", help="keep the app and its emulator")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    base_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    started = time.monotonic()
    say(f"hakobu rollout bench, {date.today().isoformat()}, {os.cpu_count()} CPUs")
    with workspace(args.keep, base_env) as tmp:
        sb, up_s = set_up(tmp, base_env)
        found = measure(sb, args.boot)
        report(found, up_s, time.monotonic() - started)
    say(f"Done in {time.monotonic() - started:.0f} s (with the clean-up).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
