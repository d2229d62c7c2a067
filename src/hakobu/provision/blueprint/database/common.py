"""What every engine's database shares: the subnet group, the backup, logging and
protection arguments, and the outputs."""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.network import subnet_ids

SUBNET_GROUP = "aws_db_subnet_group.main"


def subnet_group(part: Fragment, env: Environment) -> str:
    names = Names.of(env)
    part.resource(
        "aws_db_subnet_group",
        "main",
        {
            "name": names.db_subnet_group,
            "subnet_ids": subnet_ids(env, "private"),
            "tags": {"Name": names.db_subnet_group},
        },
    )
    return ref(SUBNET_GROUP, "name")


def kept_safe(env: Environment, name: str) -> dict[str, object]:
    """Arguments an RDS instance and an Aurora cluster take alike, in the order both
    render them: backups, the server's log, IAM login, the final snapshot, the Name tag."""
    settings = env.settings.database
    return {
        "backup_retention_period": settings.backup_retention_days,
        "copy_tags_to_snapshot": True,
        # The server's own log in CloudWatch: where "the app cannot connect" is explained.
        "enabled_cloudwatch_logs_exports": list(engine(settings.engine).log_exports),
        # Free, and lets operators log in with IAM tokens instead of the shared password.
        "iam_database_authentication_enabled": True,
        "skip_final_snapshot": not settings.final_snapshot,
        "deletion_protection": False,
        "tags": {"Name": name},
    }


def outputs(part: Fragment, env: Environment, writer: str, reader: str) -> None:
    label = engine(env.settings.database.engine).label
    part.output("database_host", writer, f"{label} host name (private)")
    # Apps that send reads elsewhere always find this output; on RDS it is the instance.
    part.output("database_reader_host", reader, f"{label} reader host name (private)")
