"""How fast is `hakobu status` compared with the guide's commands for the same information?

Run: `python bench/status_speed.py [--runs 7] [--keep]` (about 2-3 minutes: ~100 s of it
is the one-off `hakobu up --sandbox --yes` in a temporary app; the emulator is stopped and
the directory removed at the end, even on failure, unless --keep).

Against ONE sandbox emulator (moto on loopback), provisioned once:
- hakobu: `python -m hakobu status --sandbox --json`;
- the floor: a hand-written boto3 script (written by this bench, `FLOOR_SCRIPT`) making
  the calls hakobu makes, one after the other from one boto3 session, and printing the
  raw answers as JSON: what a user could reach by hand in Python (issue 8's target:
  hakobu at most 1.3x its time, with at most its calls);
- the guide: its own commands, run by bash with the awscli package exactly as the guide
  writes them ("メンテナンス" 1, 2, 3 and 5, plus the DB look of "トラブルシューティング" and
  `terraform output load_balancer_dns` for the URL), with the environment that
  `eval "$(hakobu sandbox env)"` would set (`hakobu.sandbox.emulator.client_environment`).
Each side's wall time is the median of --runs runs (alternating, after one warm-up each).
API calls are counted on the emulator's side: every AWS request is one werkzeug request line
in `.hakobu/sandbox.log` (hakobu's own `/moto-api/` liveness probe is not an AWS call).
Then the start-up cost: `python -m hakobu --help` against `python -c pass`, and the heaviest
imports behind it (`python -X importtime`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hakobu.provision.scaffold import write_config
from hakobu.sandbox import emulator as sandbox

APP = "rails-app"
REGION = "ap-northeast-1"
UP_TIMEOUT_S = 600
CALL_TIMEOUT_S = 120
_AWS_REQUEST = re.compile(r'"(?:GET|POST|PUT|DELETE|HEAD|PATCH) (?!/moto-api/)\S* HTTP/')

# The guide's commands, as written (only the line continuations are joined). Section 5
# lists RUNNING tasks; the sandbox runs none, so TASK_ID is "None" and describe-tasks answers
# with a failure, which is still one call (a person would see that too).
GUIDE_STEPS: dict[str, str] = {
    "1. service counts": (
        "aws ecs describe-services --cluster rails-app-cluster --services rails-app-service "
        "--query 'services[0].{running:runningCount,pending:pendingCount,"
        "desired:desiredCount,status:status}'"
    ),
    "2. deployments": (
        "aws ecs describe-services --cluster rails-app-cluster --services rails-app-service "
        "--query 'services[0].deployments[].{status:status,running:runningCount,"
        "pending:pendingCount,taskDef:taskDefinition}'"
    ),
    "3. target health": (
        "TARGET_GROUP_ARN=$(aws elbv2 describe-target-groups --region ap-northeast-1 "
        "--query 'TargetGroups[?TargetGroupName==`rails-app-tg`].TargetGroupArn' "
        "--output text)\n"
        "aws elbv2 describe-target-health --target-group-arn $TARGET_GROUP_ARN "
        "--region ap-northeast-1"
    ),
    "5. tasks": (
        "TASK_ID=$(aws ecs list-tasks --cluster rails-app-cluster "
        "--service-name rails-app-service --desired-status RUNNING "
        "--query 'taskArns[0]' --output text)\n"
        "aws ecs describe-tasks --cluster rails-app-cluster --tasks $TASK_ID || true"
    ),
    "DB status": "aws rds describe-db-instances --db-instance-identifier rails-app-db",
    "URL": "terraform output load_balancer_dns",
}
CORE_STEPS = ("1. service counts", "2. deployments", "3. target health", "5. tasks")

# The floor: the calls `gather_status` makes (one describe per revision, describe-tasks
# only when stopped tasks are listed), one after the other from one session.
FLOOR_SCRIPT = """\
import json

import boto3

