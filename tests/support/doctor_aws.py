"""What the Stubber tests of `hakobu doctor` share (tests/operate/doctor/): AWS-shaped
responses for the service, the DB instance, subnets, route tables and NAT Gateways, and
running a few named checks against a `StubbedAws`.

Responses are shaped like AWS's own (the Stubber validates them against the service
models); each Stubber's queue is strict, so a consumed queue proves the calls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hakobu.core.config import Environment
from hakobu.operate.doctor import Check, CheckResult, Facts, default_checks, run_checks
from tests.support import stubbed_aws
from tests.support.stubbed_aws import StubbedAws

REGION, ACCOUNT = "ap-northeast-1", "123456789012"
CLUSTER, SERVICE = "rails-app-cluster", "rails-app-service"
TD = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rails-app:7"
TG = stubbed_aws.TG  # the service's target group, as the shared service response names it
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


def service_response(
    subnets: list[str], public_ip: bool = False, running: int = 1
) -> dict[str, Any]:
    """The service with no deployments listed, in these subnets."""
    network = {
        "subnets": subnets,
        "securityGroups": [ECS_SG],
        "assignPublicIp": "ENABLED" if public_ip else "DISABLED",
    }
    return stubbed_aws.service_response(
        [],
        TD,
        serviceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}",
        runningCount=running,
        pendingCount=1 - running,
        networkConfiguration={"awsvpcConfiguration": network},
    )


def db_response(version: str = "8.4.5", status: str = "available", **extra: Any) -> dict[str, Any]:
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


def subnets_response(cidrs: dict[str, str]) -> dict[str, Any]:
    return {"Subnets": [{"SubnetId": s, "VpcId": VPC, "CidrBlock": c} for s, c in cidrs.items()]}


def route_table(name: str, subnets: list[str], default: dict[str, Any] | None) -> dict[str, Any]:
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


def main_route_table() -> dict[str, Any]:
    return {
        "RouteTableId": "rtb-main",
        "VpcId": VPC,
        "Associations": [{"Main": True, "RouteTableId": "rtb-main"}],
        "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}],
    }


def route_tables(private_default: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "RouteTables": [
            main_route_table(),
            route_table("public", list(PUBLIC), {"GatewayId": IGW}),
            route_table("private", list(PRIVATE), private_default),
        ]
    }


def nat_response(state: str) -> dict[str, Any]:
    return {
        "NatGateways": [
            {"NatGatewayId": NAT, "State": state, "SubnetId": "subnet-1a", "VpcId": VPC}
        ]
    }


def checks_named(env: Environment, *names: str) -> list[Check]:
    """The credentials check (every AWS check's prerequisite), then the named ones."""
    wanted = ("credentials", *names)
    return [c for c in default_checks(env) if c.name in wanted]


def signed_in(aws: StubbedAws) -> None:
    aws.stub("sts").add_response("get_caller_identity", IDENTITY, {})


def run_named(
    env: Environment, aws: StubbedAws, *names: str, **facts: Any
) -> dict[str, CheckResult]:
    results = run_checks(env, aws, checks=checks_named(env, *names), facts=Facts(env, aws, **facts))
    aws.verify()  # every stubbed call was made: nothing more, nothing less
    return {r.name: r for r in results}


def stub_service_lookup(aws: StubbedAws, subnets: list[str], public_ip: bool = False) -> None:
    aws.stub("ecs").add_response(
        "describe_services",
        service_response(subnets, public_ip),
        {"cluster": CLUSTER, "services": [SERVICE]},
    )
