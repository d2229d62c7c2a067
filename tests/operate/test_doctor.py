"""`hakobu doctor` checks that the emulator cannot fail, made to fail with botocore's Stubber:
a task that stopped with a reason and an exit code, unhealthy targets, private subnets
without a NAT route, MySQL 8.0 on Extended Support, a stopped database, rejected
credentials, a missing service. Also the local-machine checks (a PATH without the tools, a
Terraform that is too old), no credentials at all (every AWS check skipped, exit code 1),
and the rendering. Responses are shaped like AWS's own (the Stubber validates them against
the service models); each Stubber's queue is strict, so a consumed queue proves the calls.

The failures the emulator can show (a secret scheduled for deletion, the DB security group
without its 3306 rule, an image missing from ECR, a different master key) are made on the
shared sandbox stack in tests/integration/test_doctor_sandbox.py."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hakobu.cli import doctor_commands
from hakobu.core.config import Environment
from hakobu.operate.doctor import (
    Check,
    CheckResult,
    Facts,
    default_checks,
    exit_code,
    report_json,
    run_checks,
)
from hakobu.ship.rollout import TARGET_REASONS
from tests.conftest import MASTER_KEY, Run, environment_of, make_rails_app
from tests.support.stubbed_aws import StubbedAws

REGION, ACCOUNT = "ap-northeast-1", "123456789012"
CLUSTER, SERVICE = "rails-app-cluster", "rails-app-service"
TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:7"
TG = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/rails-app-tg/0123456789abcdef"
TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0f3d2c1b9a8e4d7c"
VPC = "vpc-0123456789abcdef0"
PRIVATE = {"subnet-0a": "10.0.10.0/24", "subnet-0c": "10.0.11.0/24"}
PUBLIC = {"subnet-1a": "10.0.1.0/24", "subnet-1c": "10.0.2.0/24"}
NAT, IGW = "nat-0123456789abcdef0", "igw-0123456789abcdef0"
ECS_SG, DB_SG = "sg-0ecs", "sg-0db"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
IDENTITY = {
    "UserId": "HAKOBU-TEST-USER-ID",
    "Account": ACCOUNT,
    "Arn": f"arn:aws:iam::{ACCOUNT}:user/myname",
}


# --- AWS-shaped responses ---------------------------------------------------------------


def _service(subnets: list[str], public_ip: bool = False, running: int = 1) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
                "serviceName": SERVICE,
                "status": "ACTIVE",
                "desiredCount": 1,
                "runningCount": running,
                "pendingCount": 1 - running,
                "taskDefinition": TD,
                "loadBalancers": [
                    {"targetGroupArn": TG, "containerName": "rails-app", "containerPort": 3000}
                ],
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": subnets,
                        "securityGroups": [ECS_SG],
                        "assignPublicIp": "ENABLED" if public_ip else "DISABLED",
                    }
                },
            }
        ],
        "failures": [],
    }


def _db(version: str = "8.4.5", status: str = "available", **extra: Any) -> dict[str, Any]:
    return {
        "DBInstances": [
            {
                "DBInstanceIdentifier": "rails-app-db",
                "DBInstanceClass": "db.t3.micro",
                "Engine": "mysql",
                "EngineVersion": version,
                "DBInstanceStatus": status,
                "MultiAZ": False,
                "VpcSecurityGroups": [{"VpcSecurityGroupId": DB_SG, "Status": "active"}],
                "DBSubnetGroup": {
                    "DBSubnetGroupName": "rails-app-db-subnet-group",
                    "Subnets": [{"SubnetIdentifier": s} for s in PRIVATE],
                },
                **extra,
            }
        ]
    }


def _subnets(cidrs: dict[str, str]) -> dict[str, Any]:
    return {"Subnets": [{"SubnetId": s, "VpcId": VPC, "CidrBlock": c} for s, c in cidrs.items()]}


def _table(name: str, subnets: list[str], default: dict[str, Any] | None) -> dict[str, Any]:
    routes = [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}]
    if default is not None:
        routes.append({"DestinationCidrBlock": "0.0.0.0/0", "State": "active", **default})
    return {
        "RouteTableId": f"rtb-{name}",
        "VpcId": VPC,
        "Associations": [
            {"Main": False, "RouteTableId": f"rtb-{name}", "SubnetId": s} for s in subnets
        ],
        "Routes": routes,
    }


def _main_table() -> dict[str, Any]:
    return {
        "RouteTableId": "rtb-main",
        "VpcId": VPC,
        "Associations": [{"Main": True, "RouteTableId": "rtb-main"}],
        "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}],
    }


def _tables(private_default: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "RouteTables": [
            _main_table(),
            _table("public", list(PUBLIC), {"GatewayId": IGW}),
            _table("private", list(PRIVATE), private_default),
        ]
    }


def _nat(state: str) -> dict[str, Any]:
    return {
        "NatGateways": [
            {"NatGatewayId": NAT, "State": state, "SubnetId": "subnet-1a", "VpcId": VPC}
        ]
    }


# --- helpers ----------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    root = make_rails_app(tmp_path / "rails-app")
    return environment_of({"app": "rails-app", "framework": "rails"}, root=root)


def _checks(env: Environment, *names: str) -> list[Check]:
    """The credentials check (every AWS check's prerequisite), then the named ones."""
    wanted = ("credentials", *names)
    return [c for c in default_checks(env) if c.name in wanted]


def _signed_in(aws: StubbedAws) -> None:
    aws.stub("sts").add_response("get_caller_identity", IDENTITY, {})


def _run(env: Environment, aws: StubbedAws, *names: str, **facts: Any) -> dict[str, CheckResult]:
    results = run_checks(env, aws, checks=_checks(env, *names), facts=Facts(env, aws, **facts))
    aws.verify()  # every stubbed call was made: nothing more, nothing less
    return {r.name: r for r in results}


def _service_lookup(aws: StubbedAws, subnets: list[str], public_ip: bool = False) -> None:
    aws.stub("ecs").add_response(
        "describe_services",
        _service(subnets, public_ip),
        {"cluster": CLUSTER, "services": [SERVICE]},
    )


# --- tasks that fail to start (Stubber: the emulator never runs a task) -------------------


def test_a_task_that_exited_is_a_problem_with_its_reason_exit_code_and_last_log_lines(
    env: Environment,
) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    ecs, logs = aws.stub("ecs"), aws.stub("logs")
    ecs.add_response(
        "list_tasks",
        {"taskArns": [TASK]},
        {
            "cluster": CLUSTER,
            "serviceName": SERVICE,
            "desiredStatus": "STOPPED",
            "maxResults": 100,
        },
    )
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "taskDefinitionArn": TD,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "stoppedAt": NOW,
                    "containers": [{"name": "rails-app", "exitCode": 1, "lastStatus": "STOPPED"}],
                }
            ],
            "failures": [],
        },
        {"cluster": CLUSTER, "tasks": [TASK]},
    )
    logs.add_response(
        "get_log_events",
        {
            "events": [
                {"timestamp": 1795000000000, "message": "=> Booting Puma"},
                {
                    "timestamp": 1795000001000,
                    "message": "ActiveSupport::MessageEncryptor::InvalidMessage",
                },
            ],
            "nextForwardToken": "f/1",
        },
        {
            "logGroupName": "/ecs/rails-app",
            "logStreamName": "ecs/rails-app/0f3d2c1b9a8e4d7c",
            "startFromHead": False,
            "limit": 10,
        },
    )

    results = _run(env, aws, "stopped tasks")

    stopped = results["stopped tasks"]
    assert stopped.status == "problem"
    assert stopped.message == (
        "1 recently stopped task(s) failed; the newest: task 0f3d2c1b9a8e4d7c (rails-app:7) "
        "stopped [EssentialContainerExited]: Essential container in task exited; "
        "rails-app: exit code 1"
    )
    assert stopped.details[1:] == (
        "last log lines of task 0f3d2c1b9a8e4d7c:",
        "  => Booting Puma",
        "  ActiveSupport::MessageEncryptor::InvalidMessage",
    )
    assert stopped.fix == (
        "the app exited with code 1: the log lines say why; `hakobu logs` shows more"
    )
    assert exit_code(results.values()) == 1


