"""What the production edge adds to `hakobu cost`: DNS, CDN, alarms and the dashboard, WAF.

ACM public certificates and Application Auto Scaling are free; auto scaling's cost is the
Fargate tasks it runs, which `cost` prices at the configured count (the note gives the
range). Usage hakobu.toml cannot tell is an assumption, printed with the line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from hakobu.core.config import Environment
from hakobu.provision.cost_line import CostLine, priced
from hakobu.provision.edge_parts import MANAGED_GROUPS, ROLLBACK_KEYS, specs
from hakobu.provision.prices import PriceTable

if TYPE_CHECKING:  # cost.py imports this module for its groups
    from hakobu.provision.cost import Assumptions

DNS, CDN, ALARMS, WAF = "Route 53", "CloudFront", "CloudWatch alarms", "AWS WAF"
EDGE_GROUPS = (DNS, CDN, ALARMS, WAF)
# A metric-math rate alarm (5xx / requests) evaluates two metrics and pays for each.
METRICS_PER_RATE_ALARM = 2


class EdgeUsage(msgspec.Struct, frozen=True):
    """Traffic the edge parts bill by; a small production app's month."""

    requests_million: float = 1.0
    alarm_mails: int = 100


def edge_lines(
    env: Environment, prices: PriceTable, usage: Assumptions, edge: EdgeUsage | None = None
) -> list[CostLine]:
    traffic = edge or EdgeUsage()
    return [
        *_dns(env, prices),
        *_cdn(env, prices, usage, traffic),
        *_alarms(env, prices, traffic),
        *_waf(env, prices, traffic),
    ]


def _dns(env: Environment, prices: PriceTable) -> list[CostLine]:
    domain = env.settings.domain
    if domain is None or domain.external:
        return []
    return [
        priced(prices, env.region, (DNS, f"Hosted zone {domain.zone}"), "route53.hosted_zone_month",
               (1, "zone-months"), "your existing zone (already billed if you keep it anyway)"),
        priced(prices, env.region, (DNS, "DNS queries"), "route53.queries_million",
               (0, "million queries"),
               "alias queries to the ALB or CloudFront are free; ACM's certificate is free"),
    ]  # fmt: skip


def _cdn(
    env: Environment, prices: PriceTable, usage: Assumptions, traffic: EdgeUsage
) -> list[CostLine]:
    domain = env.settings.domain
    if domain is None or not domain.cdn:
        return []
    return [
        priced(prices, env.region, (CDN, "CloudFront HTTPS requests"),
               "cloudfront.https_requests_10k.japan",
               (traffic.requests_million * 100, "10k requests"),
               f"assumed {traffic.requests_million:g} million requests a month, at Japan's rate "
               "(the always-free tier covers 10 million)"),
        priced(prices, env.region, (CDN, "CloudFront data transfer out"),
               "cloudfront.transfer_out_gb.japan", (usage.transfer_out_gb, "GB"),
               f"the same {usage.transfer_out_gb:g} GB, served by CloudFront (the always-free "
               "tier covers 1 TB); ALB-to-CloudFront transfer is free, so the data transfer "
               "line above is an upper bound"),
    ]  # fmt: skip


def _alarms(env: Environment, prices: PriceTable, traffic: EdgeUsage) -> list[CostLine]:
    if env.settings.alarms is None:
        return []
    alarms = specs(env)
    metrics = sum(METRICS_PER_RATE_ALARM if s.key in ROLLBACK_KEYS else 1 for s in alarms)
    recipients = len(env.settings.alarms.email)
    return [
        priced(prices, env.region, (ALARMS, f"{len(alarms)} alarms"),
               "cloudwatch.alarm_metric_month", (metrics, "alarm-metrics"),
               f"{len(alarms)} alarms evaluating {metrics} metrics (the two 5xx rates use 2 each)"),
        priced(prices, env.region, (ALARMS, "Dashboard"), "cloudwatch.dashboard_month",
               (1, "dashboards"), "free if the account has fewer than 3 other dashboards"),
        priced(prices, env.region, (ALARMS, "Alarm e-mails"), "sns.email_100k",
               (traffic.alarm_mails * recipients / 100_000, "100k mails"),
               f"assumed {traffic.alarm_mails} mails a month to {recipients} address(es); the "
               "first 1,000 are free"),
    ]  # fmt: skip


def _waf(env: Environment, prices: PriceTable, traffic: EdgeUsage) -> list[CostLine]:
    domain = env.settings.domain
    if domain is None or not domain.waf:
        return []
    rules = len(MANAGED_GROUPS) + 1  # the managed groups and the rate limit
    return [
        priced(prices, env.region, (WAF, "Web ACL"), "waf.web_acl_month", (1, "web ACLs"),
               "one web ACL"),
        priced(prices, env.region, (WAF, f"{rules} rules"), "waf.rule_month", (rules, "rules"),
               "AWS's common and known-bad-inputs rule groups, and the per-IP rate limit"),
        priced(prices, env.region, (WAF, "Requests inspected"), "waf.requests_million",
               (traffic.requests_million, "million requests"),
               f"assumed {traffic.requests_million:g} million requests a month"),
    ]  # fmt: skip


def scaling_note(env: Environment) -> list[str]:
    settings = env.settings.autoscaling
    if settings is None:
        return []
    return [
        f"Auto scaling runs {settings.min} to {settings.max} task(s); Fargate above is priced "
        f"at the configured count ({env.settings.service.desired_count}), each task more "
        "costs what one task costs. Application Auto Scaling and ACM certificates are free."
    ]
