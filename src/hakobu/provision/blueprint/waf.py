"""AWS WAF in front of the app (`[domain] waf = true`): AWS's managed rule groups and a
per-IP rate limit, on the load balancer, or on the CloudFront distribution with a CDN.

The managed groups block the common exploits (the OWASP top ten kinds) and known-bad
inputs (Log4Shell and the like) without rules to write; the rate limit stops a single
address from flooding the app. A CloudFront web ACL must live in us-east-1.
"""

from __future__ import annotations

from typing import Any

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.blueprint.cdn import US_EAST_1, uses_cdn
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.domain import domain_of
from hakobu.provision.edge_parts import MANAGED_GROUPS

WEB_ACL = "aws_wafv2_web_acl.main"
# Requests per IP per 5 minutes (WAF's window): ~7 a second sustained is more than a person
# browsing makes, and far less than a flood. Blocked addresses recover within minutes.
RATE_LIMIT_PER_5_MINUTES = 2000


def uses_waf(env: Environment) -> bool:
    settings = domain_of(env)
    return settings is not None and settings.waf


def waf(env: Environment) -> Fragment:
    part = Fragment("waf")
    if not uses_waf(env):
        return part
    prefix = Names.of(env).prefix
    rules = [_managed(name, priority) for priority, name in enumerate(MANAGED_GROUPS, 1)]
    rules.append(_rate_limit(len(rules) + 1))
    body: dict[str, Any] = {
        "name": f"{prefix}-waf",
        "description": f"{prefix}: managed rules and a per-IP rate limit",
        "scope": "CLOUDFRONT" if uses_cdn(env) else "REGIONAL",
        "default_action": {"allow": {}},
        "rule": rules,
        "visibility_config": _visibility(f"{prefix}-waf"),
    }
    if uses_cdn(env):
        body["provider"] = US_EAST_1  # attached by the distribution's web_acl_id
    # The CloudFront ACL ("cdn", the distribution's web_acl_id) has its own address: "main"
    # moved to the us-east-1 provider when `cdn` is turned on was looked for there, not
    # found, and created anew, leaving the regional ACL behind, unmanaged and billed
    # (found by the sandbox integration run, tests/integration/edge_stack.py).
    part.resource("aws_wafv2_web_acl", "cdn" if uses_cdn(env) else "main", body)
    if not uses_cdn(env):
        part.resource(
            "aws_wafv2_web_acl_association",
            "load_balancer",
            {"resource_arn": ref("aws_lb.main", "arn"), "web_acl_arn": ref(WEB_ACL, "arn")},
        )
    return part


def _managed(name: str, priority: int) -> dict[str, Any]:
    return {
        "name": name,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": {"name": name, "vendor_name": "AWS"}},
        "visibility_config": _visibility(name),
    }


def _rate_limit(priority: int) -> dict[str, Any]:
    return {
        "name": "rate-limit-per-ip",
        "priority": priority,
        "action": {"block": {}},
        "statement": {
            "rate_based_statement": {"limit": RATE_LIMIT_PER_5_MINUTES, "aggregate_key_type": "IP"}
        },
        "visibility_config": _visibility("rate-limit-per-ip"),
    }


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }
