"""The guide's network: a VPC, public and private subnets in two zones, NAT Gateways.

Tasks and the database live in the private subnets; only the ALB and the NAT Gateway sit
in the public ones. One NAT Gateway (in the first zone) is the guide's cost choice: a
zone outage cuts the private subnets' outbound traffic. The "ha" profile puts one in each
zone; the "lean" profile has none and runs tasks in the public subnets with public IPs.

With [domain] the public side is dual-stack (see `dual_stack`): the VPC gets an
Amazon-provided IPv6 /56, each public subnet a /64 of it and the public route table a
`::/0` route to the internet gateway, so the dual-stack ALB answers the name's AAAA
record. The private subnets stay IPv4: the ALB reaches the tasks over IPv4 whatever the
client spoke, and the tasks' and the database's way out is the NAT Gateway's.
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.provision.blueprint.document import Fragment, ref

VPC = "aws_vpc.main"
# An Amazon-provided VPC block is a /56; a subnet's IPv6 block is always a /64.
IPV6_SUBNET_BITS = 64 - 56


def dual_stack(env: Environment) -> bool:
    """Whether the ALB and the public subnets speak IPv6 too: with a domain, whose AAAA
    alias needs a dual-stack ALB. Without one the rendered network is as it always was."""
    return env.settings.domain is not None


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
            **({"assign_generated_ipv6_cidr_block": True} if dual_stack(env) else {}),
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
        for index, (zone, cidr) in enumerate(zip(zones, cidrs, strict=True)):
            part.resource(
                "aws_subnet",
                f"{tier}_{zone}",
                {
                    "vpc_id": ref(VPC),
                    "cidr_block": cidr,
                    **(_ipv6_block(index) if tier == "public" and dual_stack(env) else {}),
                    "availability_zone": f"{env.region}{zone}",
                    # Nothing in a public subnet needs an automatic public IP: the ALB and the
                    # NAT Gateway get theirs explicitly.
                    "map_public_ip_on_launch": False,
                    "tags": {"Name": f"{prefix}-{tier}-{zone}", "Tier": tier},
                },
            )
    _routes(part, env)
    return part


def _ipv6_block(index: int) -> dict[str, str]:
    """The public subnet's /64: the index-th of the VPC's /56 (0 and 1 for two zones).
    It is for the ALB: the subnet hands out no IPv6 address on its own (the provider's
    default `assign_ipv6_address_on_creation = false`), and the tasks' group admits only
    the ALB whatever address a lean profile's task might get."""
    return {
        "ipv6_cidr_block": f"${{cidrsubnet({VPC}.ipv6_cidr_block, {IPV6_SUBNET_BITS}, {index})}}"
    }


def _routes(part: Fragment, env: Environment) -> None:
    prefix = env.prefix
    zones = env.settings.network.availability_zones
    _table(part, env, "public", {"gateway_id": ref("aws_internet_gateway.main")})
    for zone in zones:
        _associate(part, "public", zone, "aws_route_table.public")
    if dual_stack(env):
        part.resource(
            "aws_route",
            "public_default_ipv6",
            {
                "route_table_id": ref("aws_route_table.public"),
                "destination_ipv6_cidr_block": "::/0",
                "gateway_id": ref("aws_internet_gateway.main"),
            },
        )
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
