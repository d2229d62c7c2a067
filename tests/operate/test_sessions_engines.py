"""`hakobu db tunnel` / `db shell` find an Aurora cluster's writer endpoint and port.

Stubber (named here because the sandbox emulator cannot open SSM sessions at all): the
RDS answers are shaped like AWS's own `describe_db_clusters`; the lookup must ask for the
cluster `{prefix}-db`, never for an instance, and forward to the engine's port.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hakobu.core.errors import HakobuError
from hakobu.operate import sessions
from tests.conftest import environment_of

REGION = "ap-northeast-1"
WRITER = "shop-db.cluster-abcdefghij.ap-northeast-1.rds.amazonaws.com"


class OneClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str) -> Any:
        assert service == "rds"
        return self._client


def _rds() -> tuple[Any, Stubber]:
    client = boto3.client(
        "rds", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client, Stubber(client)


def test_aurora_postgresql_is_reached_at_the_writer_endpoint_on_5432() -> None:
    client, stub = _rds()
    stub.add_response(
        "describe_db_clusters",
        {
            "DBClusters": [
                {
                    "DBClusterIdentifier": "shop-db",
                    "Engine": "aurora-postgresql",
                    "Status": "available",
                    "Endpoint": WRITER,
                    "ReaderEndpoint": WRITER.replace(".cluster-", ".cluster-ro-"),
                    "Port": 5432,
                }
            ]
        },
        {"DBClusterIdentifier": "shop-db"},
    )
    env = environment_of({"app": "shop", "database": {"engine": "aurora-postgresql"}})
    with stub:
        found = sessions.database(OneClient(client), env)  # type: ignore[arg-type]
    stub.assert_no_pending_responses()
    assert (found.host, found.port, found.user, found.name) == (
        WRITER,
        5432,
        "app",
        "shop_production",
    )


def test_a_missing_cluster_says_so_and_how_to_create_it() -> None:
    client, stub = _rds()
    stub.add_client_error(
        "describe_db_clusters", "DBClusterNotFoundFault", "DBCluster shop-db not found."
    )
    env = environment_of({"app": "shop", "database": {"engine": "aurora-mysql"}})
    with stub, pytest.raises(HakobuError) as error:
        sessions.database(OneClient(client), env)  # type: ignore[arg-type]
    assert error.value.problem == "the Aurora cluster shop-db does not exist"
    assert error.value.fix == "run hakobu up"


def test_rds_postgresql_is_reached_at_the_instance_on_its_port() -> None:
    client, stub = _rds()
    stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": "shop-db",
                    "Engine": "postgres",
                    "DBInstanceStatus": "available",
                    "Endpoint": {
                        "Address": "shop-db.abc.ap-northeast-1.rds.amazonaws.com",
                        "Port": 5432,
                    },
                }
            ]
        },
        {"DBInstanceIdentifier": "shop-db"},
    )
    env = environment_of({"app": "shop", "database": {"engine": "postgres"}})
    with stub:
        found = sessions.database(OneClient(client), env)  # type: ignore[arg-type]
    assert (found.host, found.port) == ("shop-db.abc.ap-northeast-1.rds.amazonaws.com", 5432)