def test_a_task_that_could_not_pull_its_image_points_at_the_registry_and_the_routes(
    env: Environment,
) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    ecs = aws.stub("ecs")
    ecs.add_response("list_tasks", {"taskArns": [TASK]}, None)
    reason = (
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed "
        "to resolve ref 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app@sha256:"
    )
    ecs.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": TASK,
                    "taskDefinitionArn": TD,
                    "stopCode": "TaskFailedToStart",
                    "stoppedReason": reason,
                    "stoppedAt": NOW,
                    "containers": [{"name": "rails-app", "lastStatus": "STOPPED"}],
                }
            ],
        },
        None,
    )
    aws.stub("logs").add_response("get_log_events", {"events": []}, None)

    stopped = _run(env, aws, "stopped tasks")["stopped tasks"]

    assert stopped.status == "problem"
    assert "[TaskFailedToStart]: CannotPullContainerError" in stopped.message
    assert stopped.fix is not None and stopped.fix.startswith(
        "the image could not be pulled: see registry › service image, and network › routes"
    )
    assert stopped.details[-1] == (
        "task 0f3d2c1b9a8e4d7c wrote no log lines (it stopped before the app started)"
    )


def test_tasks_a_deployment_replaced_are_not_failures(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    ecs = aws.stub("ecs")
    ecs.add_response("list_tasks", {"taskArns": [TASK]}, None)
    replaced = {
        "taskArn": TASK,
        "taskDefinitionArn": TD,
        "stopCode": "ServiceSchedulerInitiated",
        "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1234567890)",
        "containers": [{"name": "rails-app", "exitCode": 0}],
    }
    ecs.add_response("describe_tasks", {"tasks": [replaced]}, None)

    stopped = _run(env, aws, "stopped tasks")["stopped tasks"]

    assert (stopped.status, stopped.message) == (
        "ok",
        "1 task(s) stopped recently, by deployments or scaling; none failed",
    )


# --- unhealthy targets (Stubber: no task ever registers in the emulator) -----------------


def _target(ip: str, state: str, reason: str | None = None) -> dict[str, Any]:
    health: dict[str, Any] = {"State": state}
    if reason:
        health |= {"Reason": reason, "Description": "Health checks failed with these codes: [301]"}
    return {"Target": {"Id": ip, "Port": 3000}, "TargetHealth": health}


def test_unhealthy_targets_are_a_problem_with_their_reason_in_words(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    aws.stub("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                _target("10.0.10.5", "healthy"),
                _target("10.0.11.6", "unhealthy", "Target.ResponseCodeMismatch"),
            ]
        },
        {"TargetGroupArn": TG},
    )

    results = _run(env, aws, "target health")

    targets = results["target health"]
    assert targets.status == "problem"
    assert targets.message == (
        "1 of 2 target(s) unhealthy; 10.0.11.6:3000: Target.ResponseCodeMismatch (Health "
        "checks failed with these codes: [301])"
    )
    assert targets.fix == TARGET_REASONS["Target.ResponseCodeMismatch"]
    assert targets.details == (
        "target 10.0.10.5:3000 healthy",
        "target 10.0.11.6:3000 unhealthy (Target.ResponseCodeMismatch): Health checks failed "
        f"with these codes: [301] - {TARGET_REASONS['Target.ResponseCodeMismatch']}",
    )
    assert exit_code(results.values()) == 1


