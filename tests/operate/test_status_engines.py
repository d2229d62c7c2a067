"""`hakobu status` on an Aurora cluster, against the emulator over HTTP (moto's server in
this process, real boto3 clients): the cluster's state, its Serverless v2 range in ACUs and
each instance (the writer first) with its own state, on screen and in `--json`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from hakobu.cli.status_screen import screen
from hakobu.operate.status import DatabaseMember, gather_status
from tests.conftest import environment_of, make_rails_app
from tests.support.ecs_stack import create_service, make_stack
from tests.support.moto_server import Aws, moto_server


class Emulated(Aws):
    sandbox = True
    runs_tasks = False


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as server:
        yield Emulated(server.endpoint)


def _aurora(aws: Aws, subnet: str, app: str = "shop") -> None:
    rds = aws.client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{app}-db", DBSubnetGroupDescription="db", SubnetIds=[subnet]
    )
    rds.create_db_cluster(
        DBClusterIdentifier=f"{app}-db",
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername="shop",
        MasterUserPassword="not-a-real-password-1",
        DBSubnetGroupName=f"{app}-db",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 2},
    )
    for number in (1, 2):  # the first is the writer, as in hakobu's ha profile
        rds.create_db_instance(
            DBInstanceIdentifier=f"{app}-db-{number}",
            DBClusterIdentifier=f"{app}-db",
            DBInstanceClass="db.serverless",
            Engine="aurora-postgresql",
            DBSubnetGroupName=f"{app}-db",
        )


def test_status_shows_the_cluster_its_capacity_and_each_instance(aws: Aws, tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "shop")
    env = environment_of({"app": "shop", "database": {"engine": "aurora-postgresql"}}, root=root)
    stack = make_stack(aws, "shop")
    create_service(aws, stack)
    _aurora(aws, stack.subnet_id)

    report = gather_status(aws, env)  # type: ignore[arg-type]

    db = report.database
    assert db is not None
    cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier="shop-db")
    assert (db.kind, db.identifier, db.status, db.engine, db.engine_version, db.endpoint) == (
        "cluster",
        "shop-db",
        "available",
        "aurora-postgresql",
        "17.5",
        cluster["DBClusters"][0]["Endpoint"],
    )
    assert db.capacity == (0.0, 2.0)
    assert db.instances == (
        DatabaseMember("shop-db-1", "writer", "available", "db.serverless"),
        DatabaseMember("shop-db-2", "reader", "available", "db.serverless"),
    )
    assert json.loads(json.dumps(report.as_json()))["database"]["capacity"] == {
        "min_acu": 0.0,
        "max_acu": 2.0,
    }

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(screen(report))
    shown = [line.strip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    start = next(i for i, line in enumerate(shown) if line.startswith("database"))
    assert shown[start : start + 4] == [
        "database  shop-db  available  aurora-postgresql 17.5  (cluster)",
        "Serverless v2 0-2 ACUs: pauses itself when idle",
        "writer shop-db-1  available  db.serverless",
        "reader shop-db-2  available  db.serverless",
    ]


def _capacity_published(aws: Aws, instance: str, acus: float, minutes_ago: int) -> None:
    """What Aurora publishes each minute for a Serverless v2 instance."""
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ServerlessDatabaseCapacity",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
                "Value": acus,
                "Timestamp": datetime.now(UTC) - timedelta(minutes=minutes_ago),
            }
        ],
    )


def _capacity_line(report: object) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(screen(report))  # type: ignore[arg-type]
    shown = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    return next(line.strip() for line in shown if "Serverless v2" in line)


def test_status_says_when_the_cluster_has_paused_itself(aws: Aws, tmp_path: Path) -> None:
    """RDS still calls a paused instance "available": only the writer's newest capacity
    datapoint (0 ACU) tells a user why the first request will wait."""
    root = make_rails_app(tmp_path / "idle")
    env = environment_of({"app": "idle", "database": {"engine": "aurora-postgresql"}}, root=root)
    stack = make_stack(aws, "idle")
    create_service(aws, stack)
    _aurora(aws, stack.subnet_id, app="idle")

    assert gather_status(aws, env).database.current_acu is None  # type: ignore[union-attr]

    _capacity_published(aws, "idle-db-1", 1.5, minutes_ago=3)
    busy = gather_status(aws, env)  # type: ignore[arg-type]
    assert _capacity_line(busy) == (
        "Serverless v2 0-2 ACUs: pauses itself when idle; now 1.5 ACUs"
    )
    _capacity_published(aws, "idle-db-2", 0.0, minutes_ago=1)  # the reader's: not the one
    assert gather_status(aws, env).database.current_acu == 1.5  # type: ignore[union-attr]

    _capacity_published(aws, "idle-db-1", 0.0, minutes_ago=1)
    idle = gather_status(aws, env)  # type: ignore[arg-type]
    assert _capacity_line(idle) == (
        "Serverless v2 0-2 ACUs: pauses itself when idle; "
        "now paused (0 ACU): the next connection resumes it in ~15 s"
    )
    database = json.loads(json.dumps(idle.as_json()))["database"]
    assert (database["current_acu"], database["paused_itself"]) == (0.0, True)
