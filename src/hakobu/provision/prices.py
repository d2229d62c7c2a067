"""The price table behind `hakobu cost`: shipped per region, refreshable from AWS.

Every price carries its source and the date it was taken, because a cost estimate is only
as good as the figures under it and prices change. A price hakobu does not have is
absent, never guessed: the estimate then marks the line unknown. `hakobu cost --refresh`
(provision/price_refresh.py) asks the AWS Price List API (`pricing.get_products`) and
writes what it finds to a user-level file that overrides the shipped table; the installed
package is never written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import asdict

from hakobu.core.errors import HakobuError

TABLE_VERSION = 1
ANY_REGION = "*"


class Price(msgspec.Struct, frozen=True):
    usd: float
    unit: str
    source: str
    taken: str
    note: str = ""


class PriceTable(msgspec.Struct, frozen=True):
    """Prices by region and key; the "*" region holds prices AWS sets the same everywhere."""

    regions: Mapping[str, Mapping[str, Price]]

    def get(self, region: str, key: str) -> Price | None:
        found = self.regions.get(region, {}).get(key)
        return found if found is not None else self.regions.get(ANY_REGION, {}).get(key)

    def merged(self, override: PriceTable) -> PriceTable:
        """This table with every entry of `override` replacing the one of the same key."""
        names = set(self.regions) | set(override.regions)
        return PriceTable(
            {
                name: {**self.regions.get(name, {}), **override.regions.get(name, {})}
                for name in names
            }
        )


# --- Keys: one name per price, shared by the estimate and the refresh -------------------


def fargate_key(dimension: str, platform: str) -> str:
    """`fargate.vcpu_hour.x86`, `fargate.gb_hour.arm`, ..."""
    return f"fargate.{dimension}.{'arm' if platform == 'linux/arm64' else 'x86'}"


def rds_instance_key(instance_class: str) -> str:
    return f"rds.mysql.{instance_class}.hour"


# --- Loading ------------------------------------------------------------------------------


def user_prices_path() -> Path:
    """Where `--refresh` writes: a cache, since the shipped table remains the fallback."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hakobu" / "prices.json"


def shipped_prices() -> PriceTable:
    table = resources.files("hakobu.provision").joinpath("data/prices.json")
    text = table.read_text(encoding="utf-8")
    return parse_table(json.loads(text), "the shipped price table")


def load_prices(override: Path | None = None) -> PriceTable:
    """The shipped table, with the user's refreshed prices (if any) laid over it."""
    table = shipped_prices()
    path = override or user_prices_path()
    if not path.is_file():
        return table
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HakobuError(
            f"the refreshed price file {path} cannot be read ({exc})",
            "delete it to use the shipped prices, or run `hakobu cost --refresh` again",
        ) from None
    return table.merged(parse_table(raw, str(path)))


def parse_table(raw: Any, origin: str) -> PriceTable:
    try:
        if raw["version"] != TABLE_VERSION:
            raise ValueError(f"version {raw['version']!r}, expected {TABLE_VERSION}")
        regions = {
            region: {key: Price(**entry) for key, entry in entries.items()}
            for region, entries in raw["regions"].items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise HakobuError(
            f"{origin} is not a hakobu price table ({exc})",
            "delete it to use the shipped prices, or run `hakobu cost --refresh` again",
        ) from None
    return PriceTable(regions)


def table_json(table: PriceTable) -> dict[str, Any]:
    return {
        "version": TABLE_VERSION,
        "regions": {
            region: {key: asdict(price) for key, price in sorted(entries.items())}
            for region, entries in sorted(table.regions.items())
        },
    }


def load_prices_file(path: Path) -> PriceTable:
    try:
        return parse_table(json.loads(path.read_text(encoding="utf-8")), str(path))
    except (ValueError, HakobuError):
        return PriceTable({})  # an unreadable cache is replaced by the refresh, not fatal