def test_healthy_targets_are_ok(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    aws.stub("elbv2").add_response(
        "describe_target_health",
        {"TargetHealthDescriptions": [_target("10.0.10.5", "healthy")]},
        {"TargetGroupArn": TG},
    )

    targets = _run(env, aws, "target health")["target health"]

    assert (targets.status, targets.message) == ("ok", "1 of 1 target(s) healthy")


# --- routes (Stubber: the emulator's NAT Gateway never fails) ----------------------------


def _network_calls(aws: StubbedAws, cidrs: dict[str, str], tables: dict[str, Any]) -> None:
    aws.stub("rds").add_response(
        "describe_db_instances", _db(), {"DBInstanceIdentifier": "rails-app-db"}
    )
    # One describe_subnets for the tasks' and the database's subnets together.
    aws.stub("ec2").add_response(
        "describe_subnets",
        _subnets(cidrs | PRIVATE),
        {"SubnetIds": list(dict.fromkeys([*cidrs, *PRIVATE]))},
    )
    aws.stub("ec2").add_response(
        "describe_route_tables", tables, {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]}
    )


def test_private_subnets_without_a_nat_route_are_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, _tables(private_default=None))

    results = _run(env, aws, "routes")

    routes = results["routes"]
    assert routes.status == "problem"
    assert routes.message == (
        "subnet 10.0.10.0/24 (subnet-0a) has no 0.0.0.0/0 route: its tasks cannot pull the "
        "image, read their secrets or send logs"
    )
    assert routes.fix is not None and routes.fix.startswith(
        "run `hakobu up`: it restores the NAT Gateway and the private route tables"
    )
    assert routes.details == (
        "subnet 10.0.10.0/24 (subnet-0a) has no 0.0.0.0/0 route",
        "subnet 10.0.11.0/24 (subnet-0c) has no 0.0.0.0/0 route",
    )
    assert exit_code(results.values()) == 1


