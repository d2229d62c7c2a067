"""`hakobu doctor` on an Aurora cluster, against the emulator over HTTP (moto's server in
this process, real boto3 clients): the cluster and each instance named with their state
and Serverless v2 capacity, min 0 ACUs said to pause itself rather than flagged, a stopped
cluster a problem whose fix is `hakobu resume`, and the security groups judged on 5432
for PostgreSQL (a 3306 rule does not let the app in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.operate.doctor.checks import default_checks
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import CheckResult
from hakobu.operate.doctor.runner import run_checks
from tests.conftest import environment_of, make_rails_app
from tests.support.ecs_stack import create_service, make_stack
from tests.support.moto_server import Aws, moto_server

CLUSTER = "shop-db"


class Emulated(Aws):
    sandbox = True  # what the account checks ask of a target


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as server:
        yield Emulated(server.endpoint)


def _env(tmp_path: Path, database: dict[str, Any], app: str = "shop") -> Environment:
    """Each test its own app: moto names a cluster's automated snapshot by the minute."""
    root = make_rails_app(tmp_path / app)
    return environment_of({"app": app, "database": database}, root=root)


def _run(env: Environment, aws: Aws, *names: str) -> dict[str, CheckResult]:
    wanted = ("credentials", *names)
    checks = [c for c in default_checks(env) if c.name in wanted]
    results = run_checks(env, aws, checks=checks, facts=Facts(env, aws))  # type: ignore[arg-type]
    return {r.name: r for r in results}


def _cluster(aws: Aws, engine: str, version: str, min_capacity: float) -> None:
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine=engine,
        EngineVersion=version,
        MasterUsername="shop",
        MasterUserPassword="not-a-real-password-1",
        ServerlessV2ScalingConfiguration={"MinCapacity": min_capacity, "MaxCapacity": 2},
    )
    rds.create_db_instance(
        DBInstanceIdentifier=f"{CLUSTER}-1",
        DBClusterIdentifier=CLUSTER,
        DBInstanceClass="db.serverless",
        Engine=engine,
    )


def _drop(aws: Aws, cluster: str = CLUSTER) -> None:
    rds = aws.client("rds")
    rds.delete_db_instance(DBInstanceIdentifier=f"{cluster}-1", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier=cluster, SkipFinalSnapshot=True)


def test_an_idle_serverless_cluster_that_may_pause_is_not_a_fault(aws: Aws, tmp_path: Path) -> None:
    env = _env(tmp_path, {"engine": "aurora-mysql", "min_capacity": 0, "max_capacity": 2})
    _cluster(aws, "aurora-mysql", "8.0.mysql_aurora.3.10.0", 0)
    try:
        found = _run(env, aws, "db instance")["db instance"]
        assert found.status == "ok", found
        assert found.message == (
            "shop-db available (Aurora MySQL 8.0.mysql_aurora.3.10.0; shop-db-1 available; "
            "Serverless v2 0-2 ACUs); with min 0 ACUs it pauses itself when idle (not a "
            "fault): the first connection after a pause waits about 15 s (30 s or more "
            "after a pause of over a day)"
        )

        aws.client("rds").stop_db_cluster(DBClusterIdentifier=CLUSTER)
        stopped = _run(env, aws, "db instance")["db instance"]
        assert stopped.status == "problem"
        assert stopped.message.startswith("shop-db stopped (Aurora MySQL")
        assert stopped.message.endswith("the app cannot connect to a stopped cluster")
        assert stopped.fix is not None and stopped.fix.startswith("`hakobu resume production`")
    finally:
        _drop(aws)


def test_a_missing_cluster_is_a_problem_whose_fix_is_up(aws: Aws, tmp_path: Path) -> None:
    env = _env(tmp_path, {"engine": "aurora-postgresql"}, app="none")
    found = _run(env, aws, "db instance")["db instance"]
    assert (found.status, found.message, found.fix) == (
        "problem",
        "the Aurora cluster none-db does not exist",
        "run `hakobu up`",
    )


def test_postgresql_is_judged_on_5432_not_on_mysqls_port(aws: Aws, tmp_path: Path) -> None:
    """The tasks' group may reach the DB's on 3306 only: for Aurora PostgreSQL that is no
    path (the app cannot connect); once 5432 is admitted it is, named as PostgreSQL."""
    env = _env(tmp_path, {"engine": "aurora-postgresql"}, app="pg")
    stack = make_stack(aws, "pg")
    create_service(aws, stack)
    ec2, rds = aws.client("ec2"), aws.client("rds")
    vpc = ec2.describe_subnets(SubnetIds=[stack.subnet_id])["Subnets"][0]["VpcId"]
    db_sg = ec2.create_security_group(GroupName="pg-db-sg", Description="db", VpcId=vpc)
    rule = {"IpProtocol": "tcp", "UserIdGroupPairs": [{"GroupId": stack.security_group}]}
    ec2.authorize_security_group_ingress(
        GroupId=db_sg["GroupId"], IpPermissions=[{**rule, "FromPort": 3306, "ToPort": 3306}]
    )
    rds.create_db_subnet_group(
        DBSubnetGroupName="pg-db", DBSubnetGroupDescription="db", SubnetIds=[stack.subnet_id]
    )
    rds.create_db_cluster(
        DBClusterIdentifier="pg-db",
        Engine="aurora-postgresql",
        EngineVersion="17.5",
        MasterUsername="shop",
        MasterUserPassword="not-a-real-password-1",
        DBSubnetGroupName="pg-db",
        VpcSecurityGroupIds=[db_sg["GroupId"]],
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2},
    )
    rds.create_db_instance(
        DBInstanceIdentifier="pg-db-1",
        DBClusterIdentifier="pg-db",
        DBInstanceClass="db.serverless",
        Engine="aurora-postgresql",
        DBSubnetGroupName="pg-db",  # as hakobu's aws_rds_cluster_instance gives it
    )
    try:
        found = _run(env, aws, "db instance", "security groups")
        assert found["db instance"].status == "ok"
        assert found["db instance"].message == (
            "pg-db available (Aurora PostgreSQL 17.5; pg-db-1 available; Serverless v2 0.5-2 ACUs)"
        )
        path = found["security groups"]
        assert path.status == "problem"
        assert path.message.startswith(
            "the DB's security group pg-db-sg ("
        ) and path.message.endswith(
            "has no inbound rule for Aurora PostgreSQL (5432) from the tasks' security group "
            f"pg-sg ({stack.security_group}): the app cannot connect"
        )

        ec2.authorize_security_group_ingress(
            GroupId=db_sg["GroupId"], IpPermissions=[{**rule, "FromPort": 5432, "ToPort": 5432}]
        )
        fixed = _run(env, aws, "security groups")["security groups"]
        assert fixed.status == "ok", fixed
        assert fixed.message.startswith("pg-db-sg (") and "admits Aurora PostgreSQL (5432)" in (
            fixed.message
        )
    finally:
        _drop(aws, "pg-db")
