"""`hakobu doctor`'s database checks made to fail with botocore's Stubber (the emulator's
DB is always 8.4 and available): MySQL 8.0 on Extended Support, a stopped database, the
security groups between the tasks and the DB."""

from __future__ import annotations

from datetime import date
from typing import Any

from hakobu.core.config import Environment
from hakobu.operate.doctor import exit_code
from tests.support.doctor_aws import (
    DB_SG,
    ECS_SG,
    PRIVATE,
    db_response,
    run_named,
    signed_in,
    stub_service_lookup,
    subnets_response,
)
from tests.support.stubbed_aws import StubbedAws

# --- database (Stubber: the emulator's DB is always 8.4 and available) ------------------


def _db_only(aws: StubbedAws, response: dict[str, Any]) -> None:
    aws.stub("rds").add_response(
        "describe_db_instances", response, {"DBInstanceIdentifier": "rails-app-db"}
    )


def test_mysql_8_0_is_a_warning_with_the_extended_support_cost(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    _db_only(aws, db_response(version="8.0.40"))

    results = run_named(env, aws, "engine version", today=date(2026, 11, 29))

    version = results["engine version"]
    assert version.status == "warning"
    # db.t3.micro: 2 vCPUs x 730 h x $0.12 per vCPU-hour (Tokyo, the shipped price table).
    assert version.message == (
        "MySQL 8.0.40 left RDS standard support on 2026-07-31 and bills Extended Support "
        "from 2026-08-01: about $175 a month on top of the instance (2 vCPUs x 730 h x "
        "$0.12 per vCPU-hour, the year 1-2 rate; it doubles from 2028-08-01)"
    )
    assert version.fix is not None and 'database.engine_version = "8.4"' in version.fix
    assert exit_code(results.values()) == 0  # a warning alone


def test_extended_support_doubles_for_a_multi_az_standby_and_is_future_before_august(
    env: Environment,
) -> None:
    aws = StubbedAws()
    signed_in(aws)
    _db_only(aws, db_response(version="8.0.40", MultiAZ=True))

    version = run_named(env, aws, "engine version", today=date(2026, 5, 1))["engine version"]

    assert "and will bill Extended Support from 2026-08-01: about $350 a month" in (version.message)
    assert "(2 vCPUs x 2 (Multi-AZ) x 730 h" in version.message


def test_mysql_8_4_is_ok(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    _db_only(aws, db_response(version="8.4.5"))

    version = run_named(env, aws, "engine version")["engine version"]

    assert (version.status, version.message) == ("ok", "MySQL 8.4.5 (LTS, in standard support)")


def test_a_stopped_database_is_a_problem_with_the_start_command(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    _db_only(aws, db_response(status="stopped"))

    results = run_named(env, aws, "db instance")

    db = results["db instance"]
    assert db.status == "problem"
    assert db.message == (
        "rails-app-db stopped (MySQL 8.4.5, db.t3.micro): the app cannot connect to a "
        "stopped database"
    )
    assert db.fix is not None and db.fix.startswith(
        "start it: `aws rds start-db-instance --db-instance-identifier rails-app-db "
        "--region ap-northeast-1`"
    )
    assert exit_code(results.values()) == 1


def test_a_db_security_group_admitting_the_task_subnets_by_cidr_is_ok(env: Environment) -> None:
    """Not what hakobu creates (a security-group reference), but an equivalent path."""
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    _db_only(aws, db_response())
    ec2 = aws.stub("ec2")
    ec2.add_response(
        "describe_security_groups",
        {
            "SecurityGroups": [
                {
                    "GroupId": ECS_SG,
                    "GroupName": "rails-app-ecs-sg",
                    "IpPermissionsEgress": [
                        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                    ],
                },
                {
                    "GroupId": DB_SG,
                    "GroupName": "rails-app-db-sg",
                    "IpPermissions": [
                        {
                            "IpProtocol": "tcp",
                            "FromPort": 3306,
                            "ToPort": 3306,
                            "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
                        }
                    ],
                },
            ]
        },
        {"GroupIds": [ECS_SG, DB_SG]},
    )
    ec2.add_response("describe_subnets", subnets_response(PRIVATE), {"SubnetIds": list(PRIVATE)})

    groups = run_named(env, aws, "security groups")["security groups"]

    assert groups.status == "ok"
    assert groups.message == (
        f"rails-app-db-sg ({DB_SG}) admits MySQL (3306) from the tasks' rails-app-ecs-sg "
        f"({ECS_SG}), which may send to it"
    )


def test_tasks_without_outbound_rules_cannot_reach_the_database(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    _db_only(aws, db_response())
    pair = {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306}
    aws.stub("ec2").add_response(
        "describe_security_groups",
        {
            "SecurityGroups": [
                {"GroupId": ECS_SG, "GroupName": "rails-app-ecs-sg", "IpPermissionsEgress": []},
                {
                    "GroupId": DB_SG,
                    "GroupName": "rails-app-db-sg",
                    "IpPermissions": [{**pair, "UserIdGroupPairs": [{"GroupId": ECS_SG}]}],
                },
            ]
        },
        None,
    )
    aws.stub("ec2").add_response("describe_subnets", subnets_response(PRIVATE), None)

    groups = run_named(env, aws, "security groups")["security groups"]

    assert groups.status == "problem"
    assert groups.message.startswith(
        f"the tasks' security group rails-app-ecs-sg ({ECS_SG}) allows no outbound traffic"
    )
