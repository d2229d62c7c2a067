"""The deep-paused shape of an environment: the rendered document without what bills by
the hour and holds no data (`hakobu pause --deep`).

Removed: the NAT Gateways with their Elastic IPs and the private subnets' default routes
through them, the ALB and its listener. The service is rendered with no tasks
(`desired_count = 0`), or the apply would start them again.

With the production edge: auto scaling (it would start tasks again), and what points at
the ALB (alias records, the WAF association, the alarms on its metrics, the dashboard).
The certificates, the CloudFront distribution, the web ACL, the SNS topic and the other
alarms stay: they bill nothing by the hour, or nothing at all.

Kept: the VPC, subnets, route tables, security groups, the database (stopped by hakobu,
its storage intact), ECR, secrets, the log group, the cluster, task definitions and the
service, and the target group. The target group is free, and keeping it means the
service's `load_balancer` block never changes: Terraform does not touch the service at
all (the AWS provider 5.100 would update it in place without the block, but on AWS that
is an UpdateService of its load balancers, a new deployment and a health-check grace
period that only services with a load balancer may have; hakobu avoids all of it).

A transformation of the normal document, not a second blueprint: the parts stay the one
description of the architecture, and what a deep pause removes is listed here only.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

# Billed by the hour whether or not anything uses them, and rebuilt identically (same
# names, new addresses) by the next apply of the normal document.
REMOVED_TYPES = ("aws_nat_gateway", "aws_lb", "aws_lb_listener")
AUTOSCALING_TYPES = ("aws_appautoscaling_target", "aws_appautoscaling_policy")
ALB_FOLLOWERS = (
    "aws_route53_record",
    "aws_wafv2_web_acl_association",
    "aws_cloudwatch_metric_alarm",
    "aws_cloudwatch_dashboard",
)
_REFERENCE = re.compile(r"\$\{([a-z0-9_]+\.[a-z0-9_-]+)\.")
Chooser = Callable[[str, str, dict[str, Any]], bool]  # (kind, name, body) -> remove it?


def deep_paused(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (from `blueprint.render`) in its deep-paused shape; a new document."""
    paused = copy.deepcopy(document)
    resources: dict[str, dict[str, Any]] = paused.get("resource", {})
    gone = _pop(resources, lambda kind, _name, _body: kind in REMOVED_TYPES)
    # The NATs' Elastic IPs (each a billed public IPv4 address) ...
    held = set().union(*(references(body) for body in gone.values()))
    gone |= _pop(resources, lambda kind, name, _: kind == "aws_eip" and f"{kind}.{name}" in held)
    # ... and the routes through the NATs (the private subnets' default routes).
    gone |= _pop(resources, lambda kind, _, body: kind == "aws_route" and _refers(body, gone))
    # Auto scaling would start tasks again (its minimum is at least 1) ...
    gone |= _pop(resources, lambda kind, _name, _body: kind in AUTOSCALING_TYPES)
    # ... and the edge parts that point at the ALB go with it, rebuilt by `resume`: the
    # alias records, the WAF association, the alarms on its metrics and the dashboard.
    gone |= _followers(resources, gone)
    for body in (b for named in resources.values() for b in named.values()):
        if "depends_on" in body:
            body["depends_on"] = [a for a in body["depends_on"] if a not in gone]
    outputs = paused.get("output", {})
    for name in [n for n, body in outputs.items() if _refers(body, gone)]:
        del outputs[name]  # load_balancer_dns
    for service in resources.get("aws_ecs_service", {}).values():
        service["desired_count"] = 0
    dangling = sorted(references(paused) & set(gone))
    if dangling:  # a new part refers to something removed here: handle it above
        raise ValueError(f"the deep-paused document still refers to {', '.join(dangling)}")
    return paused


def _followers(resources: dict[str, dict[str, Any]], gone: dict[str, Any]) -> dict[str, Any]:
    """Remove the ALB's followers, then theirs (the dashboard draws the alarms)."""
    removed: dict[str, Any] = {}
    while more := _pop(resources, _follower_of({**gone, **removed})):
        removed |= more
    return removed


def _follower_of(gone: dict[str, Any]) -> Chooser:
    return lambda kind, _name, body: kind in ALB_FOLLOWERS and _refers(body, gone)


def _pop(resources: dict[str, dict[str, Any]], chosen: Chooser) -> dict[str, Any]:
    """Remove the resources for which `chosen(kind, name, body)` is true; {address: body}."""
    gone = {}
    for kind in list(resources):
        named = resources[kind]
        for name in [n for n, body in named.items() if chosen(kind, n, body)]:
            gone[f"{kind}.{name}"] = named.pop(name)
        if not named:
            del resources[kind]
    return gone


def _refers(body: Any, addresses: Iterable[str]) -> bool:
    return bool(references(body) & set(addresses))


def references(body: Any) -> set[str]:
    """Every resource address `body` interpolates (`${kind.name.attr}`) or depends on."""
    found = set(_REFERENCE.findall(json.dumps(body)))
    for node in _walk(body):
        if isinstance(node, dict) and isinstance(node.get("depends_on"), list):
            found |= set(node["depends_on"])
    return found


def _walk(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(item for value in node.values() for item in _walk(value))]
    if isinstance(node, list):
        return [item for value in node for item in _walk(value)]
    return []
