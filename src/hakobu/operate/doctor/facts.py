"""Facts: each describe call at most once, shared by the checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.aws.clients import ClientSource
from hakobu.aws.ecs import service_description
from hakobu.aws.logs import task_log_lines, task_log_stream
from hakobu.core.config import Environment
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
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.aws.client(service)
        return self.clients[service]

    @fact
    def identity(self) -> dict[str, str]:
        answer = self.client("sts").get_caller_identity()
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
        arn = self.service()["taskDefinition"]
        described = self.client("ecs").describe_task_definition(taskDefinition=arn)
        return dict(described["taskDefinition"])

    @fact
    def secrets(self) -> dict[str, dict[str, Any] | None]:
        """Each managed secret's metadata (never its value); None when it does not exist."""
        client = self.client("secretsmanager")
        found: dict[str, dict[str, Any] | None] = {}
        for managed in managed_secrets(self.env):
            try:
                found[managed.secret] = dict(client.describe_secret(SecretId=managed.secret))
            except client.exceptions.ResourceNotFoundException:
                found[managed.secret] = None
        return found

    def secret_value(self, secret_id: str) -> str | None:
        """The current value, read only to be checked or hashed, never returned to print."""
        client = self.client("secretsmanager")
        try:
            # By stage: what tasks get (and moto returns a stale version without one).
            answer = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        except client.exceptions.ResourceNotFoundException:
            return None  # the secret exists but has no current version
        value = answer.get("SecretString")
        return str(value) if value is not None else None

    @fact
    def db_instance(self) -> dict[str, Any] | None:
        rds = self.client("rds")
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=self.names.db_instance)
        except rds.exceptions.DBInstanceNotFoundFault:
            return None
        instances = found.get("DBInstances", [])
        return dict(instances[0]) if instances else None

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
        answer = self.client("ec2").describe_subnets(SubnetIds=ids)
        return {s["SubnetId"]: s for s in answer.get("Subnets", [])}

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
        answer = self.client("ec2").describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": vpcs}]
        )
        return list(answer.get("RouteTables", []))

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
        answer = self.client("ec2").describe_nat_gateways(NatGatewayIds=ids)
        return {n["NatGatewayId"]: n for n in answer.get("NatGateways", [])}

    @fact
    def security_groups(self) -> dict[str, dict[str, Any]]:
        """The tasks' and the database's security groups, by id, in one call."""
        tasks = self.task_network().get("securityGroups", [])
        ids = list(dict.fromkeys([*tasks, *db_groups(self.database())]))
        if not ids:
            return {}
        answer = self.client("ec2").describe_security_groups(GroupIds=ids)
        return {g["GroupId"]: g for g in answer.get("SecurityGroups", [])}

    @fact
    def stopped_tasks(self) -> list[dict[str, Any]]:
        """The service's stopped tasks (ECS keeps them about an hour), newest first."""
        names, ecs = self.names, self.client("ecs")
        self.service()
        arns = ecs.list_tasks(
            cluster=names.cluster,
            serviceName=names.service,
            desiredStatus="STOPPED",
            maxResults=100,
        ).get("taskArns", [])
        if not arns:
            return []
        tasks = ecs.describe_tasks(cluster=names.cluster, tasks=arns).get("tasks", [])
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return sorted(tasks, key=lambda t: t.get("stoppedAt") or epoch, reverse=True)

    @fact
    def target_health(self) -> list[tuple[str, list[dict[str, Any]]]]:
        arns = [lb["targetGroupArn"] for lb in self.service().get("loadBalancers", [])]
        elbv2 = self.client("elbv2")
        return [
            (arn, elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"])
            for arn in dict.fromkeys(a for a in arns if a)
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


def db_groups(db: Mapping[str, Any]) -> list[str]:
    return [
        g["VpcSecurityGroupId"]
        for g in db.get("VpcSecurityGroups", [])
        if g.get("Status", "active") == "active"
    ]
