"""`hakobu pause` / `hakobu resume`: stop paying for an idle environment, then bring it back.

The guide's third cost cut ("使わない時はリソースを停止: -$70〜90/月") as two commands:

- pause: the service to zero tasks (`update_service`, not written to hakobu.toml: a pause
  is temporary), the DB instance stopped (its storage keeps billing). `--deep` also
  removes the NAT Gateways and the ALB through Terraform (`blueprint.render(paused=True)`,
  see `blueprint/paused.py`), keeping the VPC, the DB, images, secrets, logs, the service
  and its target group.
- resume: the DB started (and waited for), with `--deep` state the normal document applied
  again, then the desired count and the task-definition revision recorded at pause time
  put back, and the app waited for until it is healthy.

Where tasks really run (`runs_tasks`: AWS, and the sandbox whose runtime has a container
engine) a resume waits for health; in such a sandbox a pause also waits until the service's
containers and the DB server are down, which takes seconds there. On AWS a pause returns
while RDS is still "stopping" (minutes): nothing after it needs the DB down.

What a pause changed is recorded in `.hakobu/<env>/paused.json` (`.hakobu/sandbox/<env>/`
for the sandbox) BEFORE anything changes, so a pause that fails half-way can still be
resumed. Planning (`plan_pause`, `plan_resume`, `pause_saving`, `judge_health`) is pure;
the executors below make one or a few boto3 calls each. Nothing here prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from hakobu.aws import ecs as ecs_ops
from hakobu.aws import elbv2 as elbv2_ops
from hakobu.aws import rds as rds_ops
from hakobu.aws.clients import ClientSource
from hakobu.aws.ecs import service_description
from hakobu.aws.polling import Waiter, poll_until
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.workspace import environment_dir
from hakobu.operate.edge_pausing import suspend_autoscaling
from hakobu.operate.scaling import update_request
from hakobu.operate.status import revision_of, target_line
from hakobu.provision.blueprint.service import runs_placeholder
from hakobu.provision.cost import FARGATE, HOURS_PER_MONTH, CostLine, estimate, public_ipv4_count
from hakobu.provision.prices import PriceTable
from hakobu.ship.rollout import TargetLine

STATE_FILE = "paused.json"
STATE_VERSION = 1
# AWS starts a stopped RDS instance again by itself after seven days (RDS User Guide,
# "Stopping an Amazon RDS DB instance temporarily").
AUTO_START = timedelta(days=7)
# RDS statuses. "available" is the only one `stop_db_instance` accepts; the settling ones
# end in "available" by themselves, so a pause waits for it, then stops.
AVAILABLE = "available"
AT_REST = frozenset({"stopped", "stopping"})
SETTLING = frozenset(
    {
        "starting",
        "backing-up",
        "modifying",
        "rebooting",
        "maintenance",
        "upgrading",
        "renaming",
        "storage-optimization",
        "configuring-enhanced-monitoring",
        "configuring-iam-database-auth",
        "configuring-log-exports",
        "resetting-master-credentials",
    }
)

DatabaseAction = Literal[
    "none", "stop", "wait-then-stop", "start", "wait", "wait-stopped-then-start"
]


# --- the record of a pause ------------------------------------------------------------


@dataclass(frozen=True)
class PauseRecord:
    """What a pause changed, and what resume puts back."""

    environment: str
    paused_at: datetime
    deep: bool
    desired_count: int  # the service's, before the pause
    task_definition: str  # the revision the service ran (an ARN), restored by resume
    database: str  # the DB instance identifier
    database_status: str | None  # before the pause (None: no such instance)
    database_stopped_at: datetime | None  # when hakobu last stopped it (AWS restarts it
    # AUTO_START later); None when it was already stopped by someone else
    monthly_saving: float | None  # the estimate printed at pause time, USD a month
    saving_complete: bool
    emulator: str | None = None  # sandbox only: the emulator it belongs to (started_at)

    @property
    def auto_start_at(self) -> datetime | None:
        return self.database_stopped_at + AUTO_START if self.database_stopped_at else None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("paused_at", "database_stopped_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return {"version": STATE_VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PauseRecord:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
        fields = {k: v for k, v in data.items() if k != "version"}
        fields["paused_at"] = datetime.fromisoformat(fields["paused_at"])
        stopped = fields.get("database_stopped_at")
        fields["database_stopped_at"] = datetime.fromisoformat(stopped) if stopped else None
        return cls(**fields)


def state_path(env: Environment, sandbox: bool) -> Path:
    return environment_dir(env, sandbox) / STATE_FILE


def load_record(path: Path) -> PauseRecord | None:
    """The pause recorded at `path`, or None when the environment is not paused."""
    if not path.is_file():
        return None
    try:
        return PauseRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise HakobuError(
            f"the pause record {path} cannot be read ({exc})",
            "check the service's desired count and the DB's status with `hakobu status`, "
            "set them back by hand, then delete the file",
        ) from None


def save_record(path: Path, record: PauseRecord) -> None:
    """Write atomically: a record half-written by a crash would lose what to restore."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(record.as_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def remove_record(path: Path) -> None:
    path.unlink(missing_ok=True)


