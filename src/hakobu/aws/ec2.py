"""EC2 look-ups for `hakobu doctor`: subnets, route tables, NAT Gateways, security groups."""

from __future__ import annotations

from typing import Any


def subnets(ec2: Any, ids: list[str]) -> list[dict[str, Any]]:
    return list(ec2.describe_subnets(SubnetIds=ids).get("Subnets", []))


def route_tables(ec2: Any, vpc_ids: list[str]) -> list[dict[str, Any]]:
    answer = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])
    return list(answer.get("RouteTables", []))


def nat_gateways(ec2: Any, ids: list[str]) -> list[dict[str, Any]]:
    return list(ec2.describe_nat_gateways(NatGatewayIds=ids).get("NatGateways", []))


def security_groups(ec2: Any, ids: list[str]) -> list[dict[str, Any]]:
    return list(ec2.describe_security_groups(GroupIds=ids).get("SecurityGroups", []))
