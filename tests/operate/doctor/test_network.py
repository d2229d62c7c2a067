"""`hakobu doctor`'s routes check made to fail with botocore's Stubber (the emulator's NAT
Gateway never fails): private subnets without a NAT route or routed to a deleted one, the
lean profile's public IPs, a service network that differs from hakobu.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hakobu.core.config import Environment
from hakobu.operate.doctor import exit_code
from tests.conftest import environment_of, make_rails_app
from tests.support.doctor_aws import (
    IGW,
    NAT,
    PRIVATE,
    PUBLIC,
    VPC,
    db_response,
    nat_response,
    route_tables,
    run_named,
    signed_in,
    stub_service_lookup,
    subnets_response,
)
from tests.support.stubbed_aws import StubbedAws

# --- routes (Stubber: the emulator's NAT Gateway never fails) ----------------------------


def _network_calls(aws: StubbedAws, cidrs: dict[str, str], tables: dict[str, Any]) -> None:
    aws.stub("rds").add_response(
        "describe_db_instances", db_response(), {"DBInstanceIdentifier": "rails-app-db"}
    )
    # One describe_subnets for the tasks' and the database's subnets together.
    aws.stub("ec2").add_response(
        "describe_subnets",
        subnets_response(cidrs | PRIVATE),
        {"SubnetIds": list(dict.fromkeys([*cidrs, *PRIVATE]))},
    )
    aws.stub("ec2").add_response(
        "describe_route_tables", tables, {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]}
    )


def test_private_subnets_without_a_nat_route_are_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, route_tables(private_default=None))

    results = run_named(env, aws, "routes")

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
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, route_tables(private_default={"NatGatewayId": NAT}))
    aws.stub("ec2").add_response(
        "describe_nat_gateways", nat_response("deleted"), {"NatGatewayIds": [NAT]}
    )

    routes = run_named(env, aws, "routes")["routes"]

    assert routes.status == "problem"
    assert routes.message.startswith(
        f"subnet 10.0.10.0/24 (subnet-0a) routes 0.0.0.0/0 to NAT Gateway {NAT} (deleted)"
    )


def test_private_subnets_routed_to_an_available_nat_gateway_are_ok(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, route_tables(private_default={"NatGatewayId": NAT}))
    aws.stub("ec2").add_response("describe_nat_gateways", nat_response("available"), None)

    routes = run_named(env, aws, "routes")["routes"]

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
    signed_in(aws)
    stub_service_lookup(aws, list(PUBLIC), public_ip=True)
    _network_calls(aws, PUBLIC, route_tables(private_default=None))  # lean: no NAT at all

    routes = run_named(lean, aws, "routes")["routes"]

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
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    _network_calls(aws, PRIVATE, route_tables(private_default={"GatewayId": IGW}))

    routes = run_named(env, aws, "routes")["routes"]

    assert routes.status == "problem"
    assert "but the tasks get no public IP, so they cannot use it" in routes.message


def test_a_service_network_that_differs_from_hakobu_toml_is_a_warning(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "lean")
    lean = environment_of({"app": "rails-app", "framework": "rails", "profile": "lean"}, root=root)
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))  # still private, behind the NAT Gateway
    _network_calls(aws, PRIVATE, route_tables(private_default={"NatGatewayId": NAT}))
    aws.stub("ec2").add_response("describe_nat_gateways", nat_response("available"), None)

    routes = run_named(lean, aws, "routes")["routes"]

    assert (routes.status, routes.message, routes.fix) == (
        "warning",
        "hakobu.toml says service.public_ip = true, but the service runs with assignPublicIp "
        "DISABLED",
        "run `hakobu up`: it applies hakobu.toml",
    )
