"""ACM: the certificate for a host name, its status and the DNS records that validate it."""

from __future__ import annotations

from typing import Any


def certificate_for(acm: Any, domain: str) -> dict[str, Any] | None:
    """The newest certificate whose main name is `domain` (any status), described."""
    arns = [
        summary["CertificateArn"]
        for page in acm.get_paginator("list_certificates").paginate()
        for summary in page.get("CertificateSummaryList", [])
        if summary.get("DomainName") == domain
    ]
    described = [acm.describe_certificate(CertificateArn=arn)["Certificate"] for arn in arns]
    if not described:
        return None
    return max(described, key=lambda c: c.get("CreatedAt") or 0)


def validation_records(certificate: dict[str, Any]) -> list[dict[str, str]]:
    """The CNAMEs ACM waits for, once per record (names in one zone often share one)."""
    records: dict[str, dict[str, str]] = {}
    for option in certificate.get("DomainValidationOptions", []):
        record = option.get("ResourceRecord")
        if record:
            records[record["Name"]] = {
                "name": record["Name"],
                "type": record["Type"],
                "value": record["Value"],
                "for": option["DomainName"],
                "status": option.get("ValidationStatus", ""),
            }
    return list(records.values())
