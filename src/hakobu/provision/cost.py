"""`hakobu cost`: what the stack in hakobu.toml costs a month, line by line.

The guide's table ("コスト概算（最安構成）": about $100 a month in Tokyo) is five round
figures. This estimate has one line per billed quantity (quantity x unit price = monthly),
each price with its source and date from `hakobu.provision.prices`, and every usage figure that
hakobu.toml cannot know (LCUs, NAT traffic, log volume, data out) stated as an assumption.
A price missing for the region makes its line unknown and the total incomplete: hakobu
never guesses a price.

Pure functions of the configuration and the price table: no AWS call, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from msgspec.structs import asdict

from hakobu.core.config import PROFILES, Environment, with_profile
from hakobu.core.config.processes import workers
from hakobu.core.engines import ENGINES
from hakobu.core.engines import engine as engine_facts
from hakobu.core.errors import ConfigError
from hakobu.provision.aurora_cost import aurora_lines
from hakobu.provision.cost_line import CostLine, priced
from hakobu.provision.edge_cost import EDGE_GROUPS, edge_lines, scaling_note
from hakobu.provision.prices import PriceTable, fargate_key, rds_instance_key

# AWS's own month: 8,760 hours a year / 12. Its calculator and price pages use it too.
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
# Extended Support bills per vCPU-hour, so the instance's vCPUs matter (RDS instance
# class documentation: every burstable class below has 2 vCPUs).
RDS_VCPUS = {
    "db.t3.micro": 2,
    "db.t3.small": 2,
    "db.t3.medium": 2,
    "db.t4g.micro": 2,
    "db.t4g.small": 2,
    "db.t4g.medium": 2,
}
# Secrets each framework gets (blueprint/secrets.py): the DB password, plus Rails' master
# key or Django's SECRET_KEY.
SECRETS_BY_FRAMEWORK = {"rails": 2, "django": 2, "container": 1}


def database_group(engine: str) -> str:
    """The group of the database's lines, named after its engine: "RDS MySQL" (the guide's
    row), "RDS PostgreSQL", "Aurora MySQL", "Aurora PostgreSQL"."""
    facts = engine_facts(engine)
    return facts.label if facts.aurora else f"RDS {facts.label}"


FARGATE, RDS, ALB, NAT = "ECS Fargate", database_group("mysql"), "ALB", "NAT Gateway"
TRANSFER, IPV4, SECRETS, LOGS = "Data transfer", "Public IPv4", "Secrets Manager", "CloudWatch Logs"
DATABASE_GROUPS = tuple(database_group(name) for name in ENGINES)
GROUPS = (FARGATE, *DATABASE_GROUPS, ALB, NAT, TRANSFER, IPV4, SECRETS, LOGS, *EDGE_GROUPS)


class GuideRow(msgspec.Struct, frozen=True):
    group: str
    spec: str
    usd: float


# The guide's table, row by row, for comparison (Tokyo, 最安構成). It has no row for public
# IPv4 addresses, Secrets Manager or CloudWatch Logs, which are billed all the same.
GUIDE_TABLE = (
    GuideRow(FARGATE, "1タスク, 0.25vCPU, 0.5GB", 10.0),
    GuideRow(RDS, "db.t3.micro, 20GB", 25.0),
    GuideRow(ALB, "基本料金", 25.0),
    GuideRow(NAT, "基本料金 + データ転送", 35.0),
    GuideRow(TRANSFER, "変動", 5.0),
)
GUIDE_TOTAL = 100.0
GUIDE_REGION = "ap-northeast-1"


class Assumptions(msgspec.Struct, frozen=True):
    """Usage hakobu.toml cannot tell; each is printed with every estimate."""

    # A small app averages well under 1 LCU (25 new connections/s, 3,000 active
    # connections/min, 1 GB/h, 1,000 rule evaluations/s); 1 is a safe allowance and
    # matches the guide's ~$25 for the ALB.
    alb_lcu: float = 1.0
    # Private tasks reach ECR, CloudWatch Logs, Secrets Manager and the internet through
    # the NAT Gateway (no VPC endpoints): image pulls on deploys dominate.
    nat_gb: float = 10.0
    logs_gb: float = 1.0
    # Responses to users; about the guide's ~$5 in Tokyo.
    transfer_out_gb: float = 40.0

    def statements(self, nat: bool = True) -> list[str]:
        """The assumptions in words; the NAT one only when there is a NAT Gateway."""
        statements = [
            f"ALB: {self.alb_lcu:g} LCU on average (1 LCU = 25 new connections/s, 3,000 active "
            "connections/min, 1 GB/h processed or 1,000 rule evaluations/s).",
            f"NAT Gateway: {self.nat_gb:g} GB a month processed (image pulls, logs and AWS API "
            "calls from private subnets; there are no VPC endpoints).",
            f"CloudWatch Logs: {self.logs_gb:g} GB a month ingested (app stdout/stderr and the "
            "MySQL error log); storage is what the retention period keeps, uncompressed.",
            f"Data transfer: {self.transfer_out_gb:g} GB a month out to the internet, before "
            "the 100 GB a month AWS gives each account free.",
        ]
        return [text for text in statements if nat or not text.startswith("NAT")]


class CostEstimate(msgspec.Struct, frozen=True):
    environment: str
    profile: str | None
    region: str
    lines: tuple[CostLine, ...]
    notes: tuple[str, ...]

    @property
    def total(self) -> float:
        """The sum of the priced lines; see `complete` before trusting it."""
        return sum(line.monthly for line in self.lines if line.monthly is not None)

    @property
    def complete(self) -> bool:
        return all(line.known for line in self.lines)

    @property
    def unknown(self) -> list[str]:
        return [line.name for line in self.lines if not line.known]

    def group_total(self, group: str) -> float | None:
        """A group's monthly cost; None when one of its lines has no price."""
        lines = [line for line in self.lines if line.group == group]
        if any(not line.known for line in lines):
            return None
        return sum(line.monthly or 0.0 for line in lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "profile": self.profile,
            "region": self.region,
            "hours_per_month": HOURS_PER_MONTH,
            "currency": "USD",
            "lines": [asdict(line) for line in self.lines],
            "total_usd": round(self.total, 2),
            "complete": self.complete,
            "unknown": self.unknown,
            "notes": list(self.notes),
        }


