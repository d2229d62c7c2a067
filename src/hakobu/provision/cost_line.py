"""One line of `hakobu cost`: a billed quantity x its unit price, with the price's source.

Its own module because cost.py, aurora_cost.py and edge_cost.py all price lines the same
way, and cost.py imports the other two for their lines.
"""

from __future__ import annotations

import msgspec

from hakobu.provision.prices import PriceTable


class CostLine(msgspec.Struct, frozen=True):
    group: str
    name: str
    quantity: float | None
    unit: str
    unit_price: float | None
    monthly: float | None
    price_key: str
    source: str | None
    taken: str | None
    assumption: str

    @property
    def known(self) -> bool:
        return self.monthly is not None


def priced(
    prices: PriceTable,
    region: str,
    head: tuple[str, str],
    key: str,
    amount: tuple[float | None, str],
    assumption: str,
    discount_key: str | None = None,
) -> CostLine:
    """One priced line: quantity x unit price, or unknown when a price is missing."""
    group, name = head
    quantity, unit = amount
    price = prices.get(region, key)
    discount = prices.get(region, discount_key) if discount_key else None
    missing = [k for k, p in ((key, price), (discount_key, discount)) if k and p is None]
    if missing or quantity is None or price is None:
        why = f"no price for {', '.join(missing)} in {region}" if missing else "quantity unknown"
        return CostLine(
            group, name, quantity, unit, None, None, key, None, None, f"{assumption}; {why}"
        )
    used = [price, discount] if discount else [price]
    unit_price = price.usd * ((1 - discount.usd) if discount else 1)
    return CostLine(
        group=group,
        name=name,
        quantity=quantity,
        unit=unit,
        unit_price=unit_price,
        monthly=quantity * unit_price,
        price_key=key,
        source=" + ".join(dict.fromkeys(p.source for p in used)),
        taken=min(p.taken for p in used),  # the oldest figure dates the line
        assumption=assumption,
    )
