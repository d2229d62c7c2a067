"""The database in the private subnets: RDS (MySQL, PostgreSQL) or an Aurora cluster.

`database` renders the engine's part; every engine gets the same subnet group, the guide's
secret for its password (written with write-only arguments, never in plan or state), the
security-group chain on its own port, and the outputs `database_host` (the writer) and
`database_reader_host` (the reader endpoint; the instance itself on RDS).
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.provision.blueprint.database.aurora import CLUSTER, aurora_cluster
from hakobu.provision.blueprint.database.rds import DB_INSTANCE, rds_instance
from hakobu.provision.blueprint.document import Fragment, ref

__all__ = ["CLUSTER", "DB_INSTANCE", "database", "host", "reader_host"]


def database(env: Environment) -> Fragment:
    if engine(env.settings.database.engine).aurora:
        return aurora_cluster(env)
    return rds_instance(env)


def host(env: Environment) -> str:
    """The writer's address, as a Terraform interpolation."""
    if engine(env.settings.database.engine).aurora:
        return ref(CLUSTER, "endpoint")
    return ref(DB_INSTANCE, "address")


def port(env: Environment) -> str:
    """The writer's port as the resource reports it, as a Terraform interpolation.

    Read from the resource rather than the engine's default so the sandbox's local server
    (on whatever port it got) reaches the containers; on AWS it is the same default.
    """
    if engine(env.settings.database.engine).aurora:
        return ref(CLUSTER, "port")
    return ref(DB_INSTANCE, "port")


def reader_host(env: Environment) -> str:
    if engine(env.settings.database.engine).aurora:
        return ref(CLUSTER, "reader_endpoint")
    return ref(DB_INSTANCE, "address")
