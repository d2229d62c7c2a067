"""The `hakobu.toml` schema: every section, its defaults and its own checks.

A wrong value raises `KeyProblem` in a section's `__post_init__`, naming the key and the
fix; `messages.py` turns it into the `ConfigError` the user sees. What must be looked at
before the sections are read (an engine's defaults, a command written as one string) is
`before_reading`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from hakobu.core.config.ci import CiSettings
from hakobu.core.config.database import check_engine_settings, engine_defaults
from hakobu.core.config.edge import AlarmsSettings, AutoscalingSettings, DomainSettings
from hakobu.core.config.processes import (
    ProcessSettings,
    ScheduleSettings,
    StorageSettings,
    check_process_names,
    check_processes,
    check_schedule_commands,
    check_schedules,
    process_warnings,
)
from hakobu.core.config.regions import known_regions
from hakobu.core.config.section import KeyProblem, Section, field, within
from hakobu.core.engines import SERVERLESS_CLASS
from hakobu.core.errors import ConfigError
from hakobu.core.fargate import FARGATE_MEMORY_BY_CPU, describe_allowed_memory

CONFIG_FILE = "hakobu.toml"
DEFAULT_ENVIRONMENT = "production"
# Migrations run as a one-off task of the new revision before the service moves, not by
# hand after the new code already serves (the guide's step 9).
DEFAULT_RELEASE_COMMANDS = {
    "rails": "bin/rails db:migrate",
    "django": "python manage.py migrate --noinput",
    "container": "",
}

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Names built from the app name must fit AWS's shortest limit: an ALB or target group
# name is at most 32 characters, and hakobu appends "-staging-alb" style suffixes.
APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}[a-z0-9]$")
ENV_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,9}$")
DB_IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
REGISTRY_URL_PATTERN = re.compile(r"^[a-z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9._-]+)+$")
# Every AWS name is "<prefix>-<suffix>"; the tightest limit is the ALB's and target
# group's 32 characters ("<prefix>-alb"). RDS identifiers refuse "--"; an ALB name may not
# start with "internal-".
MAX_PREFIX_LENGTH = 28


# The bounds of service.desired_count, also `hakobu scale`'s.
MIN_DESIRED_COUNT, MAX_DESIRED_COUNT = 0, 100
DEFAULT_INSTANCE_CLASS = "db.t4g.micro"


class ServiceSettings(Section):
    cpu: int = 256
    memory: int = 512
    port: Annotated[int, Meta(ge=1, le=65535)] = 3000
    health_check_path: str = "/up"
    desired_count: Annotated[int, Meta(ge=MIN_DESIRED_COUNT, le=MAX_DESIRED_COUNT)] = 1
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    # Tasks in the public subnets with a public IP (still reachable only from the ALB's
    # security group): no NAT Gateway needed to pull images or call AWS APIs.
    public_ip: bool = False
    # Fargate Spot: up to ~70% cheaper, but AWS may stop a task with two minutes' notice.
    # `spot_base` tasks always run on regular Fargate; the rest go to Spot.
    spot: bool = False
    spot_base: Annotated[int, Meta(ge=0, le=100)] = 0

    def __post_init__(self) -> None:
        if self.cpu not in FARGATE_MEMORY_BY_CPU:
            allowed = ", ".join(str(c) for c in FARGATE_MEMORY_BY_CPU)
            raise KeyProblem(
                "cpu", f"{self.cpu} is not a Fargate CPU size", f"use one of {allowed}"
            )
        if self.memory not in FARGATE_MEMORY_BY_CPU[self.cpu]:
            raise KeyProblem(
                "memory",
                f"Fargate does not accept memory = {self.memory} with cpu = {self.cpu}",
                f"with cpu = {self.cpu}, memory must be {describe_allowed_memory(self.cpu)} (MiB)",
            )
        if not self.health_check_path.startswith("/"):
            raise KeyProblem(
                "health_check_path",
                f"{self.health_check_path!r} is not a URL path",
                'start it with "/", for example "/up"',
            )


class DatabaseSettings(Section):
    # RDS MySQL as in the guide's text; Aurora as in its diagram; PostgreSQL on either.
    engine: Literal["mysql", "aurora-mysql", "postgres", "aurora-postgresql"] = "mysql"
    # Per engine (see core.engines for each default and why): MySQL "8.4" (8.0 left RDS
    # standard support on 2026-07-31 and is allowed with a warning), PostgreSQL "18",
    # Aurora MySQL "8.0", Aurora PostgreSQL "17". Filled in by `before_reading`.
    engine_version: str = "8.4"
    # Graviton (t4g) costs less than the guide's db.t3.micro for the same size. Aurora's
    # default is "db.serverless" (Serverless v2); a provisioned class is allowed.
    instance_class: str = DEFAULT_INSTANCE_CLASS
    # Aurora Serverless v2 capacity in ACUs (0.5 steps, up to 256). min_capacity = 0 lets an
    # idle cluster pause itself where the version supports it (the default there).
    min_capacity: float | None = None
    max_capacity: float | None = None
    allocated_storage: Annotated[int, Meta(ge=20, le=65536)] = 20
    backup_retention_days: Annotated[int, Meta(ge=0, le=35)] = 7
    name: str | None = None
    username: str = "app"
    final_snapshot: bool = True
    # A standby in the second zone: RDS fails over to it in a minute or two; doubles cost.
    # On Aurora, a reader instance in the other zone (also the failover target).
    multi_az: bool = False

    def __post_init__(self) -> None:
        # The engine's defaults (engine_version, Serverless v2 capacity) were filled in
        # by `before_reading`.
        check_engine_settings(self)
        if not INSTANCE_CLASS_PATTERN.match(self.instance_class) and not (
            self.instance_class == SERVERLESS_CLASS
        ):
            raise KeyProblem(
                "instance_class",
                f"{self.instance_class!r} is not an RDS instance class",
                'use a class such as "db.t4g.micro" or "db.t3.micro"',
            )
        for key in ("name", "username"):
            value = getattr(self, key)
            if value is not None and not DB_IDENTIFIER_PATTERN.match(value):
                raise KeyProblem(
                    key,
                    f"{value!r} is not a valid database {key}",
                    "use letters, digits and underscores, starting with a letter",
                )


class NetworkSettings(Section):
    vpc_cidr: str = "10.0.0.0/16"
    public_subnets: list[str] = field(lambda: ["10.0.1.0/24", "10.0.2.0/24"])
    private_subnets: list[str] = field(lambda: ["10.0.10.0/24", "10.0.11.0/24"])
    # The guide spreads subnets over AZ a and c (ap-northeast-1 has no AZ b for new accounts).
    availability_zones: list[str] = field(lambda: ["a", "c"])
    # 1 as in the guide (in the first zone); 2 keeps each zone's outbound traffic in that
    # zone (survives a zone outage); 0 saves ~$35/month when tasks have public IPs.
    nat_gateways: Annotated[int, Meta(ge=0, le=2)] = 1

    def __post_init__(self) -> None:
        vpc = _parse_network("vpc_cidr", self.vpc_cidr)
        zones = len(self.availability_zones)
        if zones != 2 or len(set(self.availability_zones)) != 2:
            raise KeyProblem(
                "availability_zones",
                f"expected two different zone letters, got {self.availability_zones}",
                'an ALB needs two zones: use for example ["a", "c"]',
            )
        seen: list[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = []
        for key in ("public_subnets", "private_subnets"):
            cidrs = getattr(self, key)
            if len(cidrs) != zones:
                raise KeyProblem(
                    key,
                    f"expected {zones} subnets (one per zone), got {len(cidrs)}",
                    f"list {zones} CIDR blocks inside {self.vpc_cidr}",
                )
            for index, cidr in enumerate(cidrs):
                subnet = _parse_network(f"{key}.{index}", cidr)
                if not subnet.subnet_of(vpc):  # type: ignore[arg-type]
                    raise KeyProblem(
                        f"{key}.{index}",
                        f"{cidr} is not inside the VPC {self.vpc_cidr}",
                        f"choose a block inside {self.vpc_cidr}, or widen vpc_cidr",
                    )
                for other_key, other in seen:
                    if subnet.overlaps(other):
                        raise KeyProblem(
                            f"{key}.{index}",
                            f"{cidr} overlaps {other} ({other_key})",
                            "give every subnet its own block",
                        )
                seen.append((f"network.{key}.{index}", subnet))


class RegistrySettings(Section):
    # ECR keeps the newest N images; older ones expire. Enough to roll back weeks of deploys.
    keep_images: Annotated[int, Meta(ge=1, le=1000)] = 30
    # Push images here ("host[:port]/path") instead of the environment's ECR repository.
    # For the sandbox, whose emulated ECR cannot receive images: a registry on loopback.
    url: str | None = None

    def __post_init__(self) -> None:
        if self.url is not None and not REGISTRY_URL_PATTERN.match(self.url):
            raise KeyProblem(
                "url",
                f"{self.url!r} is not a registry repository address",
                'write it as "host[:port]/repository", without a scheme or tag',
            )


class DeploySettings(Section):
    # Run before the service moves, as a one-off task of the new revision; a failure stops
    # the deploy with the old version still serving. Default per framework; "" for none.
    release_command: str | None = None
    # docker, podman or buildah; by default the first found (docker only if its daemon runs).
    builder: Literal["docker", "podman", "buildah"] | None = None
    dockerfile: str = "Dockerfile"
    context: str = "."
    # How long to follow a rollout before giving up (the rollout itself goes on in AWS).
    timeout_seconds: Annotated[int, Meta(ge=30, le=7200)] = 900
    # Also tag each pushed image `latest`, for humans; the service always runs a digest.
    tag_latest: bool = True


class LogsSettings(Section):
    retention_days: int = 30

    def __post_init__(self) -> None:
        if self.retention_days not in LOG_RETENTION_DAYS:
            raise KeyProblem(
                "retention_days",
                f"CloudWatch Logs does not accept {self.retention_days}",
                f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
            )


class SecretsSettings(Section):
    # Rails: the master key is read from this file (or from the environment variable below
    # when the file is absent, as in CI) and written straight to Secrets Manager.
    master_key_file: str = "config/master.key"
    master_key_env: str = "RAILS_MASTER_KEY"
    # The variable the app reads its DB password from; Rails' generated database.yml uses
    # <APP>_DATABASE_PASSWORD. Defaults to DATABASE_PASSWORD.
    database_password_env: str = "DATABASE_PASSWORD"


class EnvironmentSettings(Section):
    """What an environment may set: everything but the app's identity."""

    region: str = "ap-northeast-1"
    # A set of defaults (see PROFILES); any key it sets can still be given explicitly.
    profile: Literal["guide", "lean", "ha"] | None = None
    # The prefix of every AWS name. Defaults to the app name for "production" (the guide's
    # names) and to "<app>-<environment>" otherwise, so environments never collide.
    name: str | None = None
    state: Literal["local", "s3"] = "local"
    state_bucket: str | None = None
    service: ServiceSettings = field(ServiceSettings)
    database: DatabaseSettings = field(DatabaseSettings)
    network: NetworkSettings = field(NetworkSettings)
    registry: RegistrySettings = field(RegistrySettings)
    logs: LogsSettings = field(LogsSettings)
    secrets: SecretsSettings = field(SecretsSettings)
    deploy: DeploySettings = field(DeploySettings)
    # The production edge; each optional section switches its blueprint part on.
    domain: DomainSettings | None = None
    autoscaling: AutoscalingSettings | None = None
    alarms: AlarmsSettings | None = None
    # Deploys from GitHub Actions through OIDC (core.config.ci); none without it.
    ci: CiSettings | None = None
    # What runs beside web, when, and the app's file storage (core.config.processes).
    processes: dict[str, ProcessSettings] = field(dict)
    schedules: list[ScheduleSettings] = field(list)
    storage: StorageSettings = field(StorageSettings)

    def __post_init__(self) -> None:
        within("processes", lambda: check_processes(self.processes))
        within("schedules", lambda: check_schedules(self.schedules))
        self._check_egress()
        self._check_region()

    def _check_egress(self) -> None:
        if self.network.nat_gateways == 0 and not self.service.public_ip:
            raise KeyProblem(
                "network.nat_gateways",
                "with no NAT Gateway, tasks in private subnets cannot pull images or reach "
                "Secrets Manager and CloudWatch Logs",
                'set service.public_ip = true (or profile = "lean"), or nat_gateways = 1',
            )

    def _check_region(self) -> None:
        regions = known_regions()
        if self.region not in regions:
            close = [r for r in regions if r.split("-")[0] == self.region.split("-")[0]] or regions
            raise KeyProblem(
                "region", f"{self.region!r} is not an AWS region", f"use one of {', '.join(close)}"
            )


