"""What `hakobu cost` shows, ready to render as text or JSON: the estimate of one
environment (or of it with another profile), each profile's total, the prices used and,
with `--refresh`, what the AWS Price List API changed.

The numbers come from `provision.cost` (pure) and `provision.prices` (the shipped table
and the user's refreshed prices). No AWS call is made unless `fresh` asks for prices.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import asdict

from hakobu.core.config import PROFILES, Environment
from hakobu.core.config.schema import DEFAULT_INSTANCE_CLASS
from hakobu.core.errors import PreflightError
from hakobu.provision.cost import (
    GUIDE_REGION,
    GUIDE_TOTAL,
    CostEstimate,
    ProfileTotal,
    estimate,
    guide_comparison,
    profile_totals,
)
from hakobu.provision.prices import Price, load_prices, user_prices_path
from hakobu.provision.what_if import environment_and_file

if TYPE_CHECKING:  # imported by --refresh alone (_refresh)
    from hakobu.provision.price_refresh import RefreshReport


class CostView(msgspec.Struct, frozen=True):
    """Everything `hakobu cost` shows, ready to render as text or JSON."""

    estimate: CostEstimate
    profiles: list[ProfileTotal]
    prices: dict[str, Price]
    refreshed: RefreshReport | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            **self.estimate.as_json(),
            "profiles": {total.profile: total.as_json() for total in self.profiles},
            "guide_comparison": _guide_json(self.estimate),
            "prices": {key: asdict(price) for key, price in sorted(self.prices.items())},
            "refreshed": _refresh_json(self.refreshed),
        }


def build_view(config: Path, env_name: str | None, profile: str | None, fresh: bool) -> CostView:
    """The whole view for `hakobu cost`; `fresh` first refreshes the region's prices."""
    env, raw = environment_and_file(config, env_name, profile)
    report = _refresh(env) if fresh else None
    prices = load_prices()
    result = estimate(env, prices)
    used = {line.price_key: prices.get(env.region, line.price_key) for line in result.lines}
    return CostView(
        estimate=result,
        profiles=profile_totals(raw, env, prices),
        prices={key: price for key, price in used.items() if price is not None},
        refreshed=report,
    )


def _refresh(env: Environment) -> RefreshReport:
    import boto3  # lazily: only --refresh talks to AWS

    from hakobu.core.target import Target
    from hakobu.provision.price_refresh import PRICING_API_REGION, price_queries, refresh

    if boto3.Session().get_credentials() is None:
        raise PreflightError(
            "--refresh asks the AWS Price List API, which needs AWS credentials; none were found",
            "run `aws configure` (or set AWS_PROFILE), or leave out --refresh to use the "
            "prices shipped with hakobu",
        )
    default_class = DEFAULT_INSTANCE_CLASS
    # The classes of every profile too, so the side-by-side totals use fresh prices.
    classes = {env.settings.database.instance_class} | {
        settings.get("database", {}).get("instance_class", default_class)
        for settings in PROFILES.values()
    }
    client = Target(region=PRICING_API_REGION).client("pricing")
    return refresh(
        client,
        env.region,
        price_queries(classes),
        load_prices(),
        date.today().isoformat(),
        user_prices_path(),
    )


def _guide_json(result: CostEstimate) -> dict[str, Any]:
    rows = [
        {"group": row.group, "spec": row.spec, "guide_usd": row.usd, "estimate_usd": _round(ours)}
        for row, ours in guide_comparison(result)
    ]
    return {"region": GUIDE_REGION, "guide_total_usd": GUIDE_TOTAL, "rows": rows}


def _refresh_json(report: RefreshReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "region": report.region,
        "path": str(report.path),
        "changes": [asdict(change) for change in report.changes],
        "missing": report.missing,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