def current_record(path: Path, emulator: str | None) -> PauseRecord | None:
    """The pause in effect. A sandbox record made in another emulator is forgotten: a new
    emulator starts empty (hakobu forgets its Terraform state too), so nothing is paused."""
    record = load_record(path)
    if record is not None and record.emulator != emulator:
        remove_record(path)
        return None
    return record


# --- what AWS says now ----------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    desired_count: int
    task_definition: str
    database_status: str | None  # None: the DB instance does not exist


def gather_facts(ecs: Any, rds: Any, env: Environment) -> Facts:
    names = Names.of(env)
    service = service_description(ecs, names.cluster, names.service)
    return Facts(
        desired_count=int(service.get("desiredCount", 0)),
        task_definition=str(service.get("taskDefinition", "")),
        database_status=database_status(rds, names.db_instance),
    )


def database_status(rds: Any, identifier: str) -> str | None:
    """The DB instance's status; None if it does not exist."""
    found = rds_ops.db_instance(rds, identifier)
    return str(found.get("DBInstanceStatus", "unknown")) if found is not None else None


# --- savings --------------------------------------------------------------------------


@dataclass(frozen=True)
class SavingLine:
    name: str
    monthly: float | None  # None: the price is unknown for the region
    detail: str


@dataclass(frozen=True)
class Saving:
    """What stops billing during a pause, a month, from `provision.cost` and the price table."""

    lines: tuple[SavingLine, ...]
    kept: tuple[SavingLine, ...]  # what keeps billing (storage)

    @property
    def total(self) -> float:
        return sum(line.monthly or 0.0 for line in self.lines)

    @property
    def complete(self) -> bool:
        return all(line.monthly is not None for line in self.lines)


# Lines of `cost.estimate` a pause stops, by name (Fargate: the whole group, Spot included).
SHALLOW_LINES = ("RDS instance hours",)
DEEP_LINES = ("NAT Gateway hours", "ALB hours", "ALB LCUs")
IPV4_LINE = "Public IPv4 addresses"
KEPT_LINES = ("RDS gp3 storage",)


def pause_saving(env: Environment, prices: PriceTable, deep: bool, desired_count: int) -> Saving:
    """The monthly saving of a pause of `env` whose service ran `desired_count` tasks.

    Not counted as saved: usage that merely drops (NAT data processed, data transfer),
    MySQL 8.0 Extended Support (hakobu does not know whether AWS bills it while stopped),
    and anything that keeps billing: DB storage and backups, secrets, logs, images.
    """
    running = _with_desired_count(env, desired_count)
    lines = estimate(running, prices).lines
    saved = [
        SavingLine(line.name, line.monthly, line.assumption)
        for line in lines
        if line.group == FARGATE or line.name in SHALLOW_LINES or (deep and line.name in DEEP_LINES)
    ]
    saved += _ipv4_saving(running, lines, deep)
    kept = [
        SavingLine(line.name, line.monthly, line.assumption)
        for line in lines
        if line.name in KEPT_LINES
    ]
    return Saving(tuple(saved), tuple(kept))


def _with_desired_count(env: Environment, count: int) -> Environment:
    service = env.settings.service.model_copy(update={"desired_count": count})
    settings = env.settings.model_copy(update={"service": service})
    return env.model_copy(update={"settings": settings})