def test_a_route_to_a_deleted_nat_gateway_is_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, _tables(private_default={"NatGatewayId": NAT}))
    aws.stub("ec2").add_response("describe_nat_gateways", _nat("deleted"), {"NatGatewayIds": [NAT]})

    routes = _run(env, aws, "routes")["routes"]

    assert routes.status == "problem"
    assert routes.message.startswith(
        f"subnet 10.0.10.0/24 (subnet-0a) routes 0.0.0.0/0 to NAT Gateway {NAT} (deleted)"
    )


def test_private_subnets_routed_to_an_available_nat_gateway_are_ok(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, _tables(private_default={"NatGatewayId": NAT}))
    aws.stub("ec2").add_response("describe_nat_gateways", _nat("available"), None)

    routes = _run(env, aws, "routes")["routes"]

    assert routes.status == "ok"
    assert routes.message == (
        "private tasks (no public IP) leave through a NAT Gateway: every subnet routes "
        "0.0.0.0/0 there"
    )


def test_lean_profile_tasks_with_public_ips_route_to_the_internet_gateway(
    tmp_path: Path,
) -> None:
    root = make_rails_app(tmp_path / "lean")
    lean = environment_of({"app": "rails-app", "framework": "rails", "profile": "lean"}, root=root)
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PUBLIC), public_ip=True)
    _network_calls(aws, PUBLIC, _tables(private_default=None))  # lean: no NAT at all

    routes = _run(lean, aws, "routes")["routes"]

    assert routes.status == "ok"
    assert routes.message == (
        "tasks get public IPs and leave through the Internet Gateway: every subnet routes "
        "0.0.0.0/0 there"
    )
    assert routes.details[0] == (
        f"subnet 10.0.1.0/24 (subnet-1a) routes 0.0.0.0/0 to the Internet Gateway {IGW}"
    )


def test_private_tasks_routed_to_the_internet_gateway_cannot_use_it(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, _tables(private_default={"GatewayId": IGW}))

    routes = _run(env, aws, "routes")["routes"]

    assert routes.status == "problem"
    assert "but the tasks get no public IP, so they cannot use it" in routes.message


# --- database (Stubber: the emulator's DB is always 8.4 and available) ------------------


def _db_only(aws: StubbedAws, response: dict[str, Any]) -> None:
    aws.stub("rds").add_response(
        "describe_db_instances", response, {"DBInstanceIdentifier": "rails-app-db"}
    )