# --- The estimate -------------------------------------------------------------------------


def estimate(
    env: Environment, prices: PriceTable, assumptions: Assumptions | None = None
) -> CostEstimate:
    """The monthly cost of `env` at `prices`, one line per billed quantity."""
    usage = assumptions or Assumptions()
    builders = (_fargate, _alb, _nat, _rds, _ipv4, _secrets, _logs, _transfer)
    lines = tuple(line for build in builders for line in build(env, prices, usage))
    lines += tuple(edge_lines(env, prices, usage))  # [domain], [alarms]: nothing without
    return CostEstimate(
        environment=env.name,
        profile=env.settings.profile,
        region=env.region,
        lines=lines,
        notes=tuple(_notes(env, usage)),
    )


def task_split(env: Environment) -> tuple[int, int]:
    """(regular, Spot) tasks: with Spot, `spot_base` tasks stay regular, the rest go Spot."""
    service = env.settings.service
    if not service.spot:
        return service.desired_count, 0
    regular = min(service.spot_base, service.desired_count)
    return regular, service.desired_count - regular


def _fargate(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    service = env.settings.service
    regular, spot = task_split(env)
    batches = [(n, on_spot) for n, on_spot in ((regular, False), (spot, True)) if n] or [(0, False)]
    lines = []
    for tasks, on_spot in batches:
        lines += _task_lines(env, prices, "", (service.cpu, service.memory), tasks, on_spot)
    # Each [processes.NAME] is a service of its own size and count, all regular or all Spot.
    for name, process in workers(env).items():
        size = (process.cpu, process.memory)
        lines += _task_lines(env, prices, name, size, process.desired_count, process.spot)
    return lines


def _task_lines(
    env: Environment,
    prices: PriceTable,
    process: str,
    size: tuple[int, int],
    tasks: int,
    on_spot: bool,
) -> list[CostLine]:
    """vCPU and GB lines for `tasks` tasks of `size` (cpu units, MiB); `process` names a
    worker's lines ("" for web's)."""
    platform = env.settings.service.platform
    arch = "ARM/Graviton" if platform == "linux/arm64" else "x86"
    kind = " (Spot)" if on_spot else ""
    whose = f" {process}" if process else ""
    discount = "fargate.spot_discount" if on_spot else None
    lines = []
    for dimension, per_task, unit, what in (
        ("vcpu_hour", size[0] / 1024, "vCPU-hours", "vCPU"),
        ("gb_hour", size[1] / 1024, "GB-hours", "GB"),
    ):
        lines.append(
            priced(
                prices,
                env.region,
                (FARGATE, f"Fargate{whose} {what}{kind}"),
                fargate_key(dimension, platform),
                (tasks * per_task * HOURS_PER_MONTH, unit),
                f"{tasks}{whose} task(s) x {per_task:g} {what} x {HOURS_PER_MONTH} h, {arch}"
                + (", Spot price = on-demand x (1 - Spot discount)" if on_spot else ""),
                discount,
            )
        )
    return lines


def _alb(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    return [
        priced(prices, env.region, (ALB, "ALB hours"), "alb.hour",
               (HOURS_PER_MONTH, "ALB-hours"), f"one ALB x {HOURS_PER_MONTH} h"),
        priced(prices, env.region, (ALB, "ALB LCUs"), "alb.lcu_hour",
               (usage.alb_lcu * HOURS_PER_MONTH, "LCU-hours"),
               f"assumed {usage.alb_lcu:g} LCU on average x {HOURS_PER_MONTH} h"),
    ]  # fmt: skip


def _nat(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    count = env.settings.network.nat_gateways
    if count == 0:
        return []  # tasks have public IPs: nothing goes through a NAT Gateway
    return [
        priced(prices, env.region, (NAT, "NAT Gateway hours"), "nat.hour",
               (count * HOURS_PER_MONTH, "NAT Gateway-hours"),
               f"{count} NAT Gateway(s) x {HOURS_PER_MONTH} h"),
        priced(prices, env.region, (NAT, "NAT Gateway data processed"), "nat.gb",
               (usage.nat_gb, "GB"), f"assumed {usage.nat_gb:g} GB a month in total"),
    ]  # fmt: skip


def _rds(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    db = env.settings.database
    group = database_group(db.engine)
    if engine_facts(db.engine).aurora:
        return aurora_lines(env, prices, group)
    copies = 2 if db.multi_az else 1
    layout = "Multi-AZ: primary + standby" if db.multi_az else "Single-AZ"
    lines = [
        priced(prices, env.region, (group, "RDS instance hours"),
               rds_instance_key(db.instance_class), (copies * HOURS_PER_MONTH, "instance-hours"),
               f"{db.instance_class}, {engine_facts(db.engine).label} {db.engine_version}, "
               f"{layout}: "
               f"{copies} x {HOURS_PER_MONTH} h"),
        priced(prices, env.region, (group, "RDS gp3 storage"), "rds.gp3.gb_month",
               (copies * db.allocated_storage, "GB-months"),
               f"{db.allocated_storage} GB gp3" + (" x 2 (the standby has its own)" if copies == 2
                                                 else "")),
    ]  # fmt: skip
    if db.engine == "mysql" and db.engine_version == "8.0":
        lines.append(_extended_support(env, prices, copies))
    return lines


def _extended_support(env: Environment, prices: PriceTable, copies: int) -> CostLine:
    instance_class = env.settings.database.instance_class
    vcpus = RDS_VCPUS.get(instance_class)
    quantity = copies * vcpus * HOURS_PER_MONTH if vcpus else None
    detail = f"{vcpus} vCPUs" if vcpus else f"vCPU count of {instance_class} unknown to hakobu"
    return priced(
        prices,
        env.region,
        (RDS, "RDS Extended Support (MySQL 8.0)"),
        "rds.extended_support.vcpu_hour",
        (quantity, "vCPU-hours"),
        f"MySQL 8.0 is past standard support (2026-07-31): {detail} x {copies} instance(s) "
        f"x {HOURS_PER_MONTH} h at the year 1-2 rate",
    )


def public_ipv4_count(env: Environment) -> tuple[int, int, int]:
    """(ALB, NAT EIP, task) public IPv4 addresses the configuration creates."""
    settings = env.settings
    # An internet-facing ALB holds one address per zone (more only while it scales up).
    alb = len(settings.network.availability_zones)
    running = settings.service.desired_count + sum(p.desired_count for p in workers(env).values())
    tasks = running if settings.service.public_ip else 0  # workers sit where web's tasks do
    return alb, settings.network.nat_gateways, tasks


def _ipv4(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    alb, nat, tasks = public_ipv4_count(env)
    count = alb + nat + tasks
    return [
        priced(prices, env.region, (IPV4, "Public IPv4 addresses"), "ipv4.hour",
               (count * HOURS_PER_MONTH, "address-hours"),
               f"{alb} ALB (one per zone) + {nat} NAT EIP + {tasks} task IP = {count} "
               f"address(es) x {HOURS_PER_MONTH} h"),
    ]  # fmt: skip


def _secrets(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    count = SECRETS_BY_FRAMEWORK[env.framework]
    names = {
        "rails": "DB password + Rails master key",
        "django": "DB password + Django SECRET_KEY",
        "container": "DB password",
    }[env.framework]
    return [
        priced(prices, env.region, (SECRETS, "Secrets Manager secrets"), "secrets.secret_month",
               (count, "secret-months"), f"{names}; API calls (a few per task start) left out"),
    ]  # fmt: skip


def _logs(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    days = env.settings.logs.retention_days
    stored = usage.logs_gb * days / DAYS_PER_MONTH
    return [
        priced(prices, env.region, (LOGS, "CloudWatch Logs ingestion"), "logs.ingest_gb",
               (usage.logs_gb, "GB"), f"assumed {usage.logs_gb:g} GB a month"),
        priced(prices, env.region, (LOGS, "CloudWatch Logs storage"), "logs.storage_gb_month",
               (stored, "GB-months"),
               f"{usage.logs_gb:g} GB a month kept {days} days (logs.retention_days), "
               "once the retention period has filled"),
    ]  # fmt: skip


def _transfer(env: Environment, prices: PriceTable, usage: Assumptions) -> list[CostLine]:
    return [
        priced(prices, env.region, (TRANSFER, "Data transfer out"), "transfer.out_gb",
               (usage.transfer_out_gb, "GB"),
               f"assumed {usage.transfer_out_gb:g} GB a month to the internet"),
    ]  # fmt: skip


def _notes(env: Environment, usage: Assumptions) -> list[str]:
    notes = [
        f"{HOURS_PER_MONTH} hours a month; on-demand list prices in USD without tax, free "
        "tier, Savings Plans or reserved instances.",
        *usage.statements(nat=env.settings.network.nat_gateways > 0),
        "Not counted: ECR image storage, RDS backups beyond the free allowance (the DB's "
        "size), traffic between zones, CloudWatch metrics and alarms, and the extra task a "
        "deploy or release command runs for a few minutes.",
    ]
    notes += scaling_note(env)
    notes += _processes_notes(env)
    regular, spot = task_split(env)
    if spot:
        notes.append(
            f"Fargate Spot: {spot} of {regular + spot} task(s) run on Spot, priced at the "
            "best-case discount. The trade-off: AWS may stop a Spot task with two minutes' "
            "notice when it needs the capacity back, so keep spot_base >= 1 for an app that "
            "must stay up."
        )
    if env.settings.database.engine == "mysql" and env.settings.database.engine_version == "8.0":
        notes.append(
            "MySQL 8.0 bills RDS Extended Support since 2026-08-01 (year 1-2 rate; it doubles "
            'from 2028-08-01). database.engine_version = "8.4" removes the line.'
        )
    return notes


def _processes_notes(env: Environment) -> list[str]:
    """What [[schedules]] and [storage] cost depends on use hakobu.toml does not give."""
    notes = []
    schedules = env.settings.schedules
    if schedules:
        service = env.settings.service
        notes.append(
            f"{len(schedules)} schedule(s): EventBridge Scheduler's first 14 million "
            "invocations a month are free; each run is a Fargate task of web's size "
            f"({service.cpu / 1024:g} vCPU, {service.memory / 1024:g} GB) billed per second "
            "while it runs (a minute at least), not counted above; its failures sit in an SQS "
            "queue (within SQS's free tier)."
        )
    if env.settings.storage.bucket:
        notes.append(
            "[storage] bucket: S3 bills per GB stored (and its old versions, kept 30 days), "
            "per request and per GB sent out; hakobu cannot know your uploads, so none of it "
            "is counted above."
        )
    return notes


# --- Profiles side by side ----------------------------------------------------------------


class ProfileTotal(msgspec.Struct, frozen=True):
    profile: str
    total: float | None
    complete: bool
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        total = None if self.total is None else round(self.total, 2)
        return {"total_usd": total, "complete": self.complete, "problem": self.problem}


def profile_totals(
    raw: Mapping[str, Any],
    env: Environment,
    prices: PriceTable,
    assumptions: Assumptions | None = None,
    profiles: Iterable[str] = tuple(PROFILES),
) -> list[ProfileTotal]:
    """The total for each profile, from the same file with only the profile swapped."""
    totals = []
    for profile in profiles:
        try:
            swapped = with_profile(raw, env, profile)
        except ConfigError as exc:  # e.g. lean with public_ip = false written in the file
            totals.append(ProfileTotal(profile, None, False, exc.problem))
            continue
        result = estimate(swapped, prices, assumptions)
        totals.append(ProfileTotal(profile, result.total, result.complete))
    return totals


def guide_comparison(result: CostEstimate) -> list[tuple[GuideRow, float | None]]:
    """Each row of the guide's table next to this estimate's lines of the same group. The
    guide's database row (RDS MySQL) stands against this estimate's database, whatever its
    engine: the row then carries that engine's group, and the guide's own words in `spec`."""
    ours = next((line.group for line in result.lines if line.group in DATABASE_GROUPS), RDS)
    rows = [
        GuideRow(ours, f"{RDS}, {row.spec}", row.usd) if row.group == RDS != ours else row
        for row in GUIDE_TABLE
    ]
    return [(row, result.group_total(row.group)) for row in rows]