def _ipv4_saving(env: Environment, lines: tuple[CostLine, ...], deep: bool) -> list[SavingLine]:
    """Public IPv4 addresses released: the tasks' (lean profile), with --deep the ALB's and
    the NAT Gateways' Elastic IPs. One estimate line covers them all, so it is split."""
    alb, nat, tasks = public_ipv4_count(env)
    released = tasks + (alb + nat if deep else 0)
    if not released:
        return []
    line = next(line for line in lines if line.name == IPV4_LINE)
    parts = ([f"{tasks} task IP(s)"] if tasks else []) + (
        [f"{alb} ALB + {nat} NAT EIP"] if deep else []
    )
    monthly = None if line.unit_price is None else released * HOURS_PER_MONTH * line.unit_price
    detail = f"{' + '.join(parts)} = {released} address(es) x {HOURS_PER_MONTH} h"
    return [SavingLine(f"{IPV4_LINE} released", monthly, detail)]


# --- planning a pause -----------------------------------------------------------------


@dataclass(frozen=True)
class PausePlan:
    record: PauseRecord  # what the state file says once the pause is done
    previous: PauseRecord | None  # the pause already in effect, if any
    scale_to_zero: bool
    apply_paused_shape: bool  # Terraform: remove the NAT Gateways and the ALB
    database: DatabaseAction
    saving: Saving

    @property
    def nothing_to_do(self) -> bool:
        return not (self.scale_to_zero or self.apply_paused_shape) and self.database == "none"

    def steps(self, env: Environment) -> list[str]:
        names = Names.of(env)
        steps = []
        if self.scale_to_zero:
            steps.append(f"scale {names.service} to 0 tasks (was {self.record.desired_count})")
        if self.apply_paused_shape:
            steps.append(
                "remove the NAT Gateway(s) and the ALB with its listener through Terraform "
                "(the VPC, DB storage, images, secrets, logs and the service stay)"
            )
        if self.database == "wait-then-stop":
            steps.append(f"wait until {names.db_instance} is available, then stop it")
        elif self.database == "stop":
            steps.append(f"stop the DB instance {names.db_instance} (its storage is kept)")
        return steps


def plan_pause(
    env: Environment,
    facts: Facts,
    deep: bool,
    previous: PauseRecord | None,
    prices: PriceTable,
    now: datetime,
    emulator: str | None = None,
) -> PausePlan:
    """What `hakobu pause` will do. Pausing a paused environment changes only what moved
    since (tasks started, the DB started by AWS after seven days) or deepens the pause;
    the record keeps what ran before the first pause."""
    action = _stop_action(facts.database_status, Names.of(env).db_instance)
    deeper = deep and not (previous and previous.deep)
    record = previous or PauseRecord(
        environment=env.name,
        paused_at=now,
        deep=False,
        desired_count=facts.desired_count,
        task_definition=facts.task_definition,
        database=Names.of(env).db_instance,
        database_status=facts.database_status,
        database_stopped_at=None,
        monthly_saving=None,
        saving_complete=True,
        emulator=emulator,
    )
    saving = pause_saving(env, prices, record.deep or deep, record.desired_count)
    record = replace(
        record,
        deep=record.deep or deep,
        database_stopped_at=now if action != "none" else record.database_stopped_at,
        monthly_saving=round(saving.total, 2),
        saving_complete=saving.complete,
    )
    return PausePlan(record, previous, facts.desired_count > 0, deeper, action, saving)


def _stop_action(status: str | None, identifier: str) -> DatabaseAction:
    if status is None or status in AT_REST:
        return "none"
    if status == AVAILABLE:
        return "stop"
    if status in SETTLING:
        return "wait-then-stop"
    raise HakobuError(
        f"the DB instance {identifier} is {status!r}, and RDS stops only an available one",
        f"look at it with `aws rds describe-db-instances --db-instance-identifier "
        f"{identifier}`; nothing was paused",
    )


# --- planning a resume ----------------------------------------------------------------


@dataclass(frozen=True)
class ResumePlan:
    record: PauseRecord
    apply_normal_shape: bool  # Terraform: the NAT Gateways and the ALB again
    database: DatabaseAction
    service_request: dict[str, Any]  # `ecs.update_service` kwargs

    def steps(self, env: Environment) -> list[str]:
        names = Names.of(env)
        steps = []
        if self.database != "none":
            steps.append(f"start the DB instance {names.db_instance}, wait until it is available")
        if self.apply_normal_shape:
            steps.append("re-create the NAT Gateway(s) and the ALB through Terraform")
        revision = revision_of(self.record.task_definition)
        count = self.record.desired_count
        steps.append(f"scale {names.service} back to {count} task(s) on {revision}")
        return steps


