"""Security groups: internet -> ALB -> ECS tasks -> database, and nothing else.

Each hop admits only the previous hop's security group on exactly one port, so a task
is reachable only through the ALB and the database only from tasks. Rules are separate
resources because the ALB and task groups refer to each other (inline rules would cycle).
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.network import VPC, dual_stack

ALB_SG = "aws_security_group.alb"
ECS_SG = "aws_security_group.ecs"
DB_SG = "aws_security_group.db"
MYSQL_PORT = 3306
# The server, not the service: Aurora MySQL speaks MySQL, Aurora PostgreSQL PostgreSQL.
PROTOCOLS = {"mysql": "MySQL", "postgres": "PostgreSQL"}


def security_groups(env: Environment) -> Fragment:
    names = Names.of(env)
    port = env.settings.service.port
    database = engine(env.settings.database.engine)
    protocol = PROTOCOLS[database.family]
    part = Fragment("network")
    for tier, description in (
        ("alb", "Load balancer: HTTP and HTTPS from the internet"),
        ("ecs", "ECS tasks: the app port from the load balancer only"),
        ("db", f"Database: {protocol} from the ECS tasks only"),
    ):
        part.resource(
            "aws_security_group",
            tier,
            {
                "name": names.security_group(tier),
                "description": description,
                "vpc_id": ref(VPC),
                "tags": {"Name": names.security_group(tier)},
            },
        )
    # With a CDN the load balancer is CloudFront's origin only (see _cloudfront_ingress).
    for web_port in () if _behind_cdn(env) else (80, 443):
        _ingress(
            part,
            f"alb_from_internet_{web_port}",
            ALB_SG,
            web_port,
            f"Port {web_port} from the internet",
            cidr="0.0.0.0/0",
        )
        if dual_stack(env):  # the same ports for IPv6 clients of the dual-stack ALB
            _ingress(
                part,
                f"alb_from_internet_{web_port}_ipv6",
                ALB_SG,
                web_port,
                f"Port {web_port} from the internet (IPv6)",
                cidr="::/0",
            )
    if _behind_cdn(env):
        _cloudfront_ingress(part)
    _egress(part, "alb_to_ecs", ALB_SG, port, "Forward requests to the app tasks", peer=ECS_SG)
    _ingress(part, "ecs_from_alb", ECS_SG, port, "App port from the load balancer", peer=ALB_SG)
    # Tasks need outbound HTTPS (ECR, Secrets Manager, CloudWatch Logs, SSM for ECS Exec)
    # and whatever the app itself calls; the NAT Gateway is the only way out.
    part.resource(
        "aws_vpc_security_group_egress_rule",
        "ecs_to_anywhere",
        {
            "security_group_id": ref(ECS_SG),
            "description": "Outbound traffic through the NAT Gateway (AWS APIs, image pulls)",
            "ip_protocol": "-1",
            "cidr_ipv4": "0.0.0.0/0",
        },
    )
    _ingress(
        part, "db_from_ecs", DB_SG, database.port, f"{protocol} from the app tasks", peer=ECS_SG
    )
    return part


def _behind_cdn(env: Environment) -> bool:
    return env.settings.domain is not None and env.settings.domain.cdn


def _cloudfront_ingress(part: Fragment) -> None:
    """HTTPS from CloudFront's origin-facing addresses only, so nobody bypasses the CDN.

    AWS keeps the managed prefix list current; it counts as about 55 rules against the
    group's quota of 60, which leaves room for this group's few other rules. IPv4 only:
    CloudFront connects to a custom origin over IPv4 unless the origin asks for IPv6
    (an origin setting the AWS provider 5.100 has no argument for), and the IPv6 list
    (`com.amazonaws.global.ipv6.cloudfront.origin-facing`) would weigh another 55.
    """
    prefix_list = part.data_source(
        "aws_ec2_managed_prefix_list",
        "cloudfront",
        {"name": "com.amazonaws.global.cloudfront.origin-facing"},
    )
    part.resource(
        "aws_vpc_security_group_ingress_rule",
        "alb_from_cloudfront_443",
        {
            "security_group_id": ref(ALB_SG),
            "description": "HTTPS from CloudFront's origin-facing servers only",
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "prefix_list_id": ref(prefix_list),
        },
    )


def _ingress(
    part: Fragment,
    name: str,
    group: str,
    port: int,
    description: str,
    peer: str | None = None,
    cidr: str | None = None,
) -> None:
    part.resource(
        "aws_vpc_security_group_ingress_rule", name, _rule(group, port, description, peer, cidr)
    )


def _egress(
    part: Fragment, name: str, group: str, port: int, description: str, peer: str | None = None
) -> None:
    # Only the ALB has a port-specific egress rule, and it always names a peer group.
    part.resource(
        "aws_vpc_security_group_egress_rule", name, _rule(group, port, description, peer, None)
    )


def _rule(
    group: str, port: int, description: str, peer: str | None, cidr: str | None
) -> dict[str, object]:
    rule: dict[str, object] = {
        "security_group_id": ref(group),
        "description": description,
        "ip_protocol": "tcp",
        "from_port": port,
        "to_port": port,
    }
    if peer:
        rule["referenced_security_group_id"] = ref(peer)
    if cidr:
        rule["cidr_ipv6" if ":" in cidr else "cidr_ipv4"] = cidr
    return rule
