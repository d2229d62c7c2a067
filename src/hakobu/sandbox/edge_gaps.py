"""The production edge in the emulator: CloudFront read back as AWS returns it, and ACM
issuing a DNS-validated certificate when its validation record exists, as AWS does.

Found with `TF_LOG=DEBUG` on `aws_cloudfront_distribution`: moto's GetDistribution adds
`ForwardedValues` to every cache behaviour that sent none (a behaviour with a cache policy
has none on AWS) and `CloudFrontDefaultCertificate = true` beside an ACM certificate, so
the provider planned to remove both on every run. And moto issues every DNS-validated
certificate 60 s after it was requested, records or not: a certificate in a zone of the
emulator whose record is missing was "issued" all the same, and one whose record exists
made every `up` wait a minute for nothing. With [domain] the ALB is dual-stack, and
moto's DescribeSubnets wraps a subnet's IPv6 block state in a second dict, so its `State`
reads "{'State': 'associated'}": the provider waited for "associated" until its 3-minute
timeout and failed `aws_subnet` with an IPv6 block. Adding a block to an existing subnet
(a domain added to a running stack) failed the same way: the provider finds the new
association with the `ipv6-cidr-block-association.association-id` filter, which moto
answered with HTTP 500 (filter not implemented).

Installed by `sandbox/server.py` beside `moto_gaps`; tests in tests/sandbox/test_edge_gaps.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hakobu.sandbox.patching import Patches

_patches = Patches()
PENDING, ISSUED = "PENDING_VALIDATION", "ISSUED"


def install() -> None:
    """Add the answers to moto's models; a second call changes nothing."""
    from moto.acm.models import CertBundle
    from moto.cloudfront.models import DefaultCacheBehaviour, ViewerCertificate
    from moto.ec2.models.subnets import Subnet

    with _patches.lock:
        if _patches:
            return
        # CloudFront: a cache behaviour keeps ForwardedValues only if it sent them (it
        # is the legacy alternative to a cache policy); CacheBehaviour inherits this.
        _patches.wrap(DefaultCacheBehaviour, "__init__", _behaviour)
        # CloudFront: CloudFrontDefaultCertificate is true only without a certificate.
        _patches.wrap(ViewerCertificate, "__init__", _viewer_certificate)
        # ACM: a name inside a hosted zone of the emulator is validated by its record
        # there, at once; a name no zone holds (dns = "external") keeps moto's timer.
        _patches.wrap(CertBundle, "check", _check_certificate)
        # EC2: a subnet's IPv6 block state as AWS writes it ({"State": "associated"}).
        _patches.replace_property(Subnet, "ipv6_cidr_block_association_set", _subnet_ipv6)
        # EC2: DescribeSubnets filters on the IPv6 blocks (the provider's waiter uses one).
        _patches.wrap(Subnet, "get_filter_value", _subnet_filter)


def uninstall() -> None:
    """Undo `install()` (for tests that run moto in their own process)."""
    _patches.undo()


# --- CloudFront -----------------------------------------------------------------------------


def _behaviour(original: Callable[..., None], behaviour: Any, config: dict[str, Any]) -> None:
    original(behaviour, config)
    if "ForwardedValues" not in config:
        behaviour.forwarded_values = None  # not serialized: absent, as on AWS


def _viewer_certificate(
    original: Callable[..., None], certificate: Any, config: dict[str, Any]
) -> None:
    original(certificate, config)
    if "CloudFrontDefaultCertificate" not in config:
        own = config.get("ACMCertificateArn") or config.get("IAMCertificateId")
        certificate.cloud_front_default_certificate = not own


# --- EC2: the dual-stack ALB's subnets ------------------------------------------------------


def _subnet_ipv6(subnet: Any) -> list[dict[str, Any]]:
    """The subnet's associated IPv6 blocks, each state once ({"State": ...}), not nested."""
    return [
        {
            "ipv6CidrBlock": association["ipv6CidrBlock"],
            "associationId": association["associationId"],
            "ipv6CidrBlockState": dict(association["ipv6CidrBlockState"]),
        }
        for association in subnet.ipv6_cidr_block_associations.values()
        if association["ipv6CidrBlockState"]["State"] == "associated"
    ]


IPV6_FILTERS = {
    "ipv6-cidr-block-association.association-id": "associationId",
    "ipv6-cidr-block-association.ipv6-cidr-block": "ipv6CidrBlock",
}


def _subnet_filter(
    original: Callable[..., Any], subnet: Any, name: str, method: str | None = None
) -> Any:
    associations = subnet.ipv6_cidr_block_associations.values()
    if name in IPV6_FILTERS:
        return [str(a[IPV6_FILTERS[name]]) for a in associations]
    if name == "ipv6-cidr-block-association.state":
        return [str(a["ipv6CidrBlockState"]["State"]) for a in associations]
    return original(subnet, name, method)


# --- ACM ------------------------------------------------------------------------------------


def _check_certificate(original: Callable[..., None], bundle: Any) -> None:
    if bundle.type != "AMAZON_ISSUED" or bundle.status != PENDING:
        original(bundle)
        return
    records = _validation_records(bundle)
    zones = _zones(bundle.arn.split(":")[4])
    held = [record for record in records if _zone_for(record["Name"], zones) is not None]
    if not held:
        original(bundle)  # no zone here holds a name: the DNS is elsewhere
        return
    if all(_published(record, _zone_for(record["Name"], zones)) for record in held):
        bundle.status = ISSUED


def _validation_records(bundle: Any) -> list[dict[str, str]]:
    options = bundle.describe()["Certificate"].get("DomainValidationOptions", [])
    return [o["ResourceRecord"] for o in options if "ResourceRecord" in o]


def _zones(account_id: str) -> list[Any]:
    from moto.route53.models import route53_backends

    return [z for z in route53_backends[account_id]["aws"].zones.values() if not z.private_zone]


def _zone_for(name: str, zones: list[Any]) -> Any:
    """The most specific public zone that holds `name`, or None."""
    fqdn = name.rstrip(".").lower()
    holding = [zone for zone in zones if _inside(fqdn, zone.name.rstrip(".").lower())]
    return max(holding, key=lambda zone: len(zone.name), default=None)


def _inside(fqdn: str, zone: str) -> bool:
    return fqdn == zone or fqdn.endswith("." + zone)


def _published(record: dict[str, str], zone: Any) -> bool:
    wanted = (record["Name"].rstrip(".").lower(), record["Type"], record["Value"].rstrip("."))
    return any(
        (rrset.name.rstrip(".").lower(), rrset.type, _value(value).rstrip(".")) == wanted
        for rrset in zone.rrsets
        for value in rrset.records or []
    )


def _value(record: Any) -> str:
    """moto keeps a ChangeResourceRecordSets value as {"Value": v}, others as the string."""
    return str(record["Value"] if isinstance(record, dict) else record)