class ProjectFile(EnvironmentSettings, kw_only=True):
    """The whole file: the app's identity, shared settings and per-environment overrides."""

    app: str
    framework: Literal["rails", "django", "container"] = "container"
    environments: dict[str, dict[str, Any]] = field(dict)


def before_reading(data: dict[str, Any]) -> dict[str, Any]:
    """What is looked at before the sections are read, on the file's own values: the
    engine's defaults under [database] (its version, Serverless v2 capacity) and the
    [processes] and [[schedules]] checks that need what the user wrote (a command given
    as one string would otherwise be "expected a list")."""
    prepared = dict(data)
    if "database" in prepared:
        prepared["database"] = engine_defaults(prepared["database"])
    within("processes", lambda: check_process_names(prepared.get("processes")))
    within("schedules", lambda: check_schedule_commands(prepared.get("schedules")))
    return prepared


class Environment(msgspec.Struct, frozen=True, kw_only=True):
    """One environment, fully resolved: what the blueprint and the commands work from."""

    app: str
    framework: Literal["rails", "django", "container"]
    name: str
    settings: EnvironmentSettings
    root: Path

    @property
    def prefix(self) -> str:
        """The start of every AWS name: `rails-app` gives `rails-app-cluster`."""
        if self.settings.name:
            return self.settings.name
        return self.app if self.name == DEFAULT_ENVIRONMENT else f"{self.app}-{self.name}"

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def database_name(self) -> str:
        if self.settings.database.name:
            return self.settings.database.name
        return f"{self.app.replace('-', '_')}_{self.name}"

    @property
    def release_command(self) -> list[str]:
        """The command run before each rollout, as an argv list (empty: none)."""
        configured = self.settings.deploy.release_command
        if configured is None:
            configured = DEFAULT_RELEASE_COMMANDS[self.framework]
        return shlex.split(configured)

    @property
    def warnings(self) -> list[str]:
        notes = []
        database = self.settings.database
        if database.engine == "mysql" and database.engine_version == "8.0":
            notes.append(
                'database.engine_version = "8.0": RDS for MySQL 8.0 left standard support on '
                '2026-07-31, so this instance bills RDS Extended Support. Use "8.4" unless '
                "the app cannot run on it yet."
            )
        return notes + process_warnings(self)


class Project(msgspec.Struct, frozen=True, kw_only=True):
    """The validated file and every environment it declares."""

    app: str
    framework: Literal["rails", "django", "container"]
    root: Path
    environments: dict[str, Environment]

    def environment(self, name: str | None) -> Environment:
        """The named environment, or the only / default one when none is named."""
        if name is None:
            if len(self.environments) == 1:
                return next(iter(self.environments.values()))
            if DEFAULT_ENVIRONMENT in self.environments:
                return self.environments[DEFAULT_ENVIRONMENT]
            raise ConfigError(
                None,
                "several environments are declared and none was named",
                f"name one: {', '.join(self.environments)}",
            )
        if name not in self.environments:
            raise ConfigError(
                f"environments.{name}",
                f"no environment named {name!r}",
                f"use one of {', '.join(self.environments)}, or add "
                f"[environments.{name}] to {CONFIG_FILE}",
            )
        return self.environments[name]


def _parse_network(key: str, cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise KeyProblem(
            key,
            f"{cidr!r} is not a CIDR block ({exc})",
            'write it as "10.0.1.0/24", with the host bits zero',
        ) from None
