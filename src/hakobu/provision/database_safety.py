"""Never lose a database to a config change: refuse an engine change, flag a replacement.

Terraform would "change" `engine` by destroying the database and creating an empty one (and
RDS <-> Aurora by deleting one resource type and creating the other). `check_engine_change`
runs before any Terraform call and refuses when the environment already has a database of
another engine; it learns what exists from the local Terraform state (no AWS call) or, when
there is none here (S3 state, a lost workdir), from RDS itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.core.config import Environment
from hakobu.core.engines import BY_NAME
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.provision.terraform import PlanSummary

# Resources that hold the data: replacing or deleting one loses it (a cluster instance
# holds none: Aurora's storage belongs to the cluster).
DATA_TYPES = ("aws_db_instance", "aws_rds_cluster")
LOSING_ACTIONS = ("replace", "delete")
STATE_FILE = "terraform.tfstate"


@dataclass(frozen=True)
class ExistingDatabase:
    engine: str
    identifier: str
    kind: str  # "RDS instance" or "Aurora cluster"


class EngineChangeRefused(HakobuError):
    """hakobu.toml asks for another engine than the database that exists (exit 2)."""

    exit_code = 2


def check_engine_change(
    env: Environment, workdir: Path, rds: Callable[[], Any] | None = None
) -> None:
    """Raise `EngineChangeRefused` if `env` has a database of another engine.

    `rds` makes an RDS client; it is called only when the local state knows nothing.
    """
    existing = from_state(workdir / STATE_FILE)
    if existing is None and rds is not None:
        existing = from_rds(rds(), Names.of(env).db_instance)
    wanted = env.settings.database.engine
    if existing is None or existing.engine == wanted:
        return
    raise EngineChangeRefused(
        f"database.engine = {wanted!r}, but `{env.name}` already has "
        f"{_a(_label(existing.engine))} database ({existing.kind} {existing.identifier}). "
        "Changing the engine would destroy it and its data; hakobu does not do that.",
        _migration(existing.engine, wanted),
    )


def _a(label: str) -> str:
    return f"an {label}" if label[0] in "AEIOU" else f"a {label}"


def _label(engine: str) -> str:
    known = BY_NAME.get(engine)
    return known.label if known else engine


def _migration(old: str, new: str) -> str:
    if old == "mysql" and new == "aurora-mysql":
        how = (
            "restore a snapshot of the RDS instance as an Aurora MySQL cluster "
            "(`aws rds restore-db-cluster-from-snapshot`), or mysqldump and load it"
        )
    elif BY_NAME.get(old) and BY_NAME.get(new) and BY_NAME[old].family == BY_NAME[new].family:
        how = "mysqldump or pg_dump/pg_restore through `hakobu db tunnel`"
    else:
        how = "AWS DMS or pgloader: MySQL and PostgreSQL dumps do not load into each other"
    return (
        f'keep engine = "{old}" in hakobu.toml. To change engines, create a new environment '
        f'with engine = "{new}", move the data into it ({how}), switch the app over, then '
        "`hakobu destroy` the old environment"
    )


def from_state(path: Path) -> ExistingDatabase | None:
    """The database a local Terraform state records, if any."""
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for resource in state.get("resources", []):
        if resource.get("mode") != "managed" or resource.get("type") not in DATA_TYPES:
            continue
        for instance in resource.get("instances", []):
            attributes = instance.get("attributes") or {}
            if attributes.get("engine"):
                return _existing(resource["type"], attributes)
    return None


def _existing(kind: str, attributes: dict[str, Any]) -> ExistingDatabase:
    if kind == "aws_rds_cluster":
        return ExistingDatabase(
            attributes["engine"], str(attributes.get("cluster_identifier")), "Aurora cluster"
        )
    return ExistingDatabase(attributes["engine"], str(attributes.get("identifier")), "RDS instance")


def from_rds(rds: Any, identifier: str) -> ExistingDatabase | None:
    """The instance or cluster named `identifier` in RDS (both are `{prefix}-db`)."""
    for call, key, kind in (
        ("describe_db_clusters", "DBClusters", "Aurora cluster"),
        ("describe_db_instances", "DBInstances", "RDS instance"),
    ):
        parameter = "DBClusterIdentifier" if key == "DBClusters" else "DBInstanceIdentifier"
        try:
            found = getattr(rds, call)(**{parameter: identifier})[key]
        except (ClientError, BotoCoreError):
            continue  # not found, or not allowed to look: Terraform reports the rest
        if found:
            return ExistingDatabase(str(found[0]["Engine"]), identifier, kind)
    return None


def replaced_databases(summary: PlanSummary) -> list[str]:
    """Addresses of data-holding resources the plan replaces or deletes."""
    return [
        change.address
        for change in summary.changes
        if change.resource_type in DATA_TYPES and change.action in LOSING_ACTIONS
    ]