def plan_resume(env: Environment, record: PauseRecord, facts: Facts) -> ResumePlan:
    """What `hakobu resume` will do: the DB first (tasks need it), then the network and
    the ALB, then the service as it was when paused."""
    names = Names.of(env)
    return ResumePlan(
        record=record,
        apply_normal_shape=record.deep,
        database=_start_action(facts.database_status, names.db_instance),
        service_request=restore_request(names, record, facts),
    )


def _start_action(status: str | None, identifier: str) -> DatabaseAction:
    if status is None:
        raise HakobuError(
            f"the DB instance {identifier} no longer exists",
            "run `hakobu up` to create the environment again",
        )
    if status == AVAILABLE:
        return "none"
    if status == "stopped":
        return "start"
    if status == "stopping":
        return "wait-stopped-then-start"  # RDS refuses to start a stopping instance
    return "wait"


def restore_request(names: Names, record: PauseRecord, facts: Facts) -> dict[str, Any]:
    """`ecs.update_service` kwargs: the recorded count, and the recorded revision only if
    the service runs another one (the same revision again would start a new deployment)."""
    request: dict[str, Any] = {
        "cluster": names.cluster,
        "service": names.service,
        "desiredCount": record.desired_count,
    }
    if revision_of(facts.task_definition) != revision_of(record.task_definition):
        request["taskDefinition"] = record.task_definition
    return request


# --- executors ------------------------------------------------------------------------

StatusHandler = Callable[[str, float], None]  # (status, elapsed seconds)


def scale_to_zero(ecs: Any, env: Environment) -> None:
    names = Names.of(env)
    ecs_ops.send_service_update(ecs, update_request(names.cluster, names.service, 0))


def follows_runtime(aws: ClientSource) -> bool:
    """Whether a pause waits until the containers and the DB server are down: in a sandbox
    whose runtime runs them (seconds), not on AWS (see the module's docstring)."""
    return aws.sandbox and aws.runs_tasks


def wait_until_no_tasks(
    ecs: Any, env: Environment, waiter: Waiter, on_count: Callable[[int, float], None]
) -> None:
    """Poll until no task of the service holds a container (drained and stopped);
    `HakobuError` after the waiter's timeout."""
    names = Names.of(env)
    left: list[int] = []

    def gone() -> bool | None:
        left[:] = [len(ecs_ops.unstopped_task_arns(ecs, names.cluster, names.service))]
        on_count(left[0], waiter.elapsed)
        return True if left[0] == 0 else None

    if poll_until(gone, waiter) is None:
        raise HakobuError(
            f"{names.service} still has {left[0]} task(s) after {waiter.elapsed:.0f} s",
            f"look at them with `hakobu status {env.name} --sandbox`; the pause is recorded, "
            f"so `hakobu pause {env.name} --sandbox` carries on",
        )


def wait_for_database(
    rds: Any, identifier: str, wanted: str, waiter: Waiter, on_status: StatusHandler | None = None
) -> str:
    """Poll until the DB instance is `wanted`; `HakobuError` after the waiter's timeout."""
    seen: list[str] = []

    def reached() -> str | None:
        status = database_status(rds, identifier) or "missing"
        seen.append(status)
        if on_status is not None:
            on_status(status, waiter.elapsed)
        if status == "missing":
            raise _not_reached(identifier, status, wanted, waiter)
        return status if status == wanted else None

    found = poll_until(reached, waiter)
    if found is None:
        raise _not_reached(identifier, seen[-1], wanted, waiter)
    return found


def _not_reached(identifier: str, status: str, wanted: str, waiter: Waiter) -> HakobuError:
    return HakobuError(
        f"the DB instance {identifier} is {status!r}, not {wanted!r}, after {waiter.elapsed:.0f} s",
        f"look at it with `aws rds describe-db-instances --db-instance-identifier "
        f"{identifier}`, then run the command again",
    )


def stop_database(rds: Any, identifier: str, action: DatabaseAction, waiter: Waiter,
                  on_status: StatusHandler | None = None) -> None:  # fmt: skip
    if action == "wait-then-stop":
        wait_for_database(rds, identifier, AVAILABLE, waiter, on_status)
    if action in ("stop", "wait-then-stop"):
        rds_ops.stop(rds, identifier)


