"""The app's database as sessions reach it: its endpoint (RDS instance or Aurora writer),
the app's user and database, and its password in Secrets Manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hakobu.aws import rds as rds_ops
from hakobu.aws import secrets as secrets_ops
from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.operate.sessions.plugin import Aws


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    name: str


def database(aws: Aws, env: Environment) -> Database:
    """The RDS instance's private endpoint and the app's user and database."""
    identifier = Names.of(env).db_instance
    facts = engine(env.settings.database.engine)
    if facts.aurora:
        return _cluster_database(aws, env, identifier, facts.port)
    instance = rds_ops.db_instance(aws.client("rds"), identifier)
    if instance is None:
        raise HakobuError(f"the database {identifier} does not exist", "run hakobu up")
    endpoint = instance.get("Endpoint") or {}
    if not endpoint.get("Address"):
        raise HakobuError(
            f"the database {identifier} has no endpoint yet "
            f"(status {instance.get('DBInstanceStatus', 'unknown')})",
            "wait until it is available; `aws rds describe-db-instances "
            f"--db-instance-identifier {identifier}` shows it",
        )
    settings = env.settings.database
    return Database(
        endpoint["Address"], int(endpoint.get("Port", 3306)), settings.username, env.database_name
    )


def _cluster_database(aws: Aws, env: Environment, identifier: str, port: int) -> Database:
    """An Aurora cluster's writer endpoint (the instances change; the endpoint does not)."""
    cluster = rds_ops.db_cluster(aws.client("rds"), identifier)
    if cluster is None:
        raise HakobuError(f"the Aurora cluster {identifier} does not exist", "run hakobu up")
    if not cluster.get("Endpoint"):
        raise HakobuError(
            f"the Aurora cluster {identifier} has no endpoint yet "
            f"(status {cluster.get('Status', 'unknown')})",
            "wait until it is available; `aws rds describe-db-clusters "
            f"--db-cluster-identifier {identifier}` shows it",
        )
    settings = env.settings.database
    return Database(
        str(cluster["Endpoint"]),
        int(cluster.get("Port") or port),
        settings.username,
        env.database_name,
    )


@dataclass(frozen=True)
class PasswordInfo:
    secret: str
    last_changed: datetime | None


def db_password_info(aws: Aws, env: Environment) -> PasswordInfo:
    """Where the DB password is and when it last changed, without reading its value."""
    secret = Names.of(env).db_password_secret
    described = secrets_ops.describe(aws.client("secretsmanager"), secret)
    if described is None:
        raise HakobuError(f"the secret {secret} does not exist", "run hakobu up")
    return PasswordInfo(secret, described.get("LastChangedDate") or described.get("CreatedDate"))


def db_password(aws: Aws, env: Environment) -> str:
    secret = Names.of(env).db_password_secret
    value = secrets_ops.secret_value(aws.client("secretsmanager"), secret)
    if value is None:
        raise HakobuError(
            f"the secret {secret} has no value", "run hakobu up (it generates the password)"
        )
    return value
