"""Facts about each database engine hakobu provisions: family, port, client, versions.

One table read by the config checks, the blueprint, the day-2 commands and the sandbox
runtime (which needs only `family`: it runs a MySQL-compatible or a PostgreSQL server).

Support dates are AWS's "end of standard support" (after it, RDS Extended Support bills
per vCPU-hour), from the RDS and Aurora release calendars, read 2026-12-02:
- RDS for MySQL: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html
- RDS for PostgreSQL: https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html
- Aurora PostgreSQL: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/aurora-postgresql-release-calendar.html
PostgreSQL majors leave RDS and Aurora standard support on the last day of February after
the community's end of life (five years after release).

Auto-pause (Serverless v2 scaling to 0 ACUs) needs Aurora MySQL 3.08.0 or higher, or
Aurora PostgreSQL 16.3, 15.7, 14.12 or 13.15 or higher (every 17.x): "Scaling to Zero ACUs
with automatic pause and resume for Aurora Serverless v2",
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
The same page: the first connection to a paused instance waits ~15 s, 30 s or more after
a pause of over 24 hours.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

import msgspec

Family = Literal["mysql", "postgres"]
ENGINES = ("mysql", "aurora-mysql", "postgres", "aurora-postgresql")
# Serverless v2 capacity: 0.5 ACU steps up to 256 (128 on old versions hakobu does not offer).
ACU_STEP = 0.5
MAX_ACU = 256.0
MIN_ACU_WITHOUT_PAUSE = 0.5
# The first request after an auto-pause waits for the instance to resume (AWS's figures).
RESUME_SECONDS = "about 15 s (30 s or more after a pause of over a day)"
SERVERLESS_CLASS = "db.serverless"
# Full Aurora MySQL versions as `aws rds describe-db-engine-versions` lists them.
AURORA_MYSQL_VERSION = re.compile(r"^8\.0\.mysql_aurora\.3\.(\d\d)\.(\d+)$")
AURORA_POSTGRES_VERSION = re.compile(r"^(1[3-7])\.(\d+)$")
# The first minor of each Aurora PostgreSQL major that can pause itself.
AURORA_POSTGRES_PAUSE_FROM = {13: 15, 14: 12, 15: 7, 16: 3, 17: 0}


# msgspec Structs, not dataclasses: defined on every start-up, where a frozen dataclass
# costs ~0.5 ms to define and a Struct ~0.01 ms (docs/design.md, "Value types").
class Version(msgspec.Struct, frozen=True):
    """A major version hakobu offers: when it leaves standard support, what it can do."""

    end_of_standard_support: date | None
    note: str = ""
    # Serverless v2 min_capacity = 0; for a major alone, AWS's default minor for it.
    auto_pause: bool = False


class Engine(msgspec.Struct, frozen=True):
    name: str  # the RDS `engine` value
    family: Family
    aurora: bool
    label: str
    port: int
    client: str  # the command-line client `hakobu db shell` runs
    tunnel_port: int  # `hakobu db tunnel`'s default local port
    default_version: str
    versions: dict[str, Version] = msgspec.field(default_factory=dict)
    # The log CloudWatch gets: where "the app cannot connect" is explained.
    log_exports: tuple[str, ...] = ()

    def version(self, version: str) -> Version | None:
        """Facts of `version`: a major listed here, or a full Aurora version of one."""
        if version in self.versions:
            return self.versions[version]
        major = major_of(self.name, version)
        if major is None or major not in self.versions:
            return None
        known = self.versions[major]
        return Version(known.end_of_standard_support, known.note, _pauses(self.name, version))

    def supports_auto_pause(self, version: str) -> bool:
        facts = self.version(version)
        return bool(self.aurora and facts and facts.auto_pause)

    def min_capacity(self, version: str) -> float:
        """The lowest Serverless v2 capacity this version accepts."""
        return 0.0 if self.supports_auto_pause(version) else MIN_ACU_WITHOUT_PAUSE


def major_of(engine: str, version: str) -> str | None:
    """`8.0` of `8.0.mysql_aurora.3.10.0`, `17` of `17.5`; None when it is neither form."""
    if engine == "aurora-mysql" and AURORA_MYSQL_VERSION.match(version):
        return "8.0"
    matched = AURORA_POSTGRES_VERSION.match(version)
    if engine == "aurora-postgresql" and matched:
        return matched.group(1)
    return None


def _pauses(engine: str, version: str) -> bool:
    mysql = AURORA_MYSQL_VERSION.match(version)
    if engine == "aurora-mysql" and mysql:
        return (int(mysql.group(1)), int(mysql.group(2))) >= (8, 0)
    postgres = AURORA_POSTGRES_VERSION.match(version)
    if engine == "aurora-postgresql" and postgres:
        major, minor = int(postgres.group(1)), int(postgres.group(2))
        return minor >= AURORA_POSTGRES_PAUSE_FROM.get(major, 10**6)
    return False


MYSQL = Engine(
    name="mysql",
    family="mysql",
    aurora=False,
    label="MySQL",
    port=3306,
    client="mysql",
    tunnel_port=13306,
    # 8.0 left standard support on 2026-07-31: a new 8.0 instance bills Extended Support
    # from its first hour, so the LTS 8.4 is the default.
    default_version="8.4",
    versions={
        "8.4": Version(date(2029, 7, 31), "the MySQL LTS release"),
        "8.0": Version(date(2026, 7, 31)),
    },
    log_exports=("error",),
)
POSTGRES = Engine(
    name="postgres",
    family="postgres",
    aurora=False,
    label="PostgreSQL",
    port=5432,
    client="psql",
    tunnel_port=15432,
    # The newest major on RDS (18.1 since November 2025): the longest time in standard
    # support (until 2031-02-28) before a major upgrade is due.
    default_version="18",
    versions={
        "18": Version(date(2031, 2, 28)),
        "17": Version(date(2030, 2, 28)),
        "16": Version(date(2029, 2, 28)),
    },
    log_exports=("postgresql",),
)
AURORA_MYSQL = Engine(
    name="aurora-mysql",
    family="mysql",
    aurora=True,
    label="Aurora MySQL",
    port=3306,
    client="mysql",
    tunnel_port=13306,
    # Aurora MySQL version 3 (MySQL 8.0 compatible) is the only current major. "8.0" lets
    # Aurora pick its default minor (3.08 or later since 2025, all able to auto-pause: AWS's
    # own auto-pause example creates `--engine-version 8.0` with MinCapacity=0); pin a full
    # version such as "8.0.mysql_aurora.3.10.0" to choose one.
    default_version="8.0",
    versions={
        "8.0": Version(
            None,
            "AWS had published no end of standard support for Aurora MySQL version 3 "
            "(checked 2026-12-02)",
            auto_pause=True,
        ),
    },
    log_exports=("error",),
)
AURORA_POSTGRES = Engine(
    name="aurora-postgresql",
    family="postgres",
    aurora=True,
    label="Aurora PostgreSQL",
    port=5432,
    client="psql",
    tunnel_port=15432,
    # The newest Aurora PostgreSQL major with Serverless v2 (every 17.x can auto-pause); a
    # major alone lets Aurora pick and upgrade its default minor.
    default_version="17",
    versions={
        "17": Version(date(2030, 2, 28), auto_pause=True),
        "16": Version(date(2029, 2, 28), auto_pause=True),
        "15": Version(date(2028, 2, 29), auto_pause=True),
    },
    log_exports=("postgresql",),
)
BY_NAME: dict[str, Engine] = {
    engine.name: engine for engine in (MYSQL, AURORA_MYSQL, POSTGRES, AURORA_POSTGRES)
}


def engine(name: str) -> Engine:
    """The facts of an engine named in hakobu.toml (validated there, so always known)."""
    return BY_NAME[name]


def family(name: str) -> Family:
    """The kind of server behind `name` ("mysql" or "postgres"), e.g. for the sandbox."""
    return BY_NAME[name].family


def describe_versions(name: str) -> str:
    """The accepted versions of `name`, for error messages."""
    known = BY_NAME[name]
    quoted = [f'"{v}"' for v in known.versions]
    listed = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
    if name == "aurora-mysql":
        return f'{listed}, or a full version such as "8.0.mysql_aurora.3.10.0"'
    if name == "aurora-postgresql":
        return f'{listed}, or a major.minor such as "16.6"'
    return listed