def start_database(rds: Any, identifier: str, action: DatabaseAction, waiter: Waiter,
                   on_status: StatusHandler | None = None) -> None:  # fmt: skip
    if action == "none":
        return
    if action == "wait-stopped-then-start":
        wait_for_database(rds, identifier, "stopped", waiter, on_status)
    if action in ("start", "wait-stopped-then-start"):
        rds_ops.start(rds, identifier)
    wait_for_database(rds, identifier, AVAILABLE, waiter, on_status)


# --- health after a resume ------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """The service after a resume: healthy when every wanted task runs our revision and
    each target group has that many healthy targets (counts alone are not enough)."""

    desired: int
    running: int
    pending: int
    revision: str  # the PRIMARY deployment's family:revision
    expected: str
    deployments: int
    targets: tuple[TargetLine, ...]
    target_groups: int

    @property
    def healthy_targets(self) -> int:
        return sum(1 for t in self.targets if t.state == "healthy")

    @property
    def healthy(self) -> bool:
        counts = self.running == self.desired and self.pending == 0
        ours = self.deployments == 1 and self.revision == self.expected
        wanted = self.desired * self.target_groups
        return counts and ours and self.healthy_targets >= wanted

    def text(self) -> str:
        line = f"{self.revision}: running {self.running}/{self.desired}, pending {self.pending}"
        if self.target_groups:
            line += f", targets healthy {self.healthy_targets}/{self.desired * self.target_groups}"
        return line


def judge_health(
    service: dict[str, Any], health_pages: list[dict[str, Any]], expected: str
) -> Health:
    deployments = service.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    return Health(
        desired=int(service.get("desiredCount", 0)),
        running=int(service.get("runningCount", 0)),
        pending=int(service.get("pendingCount", 0)),
        revision=revision_of(primary.get("taskDefinition", service.get("taskDefinition", ""))),
        expected=revision_of(expected),
        deployments=len(deployments),
        targets=tuple(
            target_line(t)
            for page in health_pages
            for t in page.get("TargetHealthDescriptions", [])
        ),
        target_groups=len(health_pages),
    )


def wait_until_healthy(
    ecs: Any,
    elbv2: Any,
    env: Environment,
    expected: str,
    waiter: Waiter,
    on_change: Callable[[Health, float], None] | None = None,
) -> Health:
    """Poll the service and its targets until `judge_health` says healthy; `HakobuError`
    naming what is missing (with each target's reason in words) after the timeout."""
    names = Names.of(env)
    last: list[Health] = []

    def healthy() -> Health | None:
        service = service_description(ecs, names.cluster, names.service)
        pages = [elbv2_ops.target_health(elbv2, arn) for arn in ecs_ops.target_group_arns(service)]
        health = judge_health(service, pages, expected)
        if on_change is not None and health not in last:
            on_change(health, waiter.elapsed)
        last[:] = [health]
        return health if health.healthy else None

    found = poll_until(healthy, waiter)
    if found is not None:
        return found
    health = last[-1]
    reasons = "; ".join(t.text() for t in health.targets if t.state != "healthy")
    raise HakobuError(
        f"the app is not healthy after {waiter.elapsed:.0f} s ({health.text()}"
        + (f"; {reasons}" if reasons else "")
        + ")",
        f"the pause is over; follow it with `hakobu status {env.name} --watch`, and "
        f"look at `hakobu logs {env.name}`",
    )


# --- running a plan -------------------------------------------------------------------


class Progress(Protocol):
    """How the CLI shows a pause or resume going on."""

    def step(self, text: str) -> None: ...

    def database(self, status: str, elapsed: float) -> None: ...

    def health(self, health: Health, elapsed: float) -> None: ...

    def tasks(self, left: int, elapsed: float) -> None: ...


# Applies the deep-paused (True) or the normal (False) document through Terraform, with
# the same plan / apply pipeline and progress view as `hakobu up`.
Reshape = Callable[[bool], None]


def execute_pause(
    env: Environment,
    aws: ClientSource,
    plan: PausePlan,
    path: Path,
    reshape: Reshape,
    progress: Progress,
    waiter: Callable[[], Waiter],
) -> None:
    """Record the pause first (a failure half-way can still be resumed), then: no tasks,
    the deep-paused shape, the DB stopped; in a sandbox that runs them, each waited for."""
    save_record(path, plan.record)
    names = Names.of(env)
    follow = follows_runtime(aws)
    if suspend_autoscaling(env, aws, suspended=True):  # or it would start tasks again
        progress.step("Suspended auto scaling")
    if plan.scale_to_zero:
        progress.step(f"Scaling {names.service} to 0 tasks")
        scale_to_zero(aws.client("ecs"), env)
        if follow:
            progress.step("Waiting until the tasks are drained and stopped")
            wait_until_no_tasks(aws.client("ecs"), env, waiter(), progress.tasks)
    if plan.apply_paused_shape:
        progress.step("Removing the NAT Gateway(s) and the ALB (Terraform)")
        reshape(True)
    if plan.database != "none":
        progress.step(f"Stopping the DB instance {names.db_instance}")
        rds = aws.client("rds")
        stop_database(rds, names.db_instance, plan.database, waiter(), progress.database)
        if follow:
            wait_for_database(rds, names.db_instance, "stopped", waiter(), progress.database)


def execute_resume(
    env: Environment,
    aws: ClientSource,
    plan: ResumePlan,
    path: Path,
    reshape: Reshape,
    progress: Progress,
    waiter: Callable[[], Waiter],
) -> Health | Unfollowed:
    """The DB first (the tasks need it), then the NAT Gateways and the ALB, then the
    service as recorded; the record goes once the service is back. Then, where tasks
    really run, wait until the app is healthy; else say why not."""
    names = Names.of(env)
    ecs = aws.client("ecs")
    if plan.database != "none":
        progress.step(f"Starting the DB instance {names.db_instance}")
        start_database(aws.client("rds"), names.db_instance, plan.database, waiter(),
                       progress.database)  # fmt: skip
    if plan.apply_normal_shape:
        progress.step("Re-creating the NAT Gateway(s) and the ALB (Terraform)")
        reshape(False)
    progress.step(f"Scaling {names.service} back to {plan.record.desired_count} task(s)")
    ecs_ops.send_service_update(ecs, plan.service_request)
    if suspend_autoscaling(env, aws, suspended=False):
        progress.step("Resumed auto scaling")
    remove_record(path)
    if not aws.runs_tasks:
        return NO_ENGINE
    if runs_placeholder(ecs_ops.task_definition(ecs, plan.record.task_definition)):
        return NOTHING_DEPLOYED  # its tasks cannot start: waiting would only time out
    progress.step("Waiting until the app is healthy")
    return wait_until_healthy(
        ecs, aws.client("elbv2"), env, plan.record.task_definition, waiter(), progress.health
    )


@dataclass(frozen=True)
class Unfollowed:
    """Why a resume did not wait for the app's health."""

    reason: str


NO_ENGINE = Unfollowed(
    "the sandbox runs no containers here (no podman or docker found), so the app's "
    "health cannot be seen: the desired count is back, nothing more is claimed"
)
NOTHING_DEPLOYED = Unfollowed(
    "nothing is deployed yet: the service runs the revision `hakobu up` registers, whose "
    "placeholder image runs no app (`hakobu deploy` ships one)"
)


# --- for `hakobu up` and `hakobu plan` ------------------------------------------------


def paused_notice(env: Environment, record: PauseRecord) -> str:
    """Why applying hakobu.toml now would undo part of the pause, and what to run instead."""
    since = f"{record.paused_at:%Y-%m-%d %H:%M} UTC"
    brings = "re-creates the NAT Gateway(s) and the ALB and sets" if record.deep else "sets"
    return (
        f"`{env.name}` is paused{' (deep)' if record.deep else ''} since {since}: applying "
        f"hakobu.toml now {brings} the service's desired count back to "
        f"{env.settings.service.desired_count} while the DB stays stopped. `hakobu resume "
        f"{env.name}` ends the pause (DB first, then the service on its recorded revision)."
    )


def pause_in_effect(env: Environment, sandbox: bool) -> PauseRecord | None:
    """The pause recorded for `env`, without any AWS call (for `hakobu up` and `plan`)."""
    return current_record(state_path(env, sandbox), emulator_of(env) if sandbox else None)


def emulator_of(env: Environment) -> str | None:
    """The running sandbox emulator's start time: it tells one emulator from the next."""
    from hakobu.sandbox import emulator as sandbox

    server = sandbox.running(env.root)
    return server.started_at if server else None


def now_utc() -> datetime:
    return datetime.now(UTC)
