"""CloudFront, ACM and dual-stack subnets as `hakobu.sandbox.edge_gaps` makes the emulator
answer them: boto3
over HTTP against an in-process moto server with the answers installed, called as the
Terraform provider calls them (the distribution as hakobu's blueprint renders it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from hakobu.sandbox import edge_gaps
from tests.support.moto_server import Aws, moto_server

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server(edge_gaps) as server:
        yield server


def _behaviour(**extra: Any) -> dict[str, Any]:
    return {
        "TargetOriginId": "load-balancer",
        "ViewerProtocolPolicy": "redirect-to-https",
        "CachePolicyId": CACHING_DISABLED,
        **extra,
    }


def _distribution(aws: Aws, reference: str, certificate: dict[str, Any]) -> dict[str, Any]:
    cloudfront = aws.client("cloudfront", region="us-east-1")
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": reference,
            "Comment": "shop",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "load-balancer",
                        "DomainName": "origin.app.example.com",
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": _behaviour(),
            "CacheBehaviors": {
                "Quantity": 2,
                "Items": [
                    _behaviour(PathPattern="/assets/*"),
                    _behaviour(
                        PathPattern="/legacy/*",
                        ForwardedValues={"QueryString": True, "Cookies": {"Forward": "all"}},
                    ),
                ],
            },
            "ViewerCertificate": certificate,
        }
    )
    answer = cloudfront.get_distribution(Id=created["Distribution"]["Id"])
    config: dict[str, Any] = answer["Distribution"]["DistributionConfig"]
    return config


def test_a_behaviour_with_a_cache_policy_has_no_forwarded_values(aws: Aws) -> None:
    config = _distribution(
        aws, "cache-policy", {"ACMCertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}
    )
    assert "ForwardedValues" not in config["DefaultCacheBehavior"]
    static, legacy = config["CacheBehaviors"]["Items"]
    assert "ForwardedValues" not in static
    # What a behaviour did send is returned, as before.
    assert legacy["ForwardedValues"]["QueryString"] is True
    assert legacy["ForwardedValues"]["Cookies"]["Forward"] == "all"


def test_an_acm_certificate_is_not_the_default_certificate(aws: Aws) -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0d1e2f"
    own = _distribution(
        aws,
        "own-certificate",
        {"ACMCertificateArn": arn, "SSLSupportMethod": "sni-only",
         "MinimumProtocolVersion": "TLSv1.2_2021"},
    )["ViewerCertificate"]  # fmt: skip
    assert own["CloudFrontDefaultCertificate"] is False
    assert (own["ACMCertificateArn"], own["SSLSupportMethod"]) == (arn, "sni-only")
    default = _distribution(aws, "default-certificate", {})["ViewerCertificate"]
    assert default["CloudFrontDefaultCertificate"] is True


def _certificate(aws: Aws, name: str) -> tuple[Any, str, dict[str, str]]:
    acm = aws.client("acm")
    arn = acm.request_certificate(DomainName=name, ValidationMethod="DNS")["CertificateArn"]
    described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    record: dict[str, str] = described["DomainValidationOptions"][0]["ResourceRecord"]
    return acm, arn, record


def _status(acm: Any, arn: str) -> str:
    return str(acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"])


def test_a_certificate_in_a_zone_waits_for_its_record_then_is_issued(aws: Aws) -> None:
    route53 = aws.client("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="edge-gaps")
    zone_id = zone["HostedZone"]["Id"]
    acm, arn, record = _certificate(aws, "app.example.com")
    # No record yet: pending, however often it is asked (moto alone issued it after 60 s).
    assert [_status(acm, arn) for _ in range(3)] == ["PENDING_VALIDATION"] * 3
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": record["Name"], "Type": record["Type"], "TTL": 60,
            "ResourceRecords": [{"Value": record["Value"]}],
        }}]},
    )  # fmt: skip
    assert _status(acm, arn) == "ISSUED"  # at once: no minute of waiting for nothing
    described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert described["DomainValidationOptions"][0]["ValidationStatus"] == "SUCCESS"


def test_a_name_no_zone_holds_keeps_the_emulators_timer(aws: Aws) -> None:
    """dns = "external": the record is at another DNS provider the emulator cannot see."""
    acm, arn, _ = _certificate(aws, "shop.example.org")
    assert _status(acm, arn) == "PENDING_VALIDATION"


def _dual_stack_subnets(aws: Aws, cidr: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A VPC with an Amazon-provided /56 and two subnets given a /64 of it, as the provider
    does: one created with its block, one given it afterwards (a domain added later)."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=cidr, AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    [described] = ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"]
    [vpc_block] = described["Ipv6CidrBlockAssociationSet"]
    first, second = list(ipaddress.IPv6Network(vpc_block["Ipv6CidrBlock"]).subnets(8))[:2]
    created = ec2.create_subnet(
        VpcId=vpc["VpcId"], CidrBlock=cidr.replace(".0.0/16", ".1.0/24"),
        Ipv6CidrBlock=str(first), AvailabilityZone="ap-northeast-1a",
    )["Subnet"]  # fmt: skip
    later = ec2.create_subnet(
        VpcId=vpc["VpcId"], CidrBlock=cidr.replace(".0.0/16", ".2.0/24"),
        AvailabilityZone="ap-northeast-1c",
    )["Subnet"]  # fmt: skip
    ec2.associate_subnet_cidr_block(SubnetId=later["SubnetId"], Ipv6CidrBlock=str(second))
    return ec2, created, later


def _blocks(ec2: Any, subnet: dict[str, Any]) -> list[dict[str, Any]]:
    [listed] = ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"]
    return list(listed.get("Ipv6CidrBlockAssociationSet", []))


def _subnets_where(ec2: Any, name: str, value: str) -> list[str]:
    answer = ec2.describe_subnets(Filters=[{"Name": name, "Values": [value]}])
    return sorted(subnet["SubnetId"] for subnet in answer["Subnets"])


def test_a_subnets_ipv6_block_reads_associated(aws: Aws) -> None:
    """The provider waits for a new block to read "associated"; moto's nested state made it
    wait until its 3-minute timeout."""
    ec2, created, later = _dual_stack_subnets(aws, "10.10.0.0/16")
    for subnet in (created, later):
        [association] = _blocks(ec2, subnet)
        assert ipaddress.IPv6Network(association["Ipv6CidrBlock"]).prefixlen == 64
        assert association["Ipv6CidrBlockState"] == {"State": "associated"}
        assert association["AssociationId"].startswith("subnet-cidr-assoc-")
    # Disassociated, a block is no longer listed (as on AWS once it is gone).
    ec2.disassociate_subnet_cidr_block(AssociationId=association["AssociationId"])
    assert _blocks(ec2, later) == []


def test_subnets_are_found_by_their_ipv6_blocks(aws: Aws) -> None:
    """The provider finds a block it added by its association id (moto: HTTP 500)."""
    ec2, created, later = _dual_stack_subnets(aws, "10.20.0.0/16")
    [association] = _blocks(ec2, later)
    prefix = "ipv6-cidr-block-association"
    by_id = _subnets_where(ec2, f"{prefix}.association-id", association["AssociationId"])
    assert by_id == [later["SubnetId"]]
    by_block = _subnets_where(ec2, f"{prefix}.ipv6-cidr-block", association["Ipv6CidrBlock"])
    assert by_block == [later["SubnetId"]]
    associated = _subnets_where(ec2, f"{prefix}.state", "associated")
    assert {created["SubnetId"], later["SubnetId"]} <= set(associated)
    # The filters moto had are answered as before.
    assert _subnets_where(ec2, "subnet-id", created["SubnetId"]) == [created["SubnetId"]]


def test_install_twice_patches_once(aws: Aws) -> None:
    from moto.acm.models import CertBundle

    check = CertBundle.check
    edge_gaps.install()
    assert CertBundle.check is check
