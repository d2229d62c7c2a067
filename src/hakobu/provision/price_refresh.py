"""`hakobu cost --refresh`: the prices of a region asked from the AWS Price List API.

Each refreshable price is a `PriceQuery` (a `get_products` request and the usage type to
pick); what is found is written to the user-level file `prices.load_prices` lays over
the shipped table. Apart from prices.py so that a plain `hakobu cost` (and every command
that reads prices) does not define what only `--refresh` uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hakobu.aws.pricing import product_pages
from hakobu.provision.prices import (
    Price,
    PriceTable,
    fargate_key,
    load_prices_file,
    rds_instance_key,
    table_json,
)

# The Price List API answers only in these regions; us-east-1 serves every region's prices.
PRICING_API_REGION = "us-east-1"
MAX_PAGES = 10
# A usage type is "<region prefix>-<name>" ("APN1-NatGateway-Hours", "EU-...") or the bare
# name in us-east-1. Prefixes have a digit (or are "EU"), so "TS-LoadBalancerUsage" (the
# trust-store variant) is not mistaken for "LoadBalancerUsage" with a region prefix.
REGION_PREFIX = r"(?:[A-Z]{2,4}\d-|EU-)?"


@dataclass(frozen=True)
class PriceQuery:
    """One price to ask for: a `get_products` request and the usage type to pick."""

    key: str
    service_code: str
    usage_type: str
    unit: str
    attributes: tuple[tuple[str, str], ...] = ()

    def request(self, region: str) -> dict[str, Any]:
        # CONTAINS narrows the answer to this usage type whatever the region's prefix;
        # the exact name is checked again on each product (see `select_price`).
        region_field = "fromRegionCode" if self.service_code == "AWSDataTransfer" else "regionCode"
        filters = [
            {"Type": "TERM_MATCH", "Field": region_field, "Value": region},
            {"Type": "CONTAINS", "Field": "usagetype", "Value": self.usage_type},
            *({"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in self.attributes),
        ]
        return {
            "ServiceCode": self.service_code,
            "Filters": filters,
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }


def price_queries(instance_classes: Iterable[str]) -> list[PriceQuery]:
    """Every refreshable price hakobu's estimate uses (the Spot discount is not listed)."""
    alb = (("operation", "LoadBalancing:Application"),)
    single_az = (("deploymentOption", "Single-AZ"),)
    queries = [
        PriceQuery(fargate_key("vcpu_hour", "linux/amd64"), "AmazonECS",
                   "Fargate-vCPU-Hours:perCPU", "vCPU-hour"),
        PriceQuery(fargate_key("gb_hour", "linux/amd64"), "AmazonECS",
                   "Fargate-GB-Hours", "GB-hour"),
        PriceQuery(fargate_key("vcpu_hour", "linux/arm64"), "AmazonECS",
                   "Fargate-ARM-vCPU-Hours:perCPU", "vCPU-hour"),
        PriceQuery(fargate_key("gb_hour", "linux/arm64"), "AmazonECS",
                   "Fargate-ARM-GB-Hours", "GB-hour"),
        PriceQuery("alb.hour", "AWSELB", "LoadBalancerUsage", "ALB-hour", alb),
        PriceQuery("alb.lcu_hour", "AWSELB", "LCUUsage", "LCU-hour", alb),
        PriceQuery("nat.hour", "AmazonEC2", "NatGateway-Hours", "NAT Gateway-hour"),
        PriceQuery("nat.gb", "AmazonEC2", "NatGateway-Bytes", "GB processed"),
        PriceQuery("ipv4.hour", "AmazonVPC", "PublicIPv4:InUseAddress", "address-hour"),
        PriceQuery("rds.gp3.gb_month", "AmazonRDS", "RDS:GP3-Storage", "GB-month", single_az),
        PriceQuery("rds.extended_support.vcpu_hour", "AmazonRDS",
                   "ExtendedSupport:Yr1-Yr2:MySQL8.0", "vCPU-hour"),
        # Aurora Standard (provision/aurora_cost.py): the same price for MySQL and PostgreSQL.
        # Not its I/O: the Price List prices one request, the table a million of them.
        PriceQuery("rds.aurora.serverless_v2.acu_hour", "AmazonRDS",
                   "Aurora:ServerlessV2Usage", "ACU-hour"),
        PriceQuery("rds.aurora.storage.gb_month", "AmazonRDS", "Aurora:StorageUsage",
                   "GB-month"),
        PriceQuery("secrets.secret_month", "AWSSecretsManager", "AWSSecretsManager-Secrets",
                   "secret-month"),
        PriceQuery("logs.ingest_gb", "AmazonCloudWatch", "DataProcessing-Bytes", "GB ingested"),
        PriceQuery("logs.storage_gb_month", "AmazonCloudWatch", "TimedStorage-ByteHrs",
                   "GB-month stored"),
        PriceQuery("transfer.out_gb", "AWSDataTransfer", "DataTransfer-Out-Bytes",
                   "GB out to the internet"),
    ]  # fmt: skip
    for instance_class in sorted(set(instance_classes)):
        queries.append(
            PriceQuery(
                rds_instance_key(instance_class),
                "AmazonRDS",
                f"InstanceUsage:{instance_class}",
                "instance-hour",
                (("databaseEngine", "MySQL"), *single_az),
            )
        )
    return queries


