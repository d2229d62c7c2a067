"""RDS: the app's DB instance, looked up, stopped, started, given a new password."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.errors import error_code

# The code in the error, and the name of botocore's modelled exception for it.
NOT_FOUND_CODES = ("DBInstanceNotFound", "DBInstanceNotFoundFault")
CLUSTER_NOT_FOUND_CODES = ("DBClusterNotFound", "DBClusterNotFoundFault")


def db_instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The DB instance as `describe_db_instances` returns it, or None if it does not exist."""
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND_CODES:
            return None
        raise
    return dict(found[0]) if found else None


def db_cluster(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The Aurora cluster as `describe_db_clusters` returns it, or None if it does not exist."""
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    except ClientError as exc:
        if error_code(exc) in CLUSTER_NOT_FOUND_CODES:
            return None
        raise
    return dict(found[0]) if found else None


def status(rds: Any, identifier: str, cluster: bool = False) -> str | None:
    """The instance's `DBInstanceStatus`, or the Aurora cluster's `Status`; None if it
    does not exist."""
    found = db_cluster(rds, identifier) if cluster else db_instance(rds, identifier)
    if found is None:
        return None
    return str(found.get("Status" if cluster else "DBInstanceStatus", "unknown"))


def stop(rds: Any, identifier: str, cluster: bool = False) -> None:
    """Stop the instance, or the Aurora cluster with all its instances."""
    if cluster:
        rds.stop_db_cluster(DBClusterIdentifier=identifier)
    else:
        rds.stop_db_instance(DBInstanceIdentifier=identifier)


def start(rds: Any, identifier: str, cluster: bool = False) -> None:
    if cluster:
        rds.start_db_cluster(DBClusterIdentifier=identifier)
    else:
        rds.start_db_instance(DBInstanceIdentifier=identifier)


def modify(rds: Any, request: dict[str, Any]) -> None:
    """`modify_db_instance` with kwargs built elsewhere (e.g. a new master password)."""
    rds.modify_db_instance(**request)
