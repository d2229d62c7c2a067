"""Checks of the database: the instance, the path from the tasks, the password, the engine."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.engines import RESUME_SECONDS, engine
from hakobu.core.errors import HakobuError
from hakobu.operate.doctor.facts import Facts, db_groups
from hakobu.operate.doctor.results import Finding, ok, problem, warning
from hakobu.provision.cost import HOURS_PER_MONTH, RDS_VCPUS
from hakobu.provision.prices import load_prices

# RDS for MySQL 8.0 left standard support on 2026-07-31; Extended Support bills from then.
EXTENDED_SUPPORT_FROM = date(2026, 8, 1)

# RDS instance states in which the app cannot connect until someone acts.
DB_DOWN = frozenset(
    {
        "stopped",
        "stopping",
        "failed",
        "storage-full",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "insufficient-capacity",
        "restore-error",
        "deleting",
    }
)


def check_db_instance(facts: Facts) -> Finding:
    """The guide's `aws rds describe-db-instances --db-instance-identifier rails-app-db`."""
    if engine(facts.env.settings.database.engine).aurora:
        return check_db_cluster(facts)
    db = facts.db_instance
    ident = facts.names.db_instance
    if db is None:
        return problem(f"the DB instance {ident} does not exist", "run `hakobu up`")
    state = db.get("DBInstanceStatus", "unknown")
    multi_az = ", Multi-AZ" if db.get("MultiAZ") else ""
    label = engine(facts.env.settings.database.engine).label
    line = (
        f"{ident} {state} ({label} {db.get('EngineVersion', '?')}, "
        f"{db.get('DBInstanceClass', '?')}{multi_az})"
    )
    if state == "available":
        return ok(line)
    region = facts.env.region
    if state in ("stopped", "stopping"):
        return problem(
            f"{line}: the app cannot connect to a stopped database",
            f"start it: `aws rds start-db-instance --db-instance-identifier {ident} --region "
            f"{region}` (AWS also starts a stopped instance by itself after seven days)",
        )
    events = (
        f"`aws rds describe-events --source-identifier {ident} --source-type db-instance "
        f"--region {region}` says what happened"
    )
    if state in DB_DOWN:
        return problem(f"{line}: the app cannot connect", events)
    return warning(f"{line}: it may refuse connections until it is available", events)


def check_db_cluster(facts: Facts) -> Finding:
    """An Aurora cluster: its state and each instance's, and its Serverless v2 capacity.
    A cluster that may scale to 0 ACUs pauses itself when idle: that is said, not flagged."""
    cluster, ident = facts.db_cluster, facts.names.db_instance
    region = facts.env.region
    if cluster is None:
        return problem(f"the Aurora cluster {ident} does not exist", "run `hakobu up`")
    state = cluster.get("Status", "unknown")
    instances = facts.cluster_instances
    members = ", ".join(
        f"{i['DBInstanceIdentifier']} {i.get('DBInstanceStatus', 'unknown')}" for i in instances
    )
    label = engine(facts.env.settings.database.engine).label
    version = cluster.get("EngineVersion", "?")
    line = f"{ident} {state} ({label} {version}; {members or 'no instance'}{_capacity(cluster)})"
    if state in ("stopped", "stopping"):
        return problem(
            f"{line}: the app cannot connect to a stopped cluster",
            f"`hakobu resume {facts.env.name}` starts it (or `aws rds start-db-cluster "
            f"--db-cluster-identifier {ident} --region {region}`; AWS also starts a stopped "
            "cluster by itself after seven days)",
        )
    events = (
        f"`aws rds describe-events --source-identifier {ident} --source-type db-cluster "
        f"--region {region}` says what happened"
    )
    if not instances:
        return problem(f"{line}: a cluster without instances serves nothing", "run `hakobu up`")
    if state in DB_DOWN or any(i.get("DBInstanceStatus") in DB_DOWN for i in instances):
        return problem(f"{line}: the app cannot connect", events)
    if state != "available" or any(i.get("DBInstanceStatus") != "available" for i in instances):
        return warning(f"{line}: it may refuse connections until it is available", events)
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    if scaling and float(scaling.get("MinCapacity", 1)) == 0:
        return ok(
            f"{line}; with min 0 ACUs it pauses itself when idle (not a fault): the first "
            f"connection after a pause waits {RESUME_SECONDS}"
        )
    return ok(line)


def _capacity(cluster: Mapping[str, Any]) -> str:
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    if not scaling:
        return ""
    low, high = scaling.get("MinCapacity"), scaling.get("MaxCapacity")
    return f"; Serverless v2 {low:g}-{high:g} ACUs" if low is not None and high else ""


def check_db_path(facts: Facts) -> Finding:
    """The guide's "セキュリティグループの確認": the DB's security group admits the
    engine's port (3306, 5432) from the tasks' security group, and the tasks' group lets
    them send to it."""
    facts_engine = engine(facts.env.settings.database.engine)
    port, what = facts_engine.port, f"{facts_engine.label} ({facts_engine.port})"
    db, network = facts.database(), facts.task_network()
    groups, subnets = facts.security_groups, facts.subnets
    task_groups = list(network.get("securityGroups", []))
    db_group_ids = db_groups(db)
    task_cidrs = [subnets[s]["CidrBlock"] for s in network.get("subnets", []) if s in subnets]
    db_cidrs = [subnets[s]["CidrBlock"] for s in facts._db_subnet_ids() if s in subnets]
    tasks_label = _groups_label(groups, task_groups)
    db_label = _groups_label(groups, db_group_ids)
    admitting = _allowing(groups, db_group_ids, "in", task_groups, task_cidrs, port)
    if not admitting:
        return problem(
            f"the DB's security group {db_label} has no inbound rule for {what} "
            f"from the tasks' security group {tasks_label}: the app cannot connect",
            "run `hakobu up`: Terraform puts the rule back. (A rule added by hand makes the "
            "next `hakobu up` fail with InvalidPermission.Duplicate: Terraform does not "
            "know it)",
        )
    sending = _allowing(groups, task_groups, "out", db_group_ids, db_cidrs, port)
    if not sending:
        return problem(
            f"the tasks' security group {tasks_label} allows no outbound traffic to the "
            f"database on {port}: the app cannot connect",
            "run `hakobu up`: Terraform puts the tasks' outbound rule back",
        )
    return ok(
        f"{_groups_label(groups, admitting)} admits {what} from the tasks' "
        f"{tasks_label}, which may send to it"
    )


