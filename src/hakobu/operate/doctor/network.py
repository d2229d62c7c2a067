"""Checks of the network: how the tasks' subnets reach the internet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import (
    OK,
    PROBLEM,
    WARNING,
    Finding,
    Status,
    ok,
    problem,
    warning,
)

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Egress:
    """How one of the tasks' subnets reaches the internet."""

    status: Status
    line: str


def check_routes(facts: Facts) -> Finding:
    """Private tasks reach ECR, Secrets Manager and CloudWatch Logs through a NAT Gateway;
    with public IPs (the lean profile) through the Internet Gateway."""
    network = facts.task_network()
    public = network.get("assignPublicIp") == "ENABLED"
    verdicts = [subnet_egress(facts, s, public) for s in network.get("subnets", [])]
    details = [v.line for v in verdicts]
    worst = _worst(v.status for v in verdicts)
    if worst == PROBLEM:
        bad = next(v for v in verdicts if v.status == PROBLEM)
        return problem(
            f"{bad.line}: its tasks cannot pull the image, read their secrets or send logs",
            _routes_fix(public),
            details,
        )
    if worst == WARNING:
        odd = next(v for v in verdicts if v.status == WARNING)
        return warning(odd.line, _routes_fix(public), details)
    configured = facts.env.settings.service.public_ip
    if configured != public:
        return warning(
            f"hakobu.toml says service.public_ip = {str(configured).lower()}, but the "
            f"service runs with assignPublicIp {network.get('assignPublicIp')}",
            "run `hakobu up`: it applies hakobu.toml",
            details,
        )
    how = (
        "tasks get public IPs and leave through the Internet Gateway"
        if public
        else "private tasks (no public IP) leave through a NAT Gateway"
    )
    return ok(f"{how}: every subnet routes 0.0.0.0/0 there", details)


def _routes_fix(public: bool) -> str:
    if public:
        return "run `hakobu up`: it restores the public subnets' route to the Internet Gateway"
    return (
        "run `hakobu up`: it restores the NAT Gateway and the private route tables "
        "(network.nat_gateways must be 1 or 2); or run tasks with public IPs instead "
        '(profile = "lean", or service.public_ip = true)'
    )


def subnet_egress(facts: Facts, subnet_id: str, public: bool) -> Egress:
    subnet = facts.subnets.get(subnet_id)
    if subnet is None:
        return Egress(PROBLEM, f"subnet {subnet_id} does not exist")
    name = f"subnet {subnet.get('CidrBlock', '?')} ({subnet_id})"
    table = route_table_of(facts.route_tables, subnet)
    route = next(
        (r for r in (table or {}).get("Routes", []) if r.get("DestinationCidrBlock") == ANYWHERE),
        None,
    )
    if route is None:
        return Egress(PROBLEM, f"{name} has no 0.0.0.0/0 route")
    target = route.get("NatGatewayId") or route.get("GatewayId") or "?"
    if route.get("State") == "blackhole":
        return Egress(PROBLEM, f"{name} routes 0.0.0.0/0 to {target}, which is gone (blackhole)")
    if route.get("NatGatewayId"):
        state = facts.nat_gateways.get(target, {}).get("State", "missing")
        status = OK if state == "available" else PROBLEM
        return Egress(status, f"{name} routes 0.0.0.0/0 to NAT Gateway {target} ({state})")
    if target.startswith("igw-"):
        if public:
            return Egress(OK, f"{name} routes 0.0.0.0/0 to the Internet Gateway {target}")
        return Egress(
            PROBLEM,
            f"{name} routes 0.0.0.0/0 to the Internet Gateway {target}, but the tasks get no "
            "public IP, so they cannot use it",
        )
    return Egress(
        WARNING, f"{name} routes 0.0.0.0/0 to {target}, neither a NAT nor an Internet Gateway"
    )


def route_table_of(
    tables: Iterable[Mapping[str, Any]], subnet: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The subnet's route table: its explicit association, else its VPC's main table."""
    main = None
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("SubnetId") == subnet["SubnetId"]:
                return table
            if association.get("Main") and table.get("VpcId") == subnet.get("VpcId"):
                main = table
    return main


def _worst(statuses: Iterable[Status]) -> Status:
    ranked = (PROBLEM, WARNING, OK)
    found = set(statuses)
    return next((s for s in ranked if s in found), OK)
