"""RDS MySQL or PostgreSQL in the private subnets, encrypted, backed up, never public."""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.blueprint.database.common import kept_safe, outputs, subnet_group
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.secrets import DB_PASSWORD_VALUE, DB_PASSWORD_VERSION
from hakobu.provision.blueprint.security import DB_SG

DB_INSTANCE = "aws_db_instance.main"


def rds_instance(env: Environment) -> Fragment:
    names = Names.of(env)
    settings = env.settings.database
    part = Fragment("database")
    body: dict[str, object] = {
        "identifier": names.db_instance,
        "engine": settings.engine,
        # A major version only: RDS picks the newest minor and applies minor upgrades.
        "engine_version": settings.engine_version,
        "auto_minor_version_upgrade": True,
        "instance_class": settings.instance_class,
        "allocated_storage": settings.allocated_storage,
        "storage_type": "gp3",
        "storage_encrypted": True,
        "db_name": env.database_name,
        "username": settings.username,
        # Write-only: sent to RDS at creation, never stored in the plan or the state.
        "password_wo": ref(DB_PASSWORD_VALUE, "secret_string"),
        "password_wo_version": DB_PASSWORD_VERSION,
        "db_subnet_group_name": subnet_group(part, env),
        "vpc_security_group_ids": [ref(DB_SG)],
        "publicly_accessible": False,
        "multi_az": settings.multi_az,
        **kept_safe(env, names.db_instance),
    }
    if settings.final_snapshot:
        body["final_snapshot_identifier"] = f"{names.db_instance}-final"
    part.resource("aws_db_instance", "main", body)
    address = ref(DB_INSTANCE, "address")
    outputs(part, env, writer=address, reader=address)
    return part