@dataclass(frozen=True)
class Found:
    usd: float
    usage_type: str
    sku: str
    effective: str
    description: str


def select_price(price_list: Iterable[str], usage_type: str) -> Found | None:
    """The on-demand price of the product whose usage type is exactly `usage_type`.

    Each item is a JSON string shaped like AWS's: product.attributes.usagetype and
    terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD. Tiered prices (data
    transfer) give the first paid tier: the free allowance is an account-wide free tier.
    """
    wanted = re.compile(REGION_PREFIX + re.escape(usage_type))
    for item in price_list:
        document = json.loads(item)
        name = document["product"]["attributes"].get("usagetype", "")
        if not wanted.fullmatch(name):
            continue
        for term in document.get("terms", {}).get("OnDemand", {}).values():
            paid = [d for d in term["priceDimensions"].values() if _usd(d) > 0]
            if not paid:
                continue
            first = min(paid, key=lambda d: float(d.get("beginRange", "0")))
            return Found(
                _usd(first),
                name,
                document["product"].get("sku", ""),
                term.get("effectiveDate", ""),
                first.get("description", ""),
            )
    return None


def _usd(dimension: Mapping[str, Any]) -> float:
    return float(dimension["pricePerUnit"].get("USD", "0"))


def fetch(client: Any, query: PriceQuery, region: str) -> Found | None:
    for page in product_pages(client, query.request(region), MAX_PAGES):
        found = select_price(page, query.usage_type)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Change:
    key: str
    old: float | None
    new: float


@dataclass
class RefreshReport:
    region: str
    path: Path
    changes: list[Change] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def refresh(
    client: Any,
    region: str,
    queries: Iterable[PriceQuery],
    current: PriceTable,
    today: str,
    path: Path,
) -> RefreshReport:
    """Ask the Price List API for each query's price in `region`; save what was found."""
    report = RefreshReport(region, path)
    found: dict[str, Price] = {}
    for query in queries:
        result = fetch(client, query, region)
        if result is None:
            report.missing.append(query.key)
            continue
        found[query.key] = _price_of(query, result, today)
        old = current.get(region, query.key)
        report.changes.append(Change(query.key, old.usd if old else None, result.usd))
    if found:
        _save(path, PriceTable({region: found}))
    return report


def _price_of(query: PriceQuery, found: Found, today: str) -> Price:
    return Price(
        usd=found.usd,
        unit=query.unit,
        source=f"AWS Price List API: get_products {query.service_code} {found.usage_type}",
        taken=today,
        note=f"SKU {found.sku}, effective {found.effective or 'n/a'}: {found.description}",
    )


def _save(path: Path, new: PriceTable) -> None:
    """Merge into the user's file: a refresh of one region keeps the others'."""
    existing = PriceTable({})
    if path.is_file():
        existing = load_prices_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = existing.merged(new)
    path.write_text(json.dumps(table_json(merged), indent=2) + "\n", encoding="utf-8")