session = boto3.Session()
ecs, elbv2, rds = session.client("ecs"), session.client("elbv2"), session.client("rds")
service = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
revisions = dict.fromkeys(
    [service["taskDefinition"], *(d["taskDefinition"] for d in service["deployments"])]
)
definitions = [
    ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]) for arn in revisions
]
stopped = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus="STOPPED")
tasks = stopped["taskArns"] and ecs.describe_tasks(cluster=CLUSTER, tasks=stopped["taskArns"])
balancer = elbv2.describe_load_balancers(Names=[LOAD_BALANCER])["LoadBalancers"][0]
health = [
    elbv2.describe_target_health(TargetGroupArn=lb["targetGroupArn"])
    for lb in service["loadBalancers"]
]
database = rds.describe_db_instances(DBInstanceIdentifier=DB_INSTANCE)["DBInstances"][0]
answers = [service, definitions, tasks, balancer, health, database]
print(json.dumps(answers, default=str))
"""


@dataclass
class Bench:
    root: Path
    hakobu_env: dict[str, str]
    guide_env: dict[str, str]
    guide_cwd: Path
    aws_bin: Path
    floor_script: Path

    @property
    def log(self) -> Path:
        return sandbox.log_path(self.root)

    def hakobu_status(self) -> None:
        run(
            [sys.executable, "-m", "hakobu", "status", "--sandbox", "--json"],
            self.root,
            self.hakobu_env,
        )

    def floor(self) -> None:
        run([sys.executable, str(self.floor_script)], self.guide_cwd, self.guide_env)

    def floor_calls(self) -> str:
        """The floor's calls by operation, from what its answers hold."""
        out = run([sys.executable, str(self.floor_script)], self.guide_cwd, self.guide_env)
        _, definitions, tasks, _, health, _ = json.loads(out)
        counts = {"DescribeServices": 1, "DescribeTaskDefinition": len(definitions),
                  "ListTasks": 1, "DescribeTasks": 1 if tasks else 0,
                  "DescribeLoadBalancers": 1, "DescribeTargetHealth": len(health),
                  "DescribeDBInstances": 1}  # fmt: skip
        return ", ".join(f"{name} {count}" for name, count in counts.items() if count)

    def guide(self, steps: tuple[str, ...]) -> None:
        script = "set -e\n" + "\n".join(GUIDE_STEPS[s] for s in steps) + "\n"
        run(["bash", "-c", script], self.guide_cwd, self.guide_env)

    def aws_requests(self) -> int:
        time.sleep(0.05)  # werkzeug writes its line as the response goes out: let it land
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return len(_AWS_REQUEST.findall(text))

    def calls(self, action: Callable[[], None]) -> int:
        before = self.aws_requests()
        action()
        return self.aws_requests() - before


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = CALL_TIMEOUT_S) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:4])} ... failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def wall(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# --- set-up -----------------------------------------------------------------------------


def make_app(tmp: Path) -> Path:
    """A directory that looks like a Rails app, with a hakobu.toml (as `hakobu init` writes)."""
    root = tmp / APP
    (root / "config").mkdir(parents=True)
    (root / "config" / "application.rb").write_text(
        "module Myapp\n  class Application < Rails::Application\n  end\nend\n"
    )
    (root / "config" / "master.key").write_text("5f0e6c1d2b3a49588776655443322110\n")
    write_config(root, APP)
    return root


def set_up(tmp: Path, base_env: dict[str, str]) -> Bench:
    root = make_app(tmp)
    say(
        "hakobu up --sandbox --yes in a temporary app (about 100 s: the AWS provider's own "
        "waiters on the ALB and RDS)..."
    )
    seconds = wall(
        lambda: run(
            [sys.executable, "-m", "hakobu", "up", "--sandbox", "--yes"],
            root,
            base_env,
            UP_TIMEOUT_S,
        )
    )
    say(f"  provisioned in {seconds:.0f} s")
    server = sandbox.running(root)
    assert server is not None, "the sandbox emulator is not running after hakobu up"
    workdir = root / ".hakobu" / "sandbox" / "production"
    guide_env = sandbox.subprocess_environment(server, REGION, base_env)
    # The guide runs `terraform output` in its terraform/ directory; hakobu's is this one.
    guide_env |= {"TF_CLI_CONFIG_FILE": str(workdir / "terraform.rc"), "CHECKPOINT_DISABLE": "1"}
    aws_bin = find_aws()
    guide_env["PATH"] = f"{aws_bin.parent}{os.pathsep}{guide_env.get('PATH', '')}"
    return Bench(root, base_env, guide_env, workdir, aws_bin, write_floor(tmp))


def write_floor(tmp: Path) -> Path:
    """The hand-written boto3 script, with the names `hakobu up` gave the stack."""
    names = {"CLUSTER": f"{APP}-cluster", "SERVICE": f"{APP}-service",
             "LOAD_BALANCER": f"{APP}-alb", "DB_INSTANCE": f"{APP}-db"}  # fmt: skip
    header = "".join(f"{key} = {value!r}\n" for key, value in names.items())
    script = tmp / "status_floor.py"
    script.write_text(header + FLOOR_SCRIPT, encoding="utf-8")
    return script


def find_aws() -> Path:
    """The awscli next to this Python (not a pyenv shim, whose start-up is not the CLI's)."""
    beside = Path(sys.executable).parent / "aws"
    found = beside if beside.exists() else shutil.which("aws")
    if not found:
        raise SystemExit("the `aws` CLI is not installed: pip install awscli")
    return Path(found)


# --- measurements -----------------------------------------------------------------------


def compare(bench: Bench, runs: int) -> None:
    every = tuple(GUIDE_STEPS)
    sides: dict[str, Callable[[], None]] = {
        "hakobu status --json": bench.hakobu_status,
        "boto3 script (floor)": bench.floor,
        "guide, 4 sections": lambda: bench.guide(CORE_STEPS),
        "guide, + DB + URL": lambda: bench.guide(every),
    }
    calls = {name: bench.calls(action) for name, action in sides.items()}  # also warms up
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(runs):
        for name, action in sides.items():
            times[name].append(wall(action))
    again = {name: bench.calls(action) for name, action in sides.items()}
    assert again == calls, f"call counts changed between runs: {calls} then {again}"
    per_step = {step: bench.calls(lambda s=step: bench.guide((s,))) for step in GUIDE_STEPS}

    say(f"\nSame information, one sandbox, median of {runs} runs:")
    say(f"  {'':24} {'wall (s)':>9} {'AWS calls':>10}")
    for name in sides:
        say(f"  {name:24} {statistics.median(times[name]):9.2f} {calls[name]:10d}")
    ours = statistics.median(times["hakobu status --json"])
    floor = statistics.median(times["boto3 script (floor)"])
    say(
        f"  hakobu / boto3 script: {ours / floor:.2f}x the time (target at most 1.3x), "
        f"{calls['hakobu status --json'] / calls['boto3 script (floor)']:.2f}x the calls "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    for name in ("guide, 4 sections", "guide, + DB + URL"):
        say(
            f"  {name} / hakobu: {statistics.median(times[name]) / ours:.1f}x the time, "
            f"{calls[name] / calls['hakobu status --json']:.2f}x the calls"
        )
    say(f"  the floor's calls: {bench.floor_calls()}")
    say(
        "  the guide's calls per step: "
        + ", ".join(f"{step} {count}" for step, count in per_step.items())
    )


def startup(runs: int) -> None:
    python = sys.executable
    helped = [
        wall(lambda: run([python, "-m", "hakobu", "--help"], Path.cwd(), dict(os.environ)))
        for _ in range(runs + 1)
    ][1:]  # the first run compiles .pyc files
    bare = [
        wall(lambda: run([python, "-c", "pass"], Path.cwd(), dict(os.environ)))
        for _ in range(runs + 1)
    ][1:]
    h, b = statistics.median(helped), statistics.median(bare)
    say(f"\nStart-up, median of {runs} runs:")
    say(f"  python -m hakobu --help {h:6.3f} s")
    say(f"  python -c pass          {b:6.3f} s")
    say(f"  ratio {h / b:.1f}x; hakobu's own import and help cost {h - b:.3f} s")
    say("  import time by package (self time summed, python -X importtime -m hakobu --help):")
    for package, micros in heaviest_imports(python):
        say(f"    {micros / 1000:7.1f} ms  {package}")


def heaviest_imports(python: str, shown: int = 8) -> list[tuple[str, int]]:
    """Import time (self, microseconds) summed per top-level package; hakobu's own modules
    as one row, so the rows add up to the whole."""
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "hakobu", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    totals: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].split(":")[-1].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0) + int(parts[0].split(":")[-1])
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)[:shown]


