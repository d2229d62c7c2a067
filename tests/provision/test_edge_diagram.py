"""`hakobu diagram` draws the production edge parts hakobu.toml switches on, and nothing
of them otherwise."""

from __future__ import annotations

from typing import Any

from hakobu.provision.diagram import architecture, to_mermaid
from tests.conftest import environment_of

DOMAIN = {"name": "app.example.com", "zone": "example.com"}


def drawn(**sections: Any) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str, str]]]:
    diagram = architecture(environment_of({"app": "shop", "framework": "rails", **sections}))
    nodes = {item.id: item.lines for item, _ in diagram.walk()}
    return nodes, [(e.source, e.target, e.label) for e in diagram.edges]


def test_no_edge_without_the_sections() -> None:
    nodes, edges = drawn()
    assert not {"DNS", "CDN", "WAF", "Scaling", "Alarms"} & set(nodes)
    assert ("User", "IGW", "HTTP :80") in edges  # no HTTPS listener without a domain


def test_https_on_a_domain_with_scaling_and_alarms() -> None:
    nodes, edges = drawn(
        domain=DOMAIN, autoscaling={"min": 2, "max": 5}, alarms={"email": ["ops@example.com"]}
    )
    assert nodes["DNS"] == (
        "DNS",
        "Route 53 zone example.com",
        "ACM certificate for app.example.com",
    )
    assert nodes["ALB"][2] == "HTTP :80, HTTPS :443 → shop-tg"
    assert nodes["Scaling"] == ("Application Auto Scaling", "2-5 tasks, CPU 60%")
    assert nodes["Alarms"][1] == "10 alarms → SNS: ops@example.com"
    assert ("Scaling", "ECS1", "task count") in edges
    assert ("User", "DNS", "resolves app.example.com") in edges


def test_with_a_cdn_users_reach_the_alb_only_through_cloudfront() -> None:
    nodes, edges = drawn(domain={**DOMAIN, "cdn": True, "waf": True})
    assert nodes["CDN"][0] == "CloudFront"
    assert ("User", "CDN", "HTTPS :443") in edges
    assert ("CDN", "IGW", "HTTPS :443 (origin)") in edges
    assert not [e for e in edges if e[:2] == ("User", "IGW")]
    assert ("WAF", "CDN", "inspects requests") in edges
    mermaid = to_mermaid(
        architecture(environment_of({"app": "shop", "domain": {**DOMAIN, "cdn": True}}))
    )
    assert 'CDN["CloudFront<br/>app.example.com<br/>static paths cached"]' in mermaid
