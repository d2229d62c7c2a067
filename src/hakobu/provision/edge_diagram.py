"""The production edge in `hakobu diagram`: DNS and the certificate, CloudFront and WAF in
front of the ALB, and auto scaling, alarms and the dashboard beside the services.

Added to the guide's drawing only when hakobu.toml has the sections; without them the
diagram is the guide's, unchanged. Values come from the config and the rendered document.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hakobu.core.config import Environment
from hakobu.provision.edge_parts import specs

# These ids join the guide's (User, IGW, ALB, ...): stable, for tests and readers.
DNS_ID, CDN_ID, WAF_ID, SCALING_ID, ALARMS_ID = "DNS", "CDN", "WAF", "Scaling", "Alarms"


def with_edge(env: Environment, diagram: Any, resources: dict[str, Any]) -> Any:
    """`diagram` (a `provision.diagram.Diagram`) with the configured edge parts drawn."""
    from hakobu.provision.diagram import Edge, Group, Node

    domain, scaling, alarms = (
        env.settings.domain,
        env.settings.autoscaling,
        env.settings.alarms,
    )
    if domain is None and scaling is None and alarms is None:
        return diagram
    nodes: list[Any] = []
    edges = list(diagram.edges)
    if domain is not None:
        dns = "Route 53 zone " + str(domain.zone) if domain.zone else "your DNS (external)"
        nodes.append(Node(DNS_ID, ("DNS", dns, f"ACM certificate for {domain.name}"), "managed"))
        edges.insert(0, Edge("User", DNS_ID, f"resolves {domain.name}", dashed=True))
        if domain.cdn:
            nodes.append(
                Node(CDN_ID, ("CloudFront", domain.name, "static paths cached"), "gateway")
            )
            edges = [_via_cdn(edge, Edge) for edge in edges]
            edges.insert(1, Edge("User", CDN_ID, "HTTPS :443"))
        if domain.waf:
            guarded = CDN_ID if domain.cdn else "ALB"
            nodes.append(Node(WAF_ID, ("AWS WAF", "managed rules, rate limit"), "managed"))
            edges.append(Edge(WAF_ID, guarded, "inspects requests", dashed=True))
    managed: list[Any] = []
    if scaling is not None:
        managed.append(Node(SCALING_ID, (
            "Application Auto Scaling",
            f"{scaling.min}-{scaling.max} tasks, CPU {scaling.cpu_target}%",
        ), "managed"))  # fmt: skip
        edges += [Edge(SCALING_ID, t, "task count", dashed=True) for t in _tasks(diagram)]
    if alarms is not None:
        told = ", ".join(alarms.email) or "nobody yet"
        managed.append(Node(ALARMS_ID, (
            "CloudWatch alarms + dashboard", f"{len(specs(env))} alarms → SNS: {told}",
        ), "managed"))  # fmt: skip
    members = tuple(
        dataclasses.replace(m, members=(*m.members, *managed))
        if isinstance(m, Group) and m.id == "AWS"
        else m
        for m in diagram.members
    )
    return dataclasses.replace(diagram, members=(*nodes, *members), edges=tuple(edges))


def _via_cdn(edge: Any, make: Any) -> Any:
    """User -> IGW becomes CloudFront -> IGW: users reach the ALB only through the CDN."""
    if edge.source == "User" and edge.target == "IGW":
        return make(CDN_ID, "IGW", "HTTPS :443 (origin)")
    return edge


def _tasks(diagram: Any) -> list[str]:
    return [item.id for item, _ in diagram.walk() if getattr(item, "kind", "") == "compute"]