def test_mysql_8_0_is_a_warning_with_the_extended_support_cost(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _db_only(aws, _db(version="8.0.40"))

    results = _run(env, aws, "engine version", today=date(2026, 11, 29))

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
    _signed_in(aws)
    _db_only(aws, _db(version="8.0.40", MultiAZ=True))

    version = _run(env, aws, "engine version", today=date(2026, 5, 1))["engine version"]

    assert "and will bill Extended Support from 2026-08-01: about $350 a month" in (version.message)
    assert "(2 vCPUs x 2 (Multi-AZ) x 730 h" in version.message


def test_mysql_8_4_is_ok(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _db_only(aws, _db(version="8.4.5"))

    version = _run(env, aws, "engine version")["engine version"]

    assert (version.status, version.message) == ("ok", "MySQL 8.4.5 (LTS, in standard support)")


def test_a_stopped_database_is_a_problem_with_the_start_command(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _db_only(aws, _db(status="stopped"))

    results = _run(env, aws, "db instance")

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
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    _db_only(aws, _db())
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
    ec2.add_response("describe_subnets", _subnets(PRIVATE), {"SubnetIds": list(PRIVATE)})

    groups = _run(env, aws, "security groups")["security groups"]

    assert groups.status == "ok"
    assert groups.message == (
        f"rails-app-db-sg ({DB_SG}) admits MySQL (3306) from the tasks' rails-app-ecs-sg "
        f"({ECS_SG}), which may send to it"
    )


def test_tasks_without_outbound_rules_cannot_reach_the_database(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    _db_only(aws, _db())
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
    aws.stub("ec2").add_response("describe_subnets", _subnets(PRIVATE), None)

    groups = _run(env, aws, "security groups")["security groups"]

    assert groups.status == "problem"
    assert groups.message.startswith(
        f"the tasks' security group rails-app-ecs-sg ({ECS_SG}) allows no outbound traffic"
    )


# --- secrets: the master key is compared without being shown ----------------------------


def test_a_different_master_key_is_a_problem_and_nothing_of_either_key_is_shown(
    env: Environment,
) -> None:
    deployed = "0" * 32
    aws = StubbedAws()
    _signed_in(aws)
    sm = aws.stub("secretsmanager")
    for name in ("rails-app-db-password", "rails-app-rails-master-key"):
        sm.add_response("describe_secret", {"ARN": f"arn:{name}", "Name": name}, {"SecretId": name})
    sm.add_response(
        "get_secret_value",
        {"Name": "rails-app-rails-master-key", "SecretString": deployed},
        {"SecretId": "rails-app-rails-master-key", "VersionStage": "AWSCURRENT"},
    )

    results = run_checks(env, aws, checks=_checks(env, *_secret_checks(env)))

    key = {r.name: r for r in results}["master key"]
    assert key.status == "problem"
    assert key.message == (
        "rails-app-rails-master-key holds a different key than config/master.key: the app "
        "cannot decrypt config/credentials.yml.enc with it (compared by digest, neither shown)"
    )
    shown = json.dumps([r.as_json() for r in results])
    for value in (deployed, MASTER_KEY):
        digest = hashlib.sha256(value.encode()).hexdigest()
        assert value not in shown and digest[:8] not in shown
    assert exit_code(results) == 1


def _secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"


def _secret_checks(env: Environment) -> list[str]:
    return [c.name for c in default_checks(env) if c.group == "secrets"]


def test_the_master_key_from_the_environment_is_compared_when_there_is_no_file(
    env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    (env.root / "config" / "master.key").unlink()
    monkeypatch.setenv("RAILS_MASTER_KEY", MASTER_KEY)
    aws = StubbedAws()
    _signed_in(aws)
    sm = aws.stub("secretsmanager")
    for name in ("rails-app-db-password", "rails-app-rails-master-key"):
        sm.add_response("describe_secret", {"ARN": _secret_arn(name), "Name": name}, None)
    sm.add_response("get_secret_value", {"SecretString": MASTER_KEY + "\n"}, None)

    key = _run(env, aws, *_secret_checks(env))["master key"]

    assert (key.status, key.message) == (
        "ok",
        "rails-app-rails-master-key holds the same key as $RAILS_MASTER_KEY (compared by "
        "digest, not shown)",
    )


# --- credentials and what depends on them -------------------------------------------------


def test_rejected_credentials_are_a_problem_and_every_aws_check_is_skipped(
    env: Environment,
) -> None:
    aws = StubbedAws()
    aws.stub("sts").add_client_error(
        "get_caller_identity",
        service_error_code="InvalidClientTokenId",
        service_message="The security token included in the request is invalid.",
        http_status_code=403,
    )

    results = _run(env, aws, *(c.name for c in default_checks(env) if c.group != "local machine"))

    assert results["credentials"].status == "problem"
    assert results["credentials"].message == (
        "AWS rejected the credentials: InvalidClientTokenId: The security token included in "
        "the request is invalid."
    )
    aws_checks = [r for r in results.values() if r.group not in ("local machine", "AWS account")]
    assert aws_checks and all(r.status == "skipped" for r in aws_checks)
    assert aws_checks[0].message == (
        "needs AWS account › credentials: AWS rejected the credentials: InvalidClientTokenId: "
        "The security token included in the request is invalid."
    )
    assert exit_code(results.values()) == 1


def test_the_identity_is_shown_as_the_guide_shows_it(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)

    credentials = _run(env, aws)["credentials"]

    assert credentials.message == f"account {ACCOUNT} as arn:aws:iam::{ACCOUNT}:user/myname"
    # The guide's step 1 output, byte for byte.
    assert "\n".join(credentials.details) == (
        "{\n"
        '    "UserId": "HAKOBU-TEST-USER-ID",\n'
        '    "Account": "123456789012",\n'
        '    "Arn": "arn:aws:iam::123456789012:user/myname"\n'
        "}"
    )


def _no_credentials(tmp_path: Path) -> dict[str, str]:
    """An environment where botocore finds no credentials and calls nothing: no profile
    files, no key variables, no instance metadata; any request would go to a closed
    loopback port."""
    blank = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **blank,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }


def test_without_credentials_doctor_exits_1_and_skips_everything_in_aws(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    result = _doctor(root, "--json", env=_no_credentials(tmp_path))

    assert result.code == 1, result.output
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["credentials"]["status"] == "problem"
    assert checks["credentials"]["message"] == "no AWS credentials were found"
    assert checks["credentials"]["fix"].startswith("run `aws configure`")
    skipped = [c for c in report["checks"] if c["group"] not in ("local machine", "AWS account")]
    assert len(skipped) == 12
    assert {c["status"] for c in skipped} == {"skipped"}
    assert {c["message"] for c in skipped} == {
        "needs AWS account › credentials: no AWS credentials were found"
    }
    assert report["healthy"] is False and report["counts"]["skipped"] == 12


def test_text_output_is_a_tree_of_groups_with_the_fix(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    result = _doctor(root, env=_no_credentials(tmp_path))

    assert result.code == 1, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0] == "hakobu doctor: rails-app (production, ap-northeast-1)"
    assert "AWS account" in lines
    assert "├── [PROBLEM] credentials: no AWS credentials were found" in lines
    assert any(line.startswith("│   └── fix: run `aws configure`") for line in lines)
    assert "├── [SKIPPED] rails-app-db-password: needs AWS account › credentials: no AWS" in (
        result.stdout
    )
    assert "Traceback" not in result.stderr


def _doctor(root: Path, *args: str, env: dict[str, str]) -> Run:
    """`hakobu doctor` as a separate process (through the module, so this works before
    the command is registered in hakobu.cli)."""
    code = "import hakobu.cli.doctor_commands; from hakobu.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "doctor", *args],
        cwd=root,
        env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


# --- the service missing: what needs it is skipped ---------------------------------------


def test_a_missing_cluster_is_a_problem_and_the_checks_that_need_the_service_skip(
    env: Environment,
) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    aws.stub("ecs").add_client_error(
        "describe_services",
        service_error_code="ClusterNotFoundException",
        service_message="Cluster not found.",
        http_status_code=400,
    )

    results = _run(env, aws, "service", "stopped tasks", "target health", "routes", "service image")

    service = results["service"]
    assert (service.status, service.message, service.fix) == (
        "problem",
        "the ECS cluster rails-app-cluster does not exist",
        "run hakobu up",
    )
    for name in ("stopped tasks", "target health", "routes", "service image"):
        assert results[name].status == "skipped", name
        assert results[name].message == (
            "no service to look at: the ECS cluster rails-app-cluster does not exist"
        )


def test_a_refused_call_is_that_checks_problem_and_the_others_go_on(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    aws.stub("rds").add_client_error(
        "describe_db_instances",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: rds:DescribeDBInstances",
        http_status_code=403,
    )

    results = _run(env, aws, "db instance", "engine version")

    for name in ("db instance", "engine version"):  # one call, its refusal shared
        assert results[name].status == "problem"
        assert results[name].message.startswith(
            "your AWS credentials may not do rds:DescribeDBInstances (AccessDenied)"
        )


# --- local machine --------------------------------------------------------------------------


def _tool(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _local(env: Environment) -> dict[str, CheckResult]:
    checks = [c for c in default_checks(env) if c.group == "local machine"]
    return {r.name: r for r in run_checks(env, StubbedAws(), checks=checks)}


def test_a_machine_without_the_tools(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("HAKOBU_TERRAFORM", raising=False)

    results = _local(env)

    assert results["terraform"].status == "problem"
    assert results["terraform"].message.startswith("neither terraform nor tofu was found on PATH")
    assert results["image builder"].status == "problem"
    assert results["image builder"].message == (
        "no image builder found: hakobu builds with docker, podman or buildah: `hakobu "
        "deploy` cannot build (it can still deploy --image)"
    )
    assert (results["session-manager-plugin"].status, results["mysql client"].status) == (
        "warning",
        "warning",
    )
    assert results["mysql client"].message == "not installed: `hakobu db shell` needs it"
    assert exit_code(results.values()) == 1


def test_a_terraform_too_old_for_write_only_arguments(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old-bin"
    old.mkdir()
    _tool(old, "terraform", 'echo "Terraform v1.5.7"; echo "on linux_amd64"')
    monkeypatch.setenv("PATH", str(old))
    monkeypatch.delenv("HAKOBU_TERRAFORM", raising=False)

    engine = _local(env)["terraform"]

    assert engine.status == "problem"
    assert engine.message.startswith(
        f"terraform 1.5.7 at {old}/terraform is too old: hakobu needs 1.11"
    )


def test_a_machine_with_every_tool(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    _tool(tools, "tofu", 'echo "OpenTofu v1.11.2"')
    for name in ("buildah", "session-manager-plugin", "mysql"):
        _tool(tools, name, "exit 0")
    monkeypatch.setenv("PATH", str(tools))
    monkeypatch.delenv("HAKOBU_TERRAFORM", raising=False)

    results = _local(env)

    assert results["terraform"].message == f"tofu 1.11.2 at {tools}/tofu"
    assert results["image builder"].message == f"buildah at {tools}/buildah"
    assert {r.status for r in results.values()} == {"ok"}


# --- results, envelope and rendering -------------------------------------------------------


RESULTS = [
    CheckResult("terraform", "local machine", "ok", "terraform 1.11.4 at /usr/bin/terraform"),
    CheckResult("mysql client", "local machine", "warning", "not installed", "apt install it"),
    CheckResult("credentials", "AWS account", "ok", "account 1", None, ("{", "}")),
    CheckResult("routes", "network", "problem", "no route [rails-app]", "run `hakobu up`"),
    CheckResult("service image", "registry", "skipped", "needs network › routes: no route"),
]


def test_exit_code_is_1_only_with_a_problem() -> None:
    assert exit_code(RESULTS) == 1
    assert exit_code(r for r in RESULTS if r.status != "problem") == 0


def test_json_envelope_is_versioned(env: Environment) -> None:
    report = report_json(env, StubbedAws(), RESULTS)
    assert report["version"] == 1
    assert (report["environment"], report["region"], report["sandbox"]) == (
        "production",
        REGION,
        False,
    )
    assert report["healthy"] is False
    assert report["counts"] == {"ok": 2, "warning": 1, "problem": 1, "skipped": 1}
    assert report["checks"][3] == {
        "name": "routes",
        "group": "network",
        "status": "problem",
        "message": "no route [rails-app]",
        "fix": "run `hakobu up`",
        "details": [],
    }


def test_screen_renders_one_tree_per_group() -> None:
    console = Console(file=io.StringIO(), width=100, no_color=True)
    console.print(doctor_commands.screen("rails-app (production, ap-northeast-1)", RESULTS))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.splitlines() == [
        "hakobu doctor: rails-app (production, ap-northeast-1)",
        "",
        "local machine",
        "├── [OK] terraform: terraform 1.11.4 at /usr/bin/terraform",
        "└── [WARNING] mysql client: not installed",
        "    └── fix: apt install it",
        "",
        "AWS account",
        "└── [OK] credentials: account 1",
        "    └── {",
        "        }",
        "",
        "network",
        "└── [PROBLEM] routes: no route [rails-app]",
        "    └── fix: run `hakobu up`",
        "",
        "registry",
        "└── [SKIPPED] service image: needs network › routes: no route",
        "",
        "1 problem(s), 1 warning(s), 2 ok, 1 skipped",
    ]


def test_the_doctor_lists_its_checks_for_each_framework(tmp_path: Path) -> None:
    rails = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    django = environment_of({"app": "blog", "framework": "django"}, root=tmp_path)
    assert [(c.group, c.name) for c in default_checks(rails)] == [
        ("local machine", "terraform"),
        ("local machine", "image builder"),
        ("local machine", "session-manager-plugin"),
        ("local machine", "mysql client"),
        ("local machine", "service port"),
        ("AWS account", "credentials"),
        ("AWS account", "region"),
        ("secrets", "rails-app-db-password"),
        ("secrets", "rails-app-rails-master-key"),
        ("secrets", "master key"),
        ("service", "service"),
        ("service", "stopped tasks"),
        ("service", "target health"),
        ("network", "routes"),
        ("database", "db instance"),
        ("database", "security groups"),
        ("database", "db password"),
        ("database", "engine version"),
        ("registry", "service image"),
    ]
    secrets = [c.name for c in default_checks(django) if c.group == "secrets"]
    assert secrets == ["blog-db-password", "blog-django-secret-key"]


# --- the remaining checks made to fail ------------------------------------------------------


def test_a_region_other_than_the_aws_clis_default_is_a_warning(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    region = next(c for c in default_checks(env) if c.name == "region")

    result = run_checks(env, StubbedAws(), checks=[region])[0]

    assert result.status == "warning"
    assert result.message == (
        "hakobu uses ap-northeast-1 (hakobu.toml), but the aws CLI's default region is "
        "us-east-1: the guide's `aws` commands without --region look in us-east-1"
    )
    assert result.fix is not None and result.fix.startswith(
        "`aws configure set region ap-northeast-1`"
    )


def test_a_missing_secret_is_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    aws.stub("secretsmanager").add_client_error(
        "describe_secret",
        service_error_code="ResourceNotFoundException",
        service_message="Secrets Manager can't find the specified secret.",
        http_status_code=400,
        expected_params={"SecretId": "rails-app-db-password"},
    )
    aws.stub("secretsmanager").add_response(
        "describe_secret",
        {"ARN": _secret_arn("rails-app-rails-master-key"), "Name": "rails-app-rails-master-key"},
        {"SecretId": "rails-app-rails-master-key"},
    )

    results = _run(env, aws, "rails-app-db-password", "db password")

    assert results["rails-app-db-password"].status == "problem"
    assert results["rails-app-db-password"].message == (
        "the DB password secret does not exist: tasks cannot start without it"
    )
    assert results["db password"].message.startswith(
        "needs secrets › rails-app-db-password: the DB password secret does not exist"
    )


def test_a_db_password_secret_without_a_value_is_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    sm = aws.stub("secretsmanager")
    for name in ("rails-app-db-password", "rails-app-rails-master-key"):
        sm.add_response("describe_secret", {"ARN": _secret_arn(name), "Name": name}, None)
    sm.add_client_error(
        "get_secret_value",
        service_error_code="ResourceNotFoundException",
        service_message="Secrets Manager can't find the specified secret value for staging "
        "label: AWSCURRENT",
        http_status_code=400,
        expected_params={"SecretId": "rails-app-db-password", "VersionStage": "AWSCURRENT"},
    )

    results = _run(env, aws, "rails-app-db-password", "db password")

    password = results["db password"]
    assert (password.status, password.message) == (
        "problem",
        "rails-app-db-password has no value: tasks start without DATABASE_PASSWORD and "
        "cannot log in to MySQL",
    )
    assert password.fix is not None and password.fix.startswith("run `hakobu secrets rotate-db`")
    assert exit_code(results.values()) == 1


def test_an_image_from_another_registry_is_skipped(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))
    image = "public.ecr.aws/docker/library/python:3.12-slim"
    aws.stub("ecs").add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TD,
                "family": "rails-app",
                "containerDefinitions": [{"name": "rails-app", "image": image}],
            }
        },
        {"taskDefinition": TD},
    )

    result = _run(env, aws, "service image")["service image"]

    assert (result.status, result.message) == (
        "skipped",
        f"the service runs {image}, not an ECR image",
    )


def test_a_service_network_that_differs_from_hakobu_toml_is_a_warning(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "lean")
    lean = environment_of({"app": "rails-app", "framework": "rails", "profile": "lean"}, root=root)
    aws = StubbedAws()
    _signed_in(aws)
    _service_lookup(aws, list(PRIVATE))  # still private, behind the NAT Gateway
    _network_calls(aws, PRIVATE, _tables(private_default={"NatGatewayId": NAT}))
    aws.stub("ec2").add_response("describe_nat_gateways", _nat("available"), None)

    routes = _run(lean, aws, "routes")["routes"]

    assert (routes.status, routes.message, routes.fix) == (
        "warning",
        "hakobu.toml says service.public_ip = true, but the service runs with assignPublicIp "
        "DISABLED",
        "run `hakobu up`: it applies hakobu.toml",
    )


def _image_calls(aws: StubbedAws, image: str) -> None:
    _service_lookup(aws, list(PRIVATE))
    aws.stub("ecs").add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TD,
                "family": "rails-app",
                "containerDefinitions": [{"name": "rails-app", "image": image}],
            }
        },
        {"taskDefinition": TD},
    )


def test_the_image_the_service_runs_is_looked_up_by_digest(env: Environment) -> None:
    digest = "sha256:" + "b" * 64
    aws = StubbedAws()
    _signed_in(aws)
    _image_calls(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app@{digest}")
    aws.stub("ecr").add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "repositoryName": "rails-app",
                    "imageDigest": digest,
                    "imageTags": ["3f2a1b0c9d8e"],
                    "imagePushedAt": NOW,
                }
            ]
        },
        {
            "registryId": ACCOUNT,
            "repositoryName": "rails-app",
            "imageIds": [{"imageDigest": digest}],
        },
    )

    image = _run(env, aws, "service image")["service image"]

    assert (image.status, image.message) == (
        "ok",
        "rails-app@sha256:bbbbbbbbbbbb… is in ECR (tags: 3f2a1b0c9d8e; pushed 2026-11-29 12:00 "
        "UTC)",
    )


def test_the_bootstrap_image_before_the_first_deploy_is_a_warning(env: Environment) -> None:
    aws = StubbedAws()
    _signed_in(aws)
    _image_calls(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app:bootstrap")
    aws.stub("ecr").add_client_error(
        "describe_images",
        service_error_code="ImageNotFoundException",
        service_message="The image with imageId {imageDigest:'null', imageTag:'bootstrap'} "
        "does not exist",
        http_status_code=400,
        expected_params={
            "registryId": ACCOUNT,
            "repositoryName": "rails-app",
            "imageIds": [{"imageTag": "bootstrap"}],
        },
    )

    results = _run(env, aws, "service image")

    image = results["service image"]
    assert (image.status, image.message) == (
        "warning",
        "no deploy yet: the service runs the placeholder rails-app:bootstrap, which nothing "
        "pushes, so no task can start",
    )
    assert exit_code(results.values()) == 0
