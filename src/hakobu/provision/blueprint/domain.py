"""The environment's own host name: an ACM certificate validated through DNS and the records
that send the name to the load balancer (or to CloudFront with `cdn = true`).

The hosted zone is the user's: it is read with a data source, so `destroy` can never delete
it, and only the records written here are hakobu's. With `dns = "external"` no record is
written; `hakobu domain status` prints the ones to add, and `up` waits (Terraform shows
the wait) until ACM sees the validation record and issues the certificate.
"""

from __future__ import annotations

from typing import Any

from hakobu.core.config import Environment
from hakobu.core.config.edge import DomainSettings
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.https import CERTIFICATE, CERTIFICATE_VALIDATION
from hakobu.provision.blueprint.load_balancer import LOAD_BALANCER

ZONE = "data.aws_route53_zone.main"
# Validation records change rarely and ACM re-reads them for renewals: a minute is enough.
VALIDATION_TTL_SECONDS = 60
# ACM gives up on DNS validation after 72 h; an hour covers adding a record by hand at
# another DNS provider, after which `up` stops waiting and says so.
VALIDATION_WAIT = "1h"


def domain_of(env: Environment) -> DomainSettings | None:
    return env.settings.domain


def origin_name(settings: DomainSettings) -> str:
    """With a CDN, the name CloudFront connects to (the ALB), covered by the certificate."""
    return f"origin.{settings.name}"


def domain(env: Environment) -> Fragment:
    part = Fragment("domain")
    settings = domain_of(env)
    if settings is None:
        return part
    assert settings.name is not None  # checked when hakobu.toml was read
    names = [settings.name, *([origin_name(settings)] if settings.cdn else [])]
    certificate(part, env, "main", names)
    if not settings.external:
        part.data_source("aws_route53_zone", "main", {"name": settings.zone, "private_zone": False})
        validation_records(part, "certificate_validation", CERTIFICATE)
    validation(part, "main", CERTIFICATE, "certificate_validation", settings.external)
    if not settings.external:
        # With a CDN the public name is CloudFront's (see blueprint.cdn); the ALB is the origin.
        if settings.cdn:
            # A only: CloudFront reaches the origin over IPv4 (blueprint.security).
            alias(part, "origin", origin_name(settings), "A", _alb_target())
        else:
            for kind in ("A", "AAAA"):  # the ALB is dual-stack with a domain (blueprint.network)
                alias(part, "app", settings.name, kind, _alb_target())
    part.output("url", f"https://{settings.name}", "The app's public address (HTTPS)")
    return part


def certificate(part: Fragment, env: Environment, name: str, domains: list[str]) -> str:
    body: dict[str, Any] = {
        "domain_name": domains[0],
        "validation_method": "DNS",
        # A renamed domain gets its new certificate before the listener lets go of the old.
        "lifecycle": {"create_before_destroy": True},
        "tags": {"Name": f"{Names.of(env).prefix}-{domains[0]}"},
    }
    if domains[1:]:
        body["subject_alternative_names"] = domains[1:]
    return part.resource("aws_acm_certificate", name, body)


def validation_records(part: Fragment, name: str, certificate_address: str) -> None:
    """One CNAME per name ACM asks to validate, in the user's zone."""
    options = f"{certificate_address}.domain_validation_options"
    record = (
        "{name = o.resource_record_name, record = o.resource_record_value, "
        "type = o.resource_record_type}"
    )
    part.resource(
        "aws_route53_record",
        name,
        {
            "for_each": "${{for o in " + options + " : o.domain_name => " + record + "}}",
            "zone_id": ref(ZONE, "zone_id"),
            "name": "${each.value.name}",
            "type": "${each.value.type}",
            "records": ["${each.value.record}"],
            "ttl": VALIDATION_TTL_SECONDS,
            # The same CNAME validates a name in every region (the CDN's us-east-1
            # certificate too) and may already exist from an earlier certificate.
            "allow_overwrite": True,
        },
    )


def validation(
    part: Fragment,
    name: str,
    certificate_address: str,
    records: str,
    external: bool,
    provider: str | None = None,
) -> None:
    """Wait until ACM has issued the certificate; nothing may use it before."""
    body: dict[str, Any] = {
        "certificate_arn": ref(certificate_address, "arn"),
        "timeouts": {"create": VALIDATION_WAIT},
    }
    if not external:
        body["validation_record_fqdns"] = f"${{[for r in aws_route53_record.{records} : r.fqdn]}}"
    if provider:
        body["provider"] = provider
    part.resource("aws_acm_certificate_validation", name, body)


def alias(part: Fragment, name: str, host: str, kind: str, target: dict[str, Any]) -> None:
    part.resource(
        "aws_route53_record",
        f"{name}_{kind.lower()}",
        {"zone_id": ref(ZONE, "zone_id"), "name": host, "type": kind, "alias": target},
    )


def _alb_target() -> dict[str, Any]:
    return {
        "name": ref(LOAD_BALANCER, "dns_name"),
        "zone_id": ref(LOAD_BALANCER, "zone_id"),
        # Route 53 weighs in the ALB's own health (it matters once a failover record exists).
        "evaluate_target_health": True,
    }


__all__ = ["CERTIFICATE_VALIDATION", "ZONE", "domain", "domain_of", "origin_name"]