def in_process(bench: Bench, runs: int) -> None:
    """Where the time of one status goes once Python runs: clients, then the calls."""
    from hakobu.core.config import load_project
    from hakobu.core.target import Target
    from hakobu.operate.status import StatusClients, gather_status

    env = load_project(bench.root / "hakobu.toml").environment(None)
    server = sandbox.running(bench.root)
    assert server is not None

    def target() -> Target:
        return Target(
            region=env.region,
            endpoint_url=server.endpoint,
            variables=sandbox.client_environment(server, env.region),
            masked=sandbox.MASKED_VARIABLES,
        )

    made: list[StatusClients] = []

    def make() -> None:  # a new target each time: its session is made once per target
        clients = StatusClients.of(target())
        _ = clients.ecs, clients.elbv2, clients.rds  # made on first use
        made.append(clients)

    making = [wall(make) for _ in range(runs)]
    aws = target()
    gathering = [wall(lambda: gather_status(aws, env, clients=made[0])) for _ in range(runs)]
    say("\nInside one hakobu process (median):")
    say(f"  a session, the ecs, elbv2 and rds clients  {statistics.median(making):6.3f} s")
    say(f"  gather_status (its calls, 3 lanes at once) {statistics.median(gathering):6.3f} s")


def say(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each side")
    parser.add_argument("--keep", action="store_true", help="keep the app and its emulator")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hakobu-status-bench-"))
    # As a user's shell has it: bytecode written and then read (bench/startup.py).
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_env |= {"COLUMNS": "200", "NO_COLOR": "1"}
    try:
        bench = set_up(tmp, base_env)
        compare(bench, args.runs)
        in_process(bench, args.runs)
        startup(args.runs)
    finally:
        if args.keep:
            say(f"\nKept {tmp / APP} (stop its emulator with `hakobu sandbox stop` there).")
        else:
            if (tmp / APP).exists():
                subprocess.run(
                    [sys.executable, "-m", "hakobu", "sandbox", "stop"],
                    cwd=tmp / APP,
                    env=base_env,
                    capture_output=True,
                    check=False,
                )
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