def _allowing(
    groups: Mapping[str, Any],
    ids: list[str],
    direction: str,
    peers: list[str],
    cidrs: list[str],
    port: int,
) -> list[str]:
    """Those of the security groups `ids` whose rules let `port` through in `direction`."""
    return [g for g in ids if _allows(groups.get(g), direction, peers, cidrs, port)]


def _allows(
    group: Mapping[str, Any] | None, direction: str, peers: list[str], cidrs: list[str], port: int
) -> bool:
    """A rule of `group` covers `port` for a peer security group, or for every CIDR."""
    if group is None:
        return False
    rules = group.get("IpPermissions" if direction == "in" else "IpPermissionsEgress", [])
    for rule in rules:
        if not _covers_port(rule, port):
            continue
        if any(pair.get("GroupId") in peers for pair in rule.get("UserIdGroupPairs", [])):
            return True
        ranges = [r["CidrIp"] for r in rule.get("IpRanges", []) if r.get("CidrIp")]
        if cidrs and all(any(_inside(c, r) for r in ranges) for c in cidrs):
            return True
    return False


def _covers_port(rule: Mapping[str, Any], port: int) -> bool:
    protocol = str(rule.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(rule.get("FromPort", -1)) <= port <= int(rule.get("ToPort", -1))


def _inside(cidr: str, block: str) -> bool:
    try:
        return ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(block))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


def _groups_label(groups: Mapping[str, Mapping[str, Any]], ids: Iterable[str]) -> str:
    labels = [f"{groups.get(i, {}).get('GroupName', '?')} ({i})" for i in ids]
    return ", ".join(labels) or "(none)"


def check_db_password(facts: Facts) -> Finding:
    """The guide's "Secrets Managerの値を確認", without showing the value."""
    secret = facts.names.db_password_secret
    variable = facts.env.settings.secrets.database_password_env
    if not facts.secret_value(secret):
        return problem(
            f"{secret} has no value: tasks start without {variable} and cannot log in to "
            f"{engine(facts.env.settings.database.engine).label}",
            "run `hakobu secrets rotate-db`: it sets a new password on the database and in "
            "the secret",
        )
    return ok(f"{secret} has a value (not shown), injected as {variable}")


def check_engine_version(facts: Facts) -> Finding:
    if facts.env.settings.database.engine != "mysql":
        return _support_date(facts)
    db = facts.database()
    version = str(db.get("EngineVersion", "?"))
    if not version.startswith("8.0"):
        lts = " (LTS, in standard support)" if version.startswith("8.4") else ""
        return ok(f"MySQL {version}{lts}")
    bills = "bills" if facts.today >= EXTENDED_SUPPORT_FROM else "will bill"
    return warning(
        f"MySQL {version} left RDS standard support on 2026-07-31 and {bills} Extended "
        f"Support from {EXTENDED_SUPPORT_FROM}: {extended_support_cost(facts.env, db)}",
        "upgrade to MySQL 8.4 (a major version upgrade: take a snapshot and try it on "
        "staging first; an RDS Blue/Green deployment keeps the downtime short), then set "
        'database.engine_version = "8.4" in hakobu.toml',
    )


def _support_date(facts: Facts) -> Finding:
    """PostgreSQL and Aurora: the configured major's end of standard support (core.engines)."""
    settings = facts.env.settings.database
    known = engine(settings.engine)
    version = known.version(settings.engine_version)
    ends = version.end_of_standard_support if version else None
    label = f"{known.label} {settings.engine_version}"
    if ends is None:
        return ok(f"{label} ({version.note if version else 'no support date known'})")
    if facts.today >= ends:
        return warning(
            f"{label} left standard support on {ends}: RDS Extended Support bills per vCPU-hour",
            "upgrade to a newer major (snapshot first, try it on staging), then set "
            "database.engine_version in hakobu.toml",
        )
    return ok(f"{label} (standard support until {ends})")


def extended_support_cost(env: Environment, db: Mapping[str, Any]) -> str:
    """The surcharge in words, from hakobu's price table (the year 1-2 rate)."""
    instance_class = str(db.get("DBInstanceClass", "?"))
    try:
        price = load_prices().get(env.region, "rds.extended_support.vcpu_hour")
    except HakobuError:
        price = None
    vcpus = RDS_VCPUS.get(instance_class)
    if price is None or vcpus is None:
        return f"a charge per vCPU-hour of {instance_class} (hakobu has no figure for it here)"
    copies = 2 if db.get("MultiAZ") else 1
    monthly = copies * vcpus * HOURS_PER_MONTH * price.usd
    standby = " x 2 (Multi-AZ)" if copies == 2 else ""
    return (
        f"about ${monthly:,.0f} a month on top of the instance ({vcpus} vCPUs{standby} x "
        f"{HOURS_PER_MONTH} h x ${price.usd} per vCPU-hour, the year 1-2 rate; it doubles "
        "from 2028-08-01)"
    )
