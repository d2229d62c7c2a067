"""The guide's network: a VPC, public and private subnets in two zones, NAT Gateways.

Tasks and the database live in the private subnets; only the ALB and the NAT Gateway sit
in the public ones. One NAT Gateway (in the first zone) is the guide's cost choice: a
zone outage cuts the private subnets' outbound traffic. The "ha" profile puts one in each
zone; the "lean" profile has none and runs tasks in the public subnets with public IPs.
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.provision.blueprint.document import Fragment, ref

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
    zones = env.settings.network.availability_zones
    _table(part, env, "public", {"gateway_id": ref("aws_internet_gateway.main")})
    for zone in zones:
        _associate(part, "public", zone, "aws_route_table.public")
    nat_count = env.settings.network.nat_gateways
    if nat_count == 0:
        # No NAT: the private subnets hold only the database, which needs no way out.
        part.resource(
            "aws_route_table",
            "private",
            {
                "vpc_id": ref(VPC),
                "tags": {"Name": f"{prefix}-private-rt"},
            },
        )
        for zone in zones:
            _associate(part, "private", zone, "aws_route_table.private")
        return
    nat_zones = zones[:nat_count]
    for zone in nat_zones:
        _nat_gateway(part, env, zone, suffix="" if nat_count == 1 else f"_{zone}")
    if nat_count == 1:
        _table(part, env, "private", {"nat_gateway_id": ref("aws_nat_gateway.main")})
        for zone in zones:
            _associate(part, "private", zone, "aws_route_table.private")
        return
    # One NAT Gateway per zone: each private subnet leaves through its own zone's NAT, so a
    # zone outage does not cut the other zone's outbound traffic.
    for zone in zones:
        _table(
            part, env, f"private_{zone}", {"nat_gateway_id": ref(f"aws_nat_gateway.main_{zone}")}
        )
        _associate(part, "private", zone, f"aws_route_table.private_{zone}")


def _nat_gateway(part: Fragment, env: Environment, zone: str, suffix: str) -> None:
    prefix = env.prefix
    label = f"{prefix}-nat" + (f"-{zone}" if suffix else "")
    part.resource("aws_eip", f"nat{suffix}", {"domain": "vpc", "tags": {"Name": f"{label}-eip"}})
    part.resource(
        "aws_nat_gateway",
        f"main{suffix}",
        {
            "allocation_id": ref(f"aws_eip.nat{suffix}"),
            "subnet_id": ref(subnet_address("public", zone)),
            "tags": {"Name": label},
            "depends_on": ["aws_internet_gateway.main"],
        },
    )


def _table(part: Fragment, env: Environment, name: str, target: dict[str, str]) -> None:
    tier_zone = name.replace("_", "-")
    table = part.resource(
        "aws_route_table",
        name,
        {
            "vpc_id": ref(VPC),
            "tags": {"Name": f"{env.prefix}-{tier_zone}-rt"},
        },
    )
    # Routes as their own resources: inline routes would need every attribute spelled out
    # in JSON syntax, and separate ones show up clearly in a plan.
    part.resource(
        "aws_route",
        f"{name}_default",
        {
            "route_table_id": ref(table),
            "destination_cidr_block": "0.0.0.0/0",
            **target,
        },
    )


def _associate(part: Fragment, tier: str, zone: str, table: str) -> None:
    part.resource(
        "aws_route_table_association",
        f"{tier}_{zone}",
        {
            "subnet_id": ref(subnet_address(tier, zone)),
            "route_table_id": ref(table),
        },
    )
