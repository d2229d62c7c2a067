"""Facts: each describe call at most once, shared by the checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.aws import ec2 as ec2_ops
from hakobu.aws import ecs as ecs_ops
from hakobu.aws import elbv2 as elbv2_ops
from hakobu.aws import rds as rds_ops
from hakobu.aws import secrets as secrets_ops
from hakobu.aws.clients import AwsClients, ClientSource
from hakobu.aws.ecs import service_description
from hakobu.aws.logs import task_log_lines, task_log_stream
from hakobu.aws.sts import caller_identity
from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.core.errors import HakobuError
from hakobu.core.managed_secrets import managed_secrets
from hakobu.core.names import Names
from hakobu.operate.doctor.results import DATABASE, Skip

LOG_LINES_SHOWN = 10

T = TypeVar("T")


def fact(method: Callable[[Facts], T]) -> property:
    """A lazily computed, cached fact. A failure is cached too, so every check that needs
    a fact AWS refused reports the same refusal without asking again."""

    @functools.wraps(method)
    def cached(self: Facts) -> T:
        key = method.__name__
        if key not in self.memo:
            try:
                self.memo[key] = (True, method(self))
            except Exception as exc:  # re-raised to each check that reads the fact
                self.memo[key] = (False, exc)
        succeeded, value = self.memo[key]
        if not succeeded:
            raise value
        return value  # type: ignore[no-any-return]

    return property(cached)


@dataclass
class Facts:
    """What the checks read from the machine and from AWS, fetched on first use."""

    env: Environment
    aws: ClientSource
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    memo: dict[str, tuple[bool, Any]] = field(default_factory=dict)
    clients: AwsClients = field(init=False)

    def __post_init__(self) -> None:
        self.clients = AwsClients.of(self.aws)  # each client made once, shared by the checks

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    def client(self, service: str) -> Any:
        return self.clients.client(service)

    @fact
    def identity(self) -> dict[str, str]:
        answer = caller_identity(self.client("sts"))
        return {key: answer[key] for key in ("UserId", "Account", "Arn")}

    @fact
    def service_lookup(self) -> tuple[dict[str, Any] | None, HakobuError | None]:
        """The service, or None and why (a missing cluster or service is a finding)."""
        names = self.names
        try:
            return service_description(self.client("ecs"), names.cluster, names.service), None
        except HakobuError as exc:
            return None, exc

    def service(self) -> dict[str, Any]:
        found, why = self.service_lookup
        if found is None:
            raise Skip(f"no service to look at: {why.problem if why else 'not found'}")
        return found

    def task_network(self) -> dict[str, Any]:
        network = self.service().get("networkConfiguration", {}).get("awsvpcConfiguration")
        if not network:
            raise Skip("the service has no awsvpc network configuration")
        return dict(network)

    @fact
    def task_definition(self) -> dict[str, Any]:
        return ecs_ops.task_definition(self.client("ecs"), self.service()["taskDefinition"])

    @fact
    def secrets(self) -> dict[str, dict[str, Any] | None]:
        """Each managed secret's metadata (never its value); None when it does not exist."""
        client = self.client("secretsmanager")
        return {
            managed.secret: secrets_ops.describe(client, managed.secret)
            for managed in managed_secrets(self.env)
        }

    def secret_value(self, secret_id: str) -> str | None:
        """The current value, read only to be checked or hashed, never returned to print."""
        # By stage: what tasks get (and moto returns a stale version without one).
        return secrets_ops.secret_value(self.client("secretsmanager"), secret_id, "AWSCURRENT")

    @fact
    def db_cluster(self) -> dict[str, Any] | None:
        """The Aurora cluster `{prefix}-db`; None on RDS or when it does not exist."""
        if not engine(self.env.settings.database.engine).aurora:
            return None
        return rds_ops.db_cluster(self.client("rds"), self.names.db_instance)

    @fact
    def cluster_instances(self) -> list[dict[str, Any]]:
        """The Aurora cluster's instances, the writer first (none on RDS)."""
        members = sorted(
            (self.db_cluster or {}).get("DBClusterMembers", []),
            key=lambda m: not m.get("IsClusterWriter"),
        )
        rds = self.client("rds")
        found = (rds_ops.db_instance(rds, m["DBInstanceIdentifier"]) for m in members)
        return [instance for instance in found if instance is not None]

    @fact
    def db_instance(self) -> dict[str, Any] | None:
        """The RDS instance; on Aurora the cluster's writer, whose security groups and
        subnets are the cluster's (what the path checks read)."""
        if engine(self.env.settings.database.engine).aurora:
            writers = [i for i in self.cluster_instances if _is_writer(self.db_cluster, i)]
            return writers[0] if writers else None
        return rds_ops.db_instance(self.client("rds"), self.names.db_instance)

    def database(self) -> dict[str, Any]:
        found = self.db_instance
        if found is None:
            raise Skip(f"no DB instance {self.names.db_instance} (see {DATABASE} › db instance)")
        return found

    @fact
    def subnets(self) -> dict[str, dict[str, Any]]:
        """The tasks' and the database's subnets, by id, in one call."""
        ids = list(dict.fromkeys([*self._task_subnet_ids(), *self._db_subnet_ids()]))
        if not ids:
            return {}
        return {s["SubnetId"]: s for s in ec2_ops.subnets(self.client("ec2"), ids)}

    def _task_subnet_ids(self) -> list[str]:
        found, _ = self.service_lookup
        network = (found or {}).get("networkConfiguration", {}).get("awsvpcConfiguration", {})
        return list(network.get("subnets", []))

    def _db_subnet_ids(self) -> list[str]:
        try:
            db = self.db_instance or {}
        except (ClientError, BotoCoreError):
            db = {}  # the database checks report that refusal; the routes need no DB
        return [s["SubnetIdentifier"] for s in db.get("DBSubnetGroup", {}).get("Subnets", [])]

    @fact
    def route_tables(self) -> list[dict[str, Any]]:
        vpcs = sorted({s["VpcId"] for s in self.subnets.values()})
        if not vpcs:
            return []
        return ec2_ops.route_tables(self.client("ec2"), vpcs)

    @fact
    def nat_gateways(self) -> dict[str, dict[str, Any]]:
        """The NAT Gateways the route tables point at (a deleted one is still described)."""
        ids = sorted(
            {
                r["NatGatewayId"]
                for t in self.route_tables
                for r in t.get("Routes", [])
                if r.get("NatGatewayId")
            }
        )
        if not ids:
            return {}
        return {n["NatGatewayId"]: n for n in ec2_ops.nat_gateways(self.client("ec2"), ids)}

    @fact
    def security_groups(self) -> dict[str, dict[str, Any]]:
        """The tasks' and the database's security groups, by id, in one call."""
        tasks = self.task_network().get("securityGroups", [])
        ids = list(dict.fromkeys([*tasks, *db_groups(self.database())]))
        if not ids:
            return {}
        return {g["GroupId"]: g for g in ec2_ops.security_groups(self.client("ec2"), ids)}

    @fact
    def stopped_tasks(self) -> list[dict[str, Any]]:
        """The service's stopped tasks (ECS keeps them about an hour), newest first."""
        self.service()
        return ecs_ops.stopped_tasks(self.client("ecs"), self.names.cluster, self.names.service)

    @fact
    def target_health(self) -> list[tuple[str, list[dict[str, Any]]]]:
        elbv2 = self.client("elbv2")
        return [
            (arn, elbv2_ops.target_health(elbv2, arn)["TargetHealthDescriptions"])
            for arn in ecs_ops.target_group_arns(self.service())
        ]

    def log_lines(self, task_arn: str) -> list[str]:
        stream = task_log_stream(self.names.container, task_arn)
        lines = task_log_lines(
            self.client("logs"),
            self.names.log_group,
            stream,
            start_from_head=False,
            limit=LOG_LINES_SHOWN,
        )
        return [line.message for line in lines]


def _is_writer(cluster: Mapping[str, Any] | None, instance: Mapping[str, Any]) -> bool:
    members = (cluster or {}).get("DBClusterMembers", [])
    ident = instance.get("DBInstanceIdentifier")
    return any(m.get("IsClusterWriter") and m["DBInstanceIdentifier"] == ident for m in members)


def db_groups(db: Mapping[str, Any]) -> list[str]:
    return [
        g["VpcSecurityGroupId"]
        for g in db.get("VpcSecurityGroups", [])
        if g.get("Status", "active") == "active"
    ]
