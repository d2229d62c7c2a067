"""CloudFront: the distribution that serves a host name."""

from __future__ import annotations

from typing import Any


def distribution_domain(cloudfront: Any, alias: str) -> str | None:
    """The domain name (`dxxxx.cloudfront.net`) of the distribution with `alias` among its
    alternate names, or None if no distribution has it."""
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for item in (page.get("DistributionList") or {}).get("Items") or []:
            if alias in (item.get("Aliases") or {}).get("Items", []):
                return str(item["DomainName"])
    return None
