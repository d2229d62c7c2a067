"""What a pause or a resume will do: the facts read from AWS, then pure plans.

Pausing a paused environment changes only what moved since, or deepens the pause; a
resume starts the DB first (tasks need it), then the network and the ALB, then the
service as it was when paused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from hakobu.aws import rds as rds_ops
from hakobu.aws.ecs import service_description
from hakobu.core.config import Environment
from hakobu.core.config.processes import workers
from hakobu.core.engines import engine
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.operate.pausing.record import PauseRecord
from hakobu.operate.pausing.saving import Saving, pause_saving
from hakobu.operate.scaling import update_request
from hakobu.operate.status import revision_of
from hakobu.provision.prices import PriceTable

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


# --- what AWS says now ----------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    desired_count: int
    task_definition: str
    database_status: str | None  # None: the DB instance does not exist
    processes: dict[str, int] = field(default_factory=dict)  # each worker's desired count


def gather_facts(ecs: Any, rds: Any, env: Environment) -> Facts:
    names = Names.of(env)
    service = service_description(ecs, names.cluster, names.service)
    return Facts(
        desired_count=int(service.get("desiredCount", 0)),
        task_definition=str(service.get("taskDefinition", "")),
        database_status=database_status(rds, names.db_instance, is_cluster(env)),
        processes=_worker_counts(ecs, env),
    )


def _worker_counts(ecs: Any, env: Environment) -> dict[str, int]:
    """Each worker's desired count; one not created yet (no `hakobu up` since it was added
    to hakobu.toml) runs nothing to pause."""
    names = Names.of(env)
    counts = {}
    for name in workers(env):
        try:
            described = service_description(ecs, names.cluster, names.process(name))
        except HakobuError:
            continue
        counts[name] = int(described.get("desiredCount", 0))
    return counts


def database_status(rds: Any, identifier: str, cluster: bool = False) -> str | None:
    """The DB instance's status (an Aurora cluster's with `cluster`); None if it does not
    exist. Stopping and starting a cluster take the same statuses as an instance."""
    return rds_ops.status(rds, identifier, cluster)


def is_cluster(env: Environment) -> bool:
    """An Aurora cluster: pause and resume stop and start it, all its instances at once."""
    return engine(env.settings.database.engine).aurora


def database_label(env: Environment) -> str:
    kind = "Aurora cluster" if is_cluster(env) else "DB instance"
    return f"the {kind} {Names.of(env).db_instance}"


def pauses_itself(env: Environment) -> bool:
    """Serverless v2 with min 0 ACUs: idle, it pauses itself (no ACU-hours) without us."""
    settings = env.settings.database
    return is_cluster(env) and settings.min_capacity == 0


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
            steps += [
                f"scale {names.process(name)} to 0 tasks (was {count})"
                for name, count in self.record.processes.items()
            ]
        if self.apply_paused_shape:
            steps.append(
                "remove the NAT Gateway(s) and the ALB with its listener through Terraform "
                "(the VPC, DB storage, images, secrets, logs and the service stay)"
            )
        steps += _schedule_steps(env, "disable", "so no scheduled run starts while paused")
        if self.database == "wait-then-stop":
            steps.append(f"wait until {names.db_instance} is available, then stop it")
        elif self.database == "stop":
            steps.append(f"stop {database_label(env)} (its storage is kept)")
        if self.database != "none" and pauses_itself(env):
            steps.append(
                f"(min_capacity = 0: even running, {names.db_instance} pauses itself when "
                "idle and bills no ACU-hours; stopping it also keeps tasks from waking it)"
            )
        return steps


def _schedule_steps(env: Environment, verb: str, why: str) -> list[str]:
    if not env.settings.schedules:
        return []
    names = Names.of(env)
    listed = ", ".join(names.schedule(s.name) for s in env.settings.schedules)
    return [f"{verb} the schedule(s) {listed} {why}"]


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
        processes=dict(facts.processes),
    )
    # A worker created since the first pause is put back to what it ran then.
    processes = {**facts.processes, **record.processes}
    saving = pause_saving(env, prices, record.deep or deep, record.desired_count, processes)
    record = replace(
        record,
        processes=processes,
        deep=record.deep or deep,
        database_stopped_at=now if action != "none" else record.database_stopped_at,
        monthly_saving=round(saving.total, 2),
        saving_complete=saving.complete,
    )
    running = facts.desired_count > 0 or any(facts.processes.values())
    return PausePlan(record, previous, running, deeper, action, saving)


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
    process_requests: tuple[dict[str, Any], ...] = ()  # the same, one per worker

    def steps(self, env: Environment) -> list[str]:
        names = Names.of(env)
        steps = []
        if self.database != "none":
            steps.append(f"start {database_label(env)}, wait until it is available")
        if self.apply_normal_shape:
            steps.append("re-create the NAT Gateway(s) and the ALB through Terraform")
        revision = revision_of(self.record.task_definition)
        count = self.record.desired_count
        steps.append(f"scale {names.service} back to {count} task(s) on {revision}")
        steps += [
            f"scale {request['service']} back to {request['desiredCount']} task(s)"
            for request in self.process_requests
        ]
        return steps + _schedule_steps(env, "enable", "again")


def plan_resume(env: Environment, record: PauseRecord, facts: Facts) -> ResumePlan:
    """What `hakobu resume` will do: the DB first (tasks need it), then the network and
    the ALB, then the service as it was when paused."""
    names = Names.of(env)
    return ResumePlan(
        record=record,
        apply_normal_shape=record.deep,
        database=_start_action(facts.database_status, names.db_instance),
        service_request=restore_request(names, record, facts),
        process_requests=tuple(
            update_request(names.cluster, names.process(name), count)
            for name, count in record.processes.items()
        ),
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
