"""RDS: the DB instances and clusters the runtime serves with a local server, and the
status it reports as that server stops and starts."""

from __future__ import annotations

import json
from typing import Any

from moto.rds.models import rds_backends

from hakobu.sandbox.runtime.bridge.shared import lock
from hakobu.sandbox.runtime.model import Database


def db_instances() -> list[Database]:
    """Stand-alone DB instances (cluster members are served by their cluster)."""
    found = []
    for account, region, backend in list(rds_backends.iter_backends()):
        for db in list(backend.databases.values()):
            if db.db_cluster_identifier is None:
                found.append(_instance_view(account, region, db))
    return found


def set_db_instance_status(
    account: str, region: str, identifier: str, status: str, only_from: str | None = None
) -> None:
    """Set the instance's status; with `only_from`, only if it still has that one (a stop
    or start requested meanwhile must not be overwritten)."""
    with lock:
        db = rds_backends[account][region].databases.get(identifier)
        if db is not None and only_from in (None, db.status):
            db.status = status


def db_clusters() -> list[Database]:
    found = []
    for account, region, backend in list(rds_backends.iter_backends()):
        for cluster in list(backend.clusters.values()):
            found.append(_cluster_view(account, region, cluster))
    return found


def _instance_view(account: str, region: str, db: Any) -> Database:
    return _view(account, region, db, "instance", db.db_instance_identifier, db.db_name, db.address)


def _cluster_view(account: str, region: str, cluster: Any) -> Database:
    aliases = (cluster.reader_endpoint, *(m.address for m in cluster._members))
    return _view(
        account, region, cluster, "cluster", cluster.db_cluster_identifier,
        cluster.database_name, cluster.endpoint, aliases,
    )  # fmt: skip


def _view(
    account: str,
    region: str,
    resource: Any,
    kind: str,
    identifier: str,
    database: str | None,
    address: str,
    aliases: tuple[str, ...] = (),
) -> Database:
    """What an instance and a cluster share; moto names their identifier, database name
    and endpoint differently."""
    return Database(
        kind=kind,
        account=account,
        region=region,
        identifier=identifier,
        engine=resource.engine,
        status=resource.status,
        database=database,
        username=resource.master_username,
        port=int(resource.port),
        address=address,
        password=_rds_password(resource),
        aliases=aliases,
    )


def _rds_password(resource: Any) -> str | None:
    """The password RDS would have: the one given at creation (or by modify), or the
    RDS-managed secret's when the resource manages its master password."""
    if getattr(resource, "manage_master_user_password", False):
        secret = resource.master_user_secret.secret
        value = secret.versions[secret.default_version_id].get("secret_string") or "{}"
        return json.loads(value).get("password")
    return resource.__dict__.get("_master_user_password")
