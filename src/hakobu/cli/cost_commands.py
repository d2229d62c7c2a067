"""hakobu cost: the monthly estimate, its assumptions, the other profiles' totals.

The numbers come from `provision.cost` (pure) and `provision.prices` (the shipped table and the
user's refreshed prices); this module parses, calls and renders. No AWS call is made
unless `--refresh` asks the Price List API for fresh prices.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hakobu.cli.app import ConfigOpt, EnvArg, JsonOpt, app, out
from hakobu.core.config import (
    CONFIG_FILE,
    PROFILES,
    DatabaseSettings,
    Environment,
    load_project,
    with_profile,
)
from hakobu.core.errors import PreflightError
from hakobu.core.target import Target
from hakobu.provision.cost import (
    GROUPS,
    GUIDE_REGION,
    GUIDE_TABLE,
    GUIDE_TOTAL,
    HOURS_PER_MONTH,
    CostEstimate,
    ProfileTotal,
    estimate,
    guide_comparison,
    profile_totals,
)
from hakobu.provision.prices import (
    PRICING_API_REGION,
    Price,
    RefreshReport,
    load_prices,
    price_queries,
    refresh,
    user_prices_path,
)

ProfileName = Enum("ProfileName", {name: name for name in PROFILES}, type=str)  # type: ignore[misc]
ProfileOpt = Annotated[
    ProfileName | None,
    typer.Option(
        "--profile", help="Estimate as if hakobu.toml set this profile (guide, lean or ha)."
    ),
]
RefreshOpt = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="First update the prices of the environment's region from the AWS Price List "
        "API (needs AWS credentials); they are saved under ~/.cache/hakobu/.",
    ),
]


@dataclass(frozen=True)
class CostView:
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


@app.command(rich_help_panel="Provision")
def cost(
    env_name: EnvArg = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    refresh_prices: RefreshOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """What the stack costs a month, line by line, like the guide's cost table.

    Quantities come from hakobu.toml (task size and count, NAT Gateways, DB class and
    Multi-AZ, public IPv4 addresses, secrets, log retention); usage it cannot know (LCUs,
    NAT traffic, log volume, data out) is assumed and stated. Prices come from hakobu's
    table, each with its source and date; a price missing for the region is shown as
    unknown, never guessed. Also prints the total of each profile for the same file.
    """
    view = build_view(config, env_name, profile.value if profile else None, refresh_prices)
    if as_json:
        print(json.dumps(view.as_json(), indent=2, ensure_ascii=False))
        return
    render(out, view)


def build_view(config: Path, env_name: str | None, profile: str | None, fresh: bool) -> CostView:
    env = load_project(config).environment(env_name)
    raw = tomllib.loads(config.read_text(encoding="utf-8"))  # validated just above
    if profile:
        env = with_profile(raw, env, profile)
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

    if boto3.Session().get_credentials() is None:
        raise PreflightError(
            "--refresh asks the AWS Price List API, which needs AWS credentials; none were found",
            "run `aws configure` (or set AWS_PROFILE), or leave out --refresh to use the "
            "prices shipped with hakobu",
        )
    default_class = DatabaseSettings.model_fields["instance_class"].default
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


# --- Rendering ----------------------------------------------------------------------------


def render(console: Console, view: CostView) -> None:
    result = view.estimate
    if view.refreshed:
        _render_refresh(console, view.refreshed)
    profile = f"profile {result.profile}" if result.profile else "no profile"
    console.print(
        Text(
            f"Monthly cost of {result.environment} ({profile}) in {result.region}, "
            f"{HOURS_PER_MONTH} hours:",
            style="bold",
        )
    )
    console.print(_lines_table(result))
    console.print(_total_text(result))
    _render_notes(console, result)
    _render_profiles(console, result, view.profiles)
    if result.region == GUIDE_REGION:
        _render_guide(console, result)
    _render_prices(console, view.prices)


def _lines_table(result: CostEstimate) -> Table:
    table = Table(box=None, pad_edge=False)
    for column, justify in (("item", "left"), ("quantity", "right"), ("unit price", "right"),
                            ("monthly", "right"), ("basis", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for group in GROUPS:
        for line in (item for item in result.lines if item.group == group):
            quantity = "?" if line.quantity is None else f"{_number(line.quantity)} {line.unit}"
            table.add_row(
                Text(line.name),
                Text(quantity),
                Text(_money(line.unit_price, precise=True), style=_style(line.unit_price)),
                Text(_money(line.monthly), style=_style(line.monthly)),
                Text(line.assumption, style="dim"),
            )
    return table


def _total_text(result: CostEstimate) -> Text:
    if result.complete:
        return Text(f"Total: ${result.total:,.2f} a month", style="bold")
    return Text(
        f"Total: at least ${result.total:,.2f} a month, INCOMPLETE: hakobu has no price in "
        f"{result.region} for {', '.join(result.unknown)}. `hakobu cost --refresh` fetches "
        "them from the AWS Price List API.",
        style="bold yellow",
    )


def _render_notes(console: Console, result: CostEstimate) -> None:
    console.print(Text("\nAssumptions", style="bold"))
    for note in result.notes:
        console.print(Text(f"- {note}"))


def _render_profiles(console: Console, result: CostEstimate, totals: list[ProfileTotal]) -> None:
    console.print(
        Text("\nEach profile, same hakobu.toml (keys written in it still win):", style="bold")
    )
    for total in totals:
        mark = "  <- this estimate" if total.profile == result.profile else ""
        if total.problem:
            figure = f"n/a ({total.problem})"
        else:
            figure = f"${total.total or 0:,.2f}" + ("" if total.complete else " (incomplete)")
        console.print(Text(f"  {total.profile:<6} {figure}{mark}"))


def _render_guide(console: Console, result: CostEstimate) -> None:
    console.print(Text("\nThe guide's table (Tokyo, 最安構成) and this estimate:", style="bold"))
    table = Table(box=None, pad_edge=False)
    for column, justify in (("", "left"), ("guide", "right"), ("hakobu", "right"),
                            ("the guide's row", "left")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row, ours in guide_comparison(result):
        table.add_row(row.group, f"~${row.usd:.0f}", _money(ours), row.spec)
    for group in (g for g in GROUPS if g not in {row.group for row in GUIDE_TABLE}):
        table.add_row(group, "-", _money(result.group_total(group)), "not in the guide's table")
    table.add_row(Text("total", style="bold"), f"~${GUIDE_TOTAL:.0f}", _money(result.total), "")
    console.print(table)


def _render_prices(console: Console, prices: dict[str, Price]) -> None:
    console.print(Text("\nPrices used (source, date taken):", style="bold"))
    for key, price in sorted(prices.items()):
        console.print(
            Text(f"  {key} = ${price.usd:g} per {price.unit}: {price.source} ({price.taken})")
        )


def _render_refresh(console: Console, report: RefreshReport) -> None:
    console.print(
        Text(
            f"Refreshed {len(report.changes)} price(s) for {report.region} from the AWS Price "
            f"List API into {report.path}:",
            style="bold",
        )
    )
    for change in report.changes:
        old = "none" if change.old is None else f"{change.old:g}"
        same = " (unchanged)" if change.old == change.new else ""
        console.print(Text(f"  {change.key}: {old} -> {change.new:g}{same}"))
    if report.missing:
        console.print(Text(f"  not found (the previous price stays): {', '.join(report.missing)}"))


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


def _money(value: float | None, precise: bool = False) -> str:
    if value is None:
        return "unknown"
    return f"${value:.6g}" if precise else f"${value:,.2f}"


def _style(value: float | None) -> str:
    return "red" if value is None else ""


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")
