"""The AWS Price List API: pages of products matching a filter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def product_pages(client: Any, request: dict[str, Any], max_pages: int) -> Iterator[list[str]]:
    """The `PriceList` of each page of `get_products` (JSON strings), at most `max_pages`."""
    token: str | None = None
    for _ in range(max_pages):
        response = client.get_products(**request, **({"NextToken": token} if token else {}))
        yield response.get("PriceList", [])
        token = response.get("NextToken")
        if not token:
            return
