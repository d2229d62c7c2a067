"""`hakobu domain status`: is the certificate issued, and which DNS records are missing.

ACM issues a DNS-validated certificate once it sees the validation CNAME. In a Route 53
zone hakobu writes it; with `dns = "external"` the user adds it at their DNS provider,
plus the record that sends the name to the load balancer (or CloudFront): this lists them,
with values read from ACM and the load balancer, so they can be pasted as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hakobu.aws import acm, cloudfront, elbv2
from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.core.config.edge import DomainSettings
from hakobu.core.errors import ConfigError
from hakobu.core.names import Names
from hakobu.provision.blueprint.domain import origin_name

PENDING, ISSUED = "PENDING_VALIDATION", "ISSUED"
MISSING = "NOT_CREATED"


@dataclass(frozen=True)
class CertificateView:
    used_by: str  # "load balancer" or "CloudFront (us-east-1)"
    status: str  # ACM's status, or NOT_CREATED
    arn: str | None

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class DomainStatus:
    name: str
    dns: str  # "route53" (hakobu writes the records) or "external"
    url: str
    certificates: tuple[CertificateView, ...]
    records: tuple[dict[str, str], ...]  # external DNS: what to add; route53: ()

    @property
    def issued(self) -> bool:
        return all(c.status == ISSUED for c in self.certificates)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dns": self.dns,
            "url": self.url,
            "issued": self.issued,
            "certificates": [c.as_json() for c in self.certificates],
            "records_to_add": list(self.records),
        }


def settings_of(env: Environment) -> DomainSettings:
    settings = env.settings.domain
    if settings is None or settings.name is None:
        raise ConfigError(
            "domain",
            f"{env.name!r} has no [domain] section",
            'add [domain] with name = "app.example.com" and zone = "example.com" '
            '(or dns = "external") to hakobu.toml, then run `hakobu up`',
        )
    return settings


def domain_status(env: Environment, source: ClientSource, east: ClientSource) -> DomainStatus:
    """`east` gives us-east-1 clients: CloudFront's certificate lives there."""
    settings = settings_of(env)
    assert settings.name is not None
    found = [("load balancer", acm.certificate_for(source.client("acm"), settings.name))]
    if settings.cdn:
        found.append(
            ("CloudFront (us-east-1)", acm.certificate_for(east.client("acm"), settings.name))
        )
    certificates = tuple(_view(used_by, certificate) for used_by, certificate in found)
    records: list[dict[str, str]] = []
    if settings.external:
        records = _validation_records([c for _, c in found if c is not None])
        records += _routing_records(env, settings, source, east)
    return DomainStatus(
        settings.name, settings.dns, f"https://{settings.name}", certificates, tuple(records)
    )


def _view(used_by: str, certificate: dict[str, Any] | None) -> CertificateView:
    if certificate is None:
        return CertificateView(used_by, MISSING, None)
    return CertificateView(used_by, str(certificate["Status"]), str(certificate["CertificateArn"]))


def _validation_records(certificates: list[dict[str, Any]]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for certificate in certificates:
        for record in acm.validation_records(certificate):
            seen.setdefault(record["name"], {
                "name": record["name"],
                "type": record["type"],
                "value": record["value"],
                "why": f"validates the certificate for {record['for']}",
            })  # fmt: skip
    return list(seen.values())


def _routing_records(
    env: Environment, settings: DomainSettings, source: ClientSource, east: ClientSource
) -> list[dict[str, str]]:
    """CNAMEs to the load balancer (and CloudFront), once they exist."""
    assert settings.name is not None
    balancer = _load_balancer_dns(env, source)
    records = []
    if settings.cdn:
        if balancer:
            records.append(_cname(origin_name(settings), balancer, "CloudFront's origin"))
        distribution = _distribution_domain(settings.name, east)
        if distribution:
            records.append(_cname(settings.name, distribution, "the app, through CloudFront"))
    elif balancer:
        records.append(_cname(settings.name, balancer, "the app, on the load balancer"))
    return records


def _cname(name: str, value: str, why: str) -> dict[str, str]:
    return {"name": f"{name}.", "type": "CNAME", "value": value, "why": why}


def _load_balancer_dns(env: Environment, source: ClientSource) -> str | None:
    found = elbv2.load_balancer(source.client("elbv2"), Names.of(env).load_balancer)
    return str(found["DNSName"]) if found else None  # None: not created yet, or deep-paused


def _distribution_domain(name: str, east: ClientSource) -> str | None:
    return cloudfront.distribution_domain(east.client("cloudfront"), name)
