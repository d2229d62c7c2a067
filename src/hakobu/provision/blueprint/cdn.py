"""CloudFront in front of the load balancer (`[domain] cdn = true`).

The framework's static files are cached at the edge for as long as they say (Rails and
Django fingerprint them, so a deploy changes their names, never their contents);
everything else passes through uncached with every header, cookie and query string. The
ALB is the origin under `origin.<name>` over HTTPS, and its security group admits only
CloudFront's origin-facing addresses (see `blueprint.security`), so nobody bypasses the CDN.
CloudFront takes certificates from us-east-1 only, hence a second provider configuration.
"""

from __future__ import annotations

from typing import Any

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.domain import (
    alias,
    certificate,
    domain_of,
    origin_name,
    validation,
)

US_EAST_1 = "aws.us_east_1"
DISTRIBUTION = "aws_cloudfront_distribution.main"
CDN_CERTIFICATE = "aws_acm_certificate.cdn"
ORIGIN_ID = "load-balancer"
# AWS-managed policies, by their documented fixed ids (the same in every account): a data
# source lookup by name would need the cache-policy API at plan time for nothing.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # honours Cache-Control, max 1 y
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"  # every header, cookie and query string
STATIC_PATHS = {"rails": "/assets/*", "django": "/static/*"}
# Edge locations in North America, Europe, Asia (Japan included), the Middle East and
# Africa: the guide's users are in Japan, which PriceClass_100 would serve from the US.
PRICE_CLASS = "PriceClass_200"
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]


def uses_cdn(env: Environment) -> bool:
    settings = domain_of(env)
    return settings is not None and settings.cdn


def cdn(env: Environment) -> Fragment:
    part = Fragment("cdn")
    settings = domain_of(env)
    if settings is None or not settings.cdn:
        return part
    assert settings.name is not None
    part.providers.append({"alias": "us_east_1", "region": "us-east-1"})
    certificate(part, env, "cdn", [settings.name])
    part.resources["aws_acm_certificate"]["cdn"]["provider"] = US_EAST_1
    # ACM asks for the same CNAME for a name in every region of an account: the records
    # written for the regional certificate validate this one too (a second resource for
    # the same record would fight over it, and fail deleting it twice).
    validation(part, "cdn", CDN_CERTIFICATE, "certificate_validation", settings.external, US_EAST_1)
    part.resource("aws_cloudfront_distribution", "main", _distribution(env))
    if not settings.external:
        target = {
            "name": ref(DISTRIBUTION, "domain_name"),
            "zone_id": ref(DISTRIBUTION, "hosted_zone_id"),
            "evaluate_target_health": False,  # CloudFront reports no health to Route 53
        }
        for kind in ("A", "AAAA"):  # CloudFront answers over IPv6 too
            alias(part, "app", settings.name, kind, target)
    part.output("cdn_domain", ref(DISTRIBUTION, "domain_name"), "The CloudFront distribution")
    return part


def _distribution(env: Environment) -> dict[str, Any]:
    settings = domain_of(env)
    assert settings is not None and settings.name is not None
    body: dict[str, Any] = {
        "enabled": True,
        "is_ipv6_enabled": True,
        "comment": f"{Names.of(env).prefix}: {settings.name}",
        "aliases": [settings.name],
        "price_class": PRICE_CLASS,
        "http_version": "http2and3",
        "origin": [
            {
                "origin_id": ORIGIN_ID,
                "domain_name": origin_name(settings),
                "custom_origin_config": {
                    "http_port": 80,
                    "https_port": 443,
                    "origin_protocol_policy": "https-only",
                    "origin_ssl_protocols": ["TLSv1.2"],
                },
            }
        ],
        "default_cache_behavior": _behavior(CACHING_DISABLED, ALL_VIEWER, ALL_METHODS),
        "restrictions": {"geo_restriction": {"restriction_type": "none"}},
        "viewer_certificate": {
            "acm_certificate_arn": ref("aws_acm_certificate_validation.cdn", "certificate_arn"),
            "ssl_support_method": "sni-only",
            # TLS 1.2 and 1.3 with forward-secret ciphers only: CloudFront's recommended policy.
            "minimum_protocol_version": "TLSv1.2_2021",
        },
    }
    static = STATIC_PATHS.get(env.framework)
    if static:
        body["ordered_cache_behavior"] = [
            {"path_pattern": static, **_behavior(CACHING_OPTIMIZED, None, ["GET", "HEAD"])}
        ]
    if settings.waf:
        body["web_acl_id"] = ref("aws_wafv2_web_acl.cdn", "arn")  # blueprint.waf
    return body


def _behavior(cache: str, origin_request: str | None, methods: list[str]) -> dict[str, Any]:
    behavior: dict[str, Any] = {
        "target_origin_id": ORIGIN_ID,
        "viewer_protocol_policy": "redirect-to-https",
        "allowed_methods": methods,
        "cached_methods": ["GET", "HEAD"],
        "cache_policy_id": cache,
        "compress": True,
    }
    if origin_request:
        behavior["origin_request_policy_id"] = origin_request
    return behavior
