"""The guide's network: a VPC, public and private subnets in two zones, one NAT Gateway.

Tasks and the database live in the private subnets; only the ALB and the NAT Gateway sit
in the public ones. One NAT Gateway (in the first zone) is the guide's cost choice: a
zone outage cuts the private subnets' outbound traffic, which the "ha" profile will fix.
"""

from __future__ import annotations

from hakobu.blueprint.document import Fragment, ref
from hakobu.config import Environment

VPC = "aws_vpc.main"


def subnet_address(tier: str, zone: str) -> str:
    return f"aws_subnet.{tier}_{zone}"


def subnet_ids(env: Environment, tier: str) -> list[str]:
    return [ref(subnet_address(tier, zone)) for zone in env.settings.network.availability_zones]


def network(env: Environment) -> Fragment:
    settings = env.settings.network
    prefix = env.prefix
    part = Fragment("network")
    part.resource(
        "aws_vpc",
        "main",
        {
            "cidr_block": settings.vpc_cidr,
            # DNS support lets tasks resolve the RDS endpoint and AWS service names.
            "enable_dns_support": True,
            "enable_dns_hostnames": True,
            "tags": {"Name": f"{prefix}-vpc"},
        },
    )
    # Strip the default security group of its rules so nothing can use it by accident.
    part.resource("aws_default_security_group", "default", {"vpc_id": ref(VPC)})
    part.resource(
        "aws_internet_gateway",
        "main",
        {
            "vpc_id": ref(VPC),
            "tags": {"Name": f"{prefix}-igw"},
        },
    )
    zones = settings.availability_zones
    for tier, cidrs in (("public", settings.public_subnets), ("private", settings.private_subnets)):
        for zone, cidr in zip(zones, cidrs, strict=True):
            part.resource(
                "aws_subnet",
                f"{tier}_{zone}",
                {
                    "vpc_id": ref(VPC),
                    "cidr_block": cidr,
                    "availability_zone": f"{env.region}{zone}",
                    # Nothing in a public subnet needs an automatic public IP: the ALB and the
                    # NAT Gateway get theirs explicitly.
                    "map_public_ip_on_launch": False,
                    "tags": {"Name": f"{prefix}-{tier}-{zone}", "Tier": tier},
                },
            )
    _routes(part, env)
    return part


def _routes(part: Fragment, env: Environment) -> None:
    prefix = env.prefix
    first_zone = env.settings.network.availability_zones[0]
    part.resource("aws_eip", "nat", {"domain": "vpc", "tags": {"Name": f"{prefix}-nat-eip"}})
    part.resource(
        "aws_nat_gateway",
        "main",
        {
            "allocation_id": ref("aws_eip.nat"),
            "subnet_id": ref(subnet_address("public", first_zone)),
            "tags": {"Name": f"{prefix}-nat"},
            "depends_on": ["aws_internet_gateway.main"],
        },
    )
    for tier, target in (
        ("public", {"gateway_id": ref("aws_internet_gateway.main")}),
        ("private", {"nat_gateway_id": ref("aws_nat_gateway.main")}),
    ):
        table = part.resource(
            "aws_route_table",
            tier,
            {
                "vpc_id": ref(VPC),
                "tags": {"Name": f"{prefix}-{tier}-rt"},
            },
        )
        # Routes as their own resources: inline routes would need every attribute spelled
        # out in JSON syntax, and separate ones show up clearly in a plan.
        part.resource(
            "aws_route",
            f"{tier}_default",
            {
                "route_table_id": ref(table),
                "destination_cidr_block": "0.0.0.0/0",
                **target,
            },
        )
    for tier in ("public", "private"):
        for zone in env.settings.network.availability_zones:
            part.resource(
                "aws_route_table_association",
                f"{tier}_{zone}",
                {
                    "subnet_id": ref(subnet_address(tier, zone)),
                    "route_table_id": ref(f"aws_route_table.{tier}"),
                },
            )
