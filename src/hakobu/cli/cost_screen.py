"""How `hakobu cost` looks: the lines by group, the assumptions, each profile's total,
the guide's table beside the estimate, the prices used (imported when the command runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hakobu.cli.common import money
from hakobu.provision.cost import (
    DATABASE_GROUPS,
    GROUPS,
    GUIDE_REGION,
    GUIDE_TABLE,
    GUIDE_TOTAL,
    HOURS_PER_MONTH,
    CostEstimate,
    ProfileTotal,
    guide_comparison,
)
from hakobu.provision.cost_view import CostView
from hakobu.provision.prices import Price

if TYPE_CHECKING:
    from hakobu.provision.price_refresh import RefreshReport


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
                Text(money(line.unit_price, precise=True), style=_style(line.unit_price)),
                Text(money(line.monthly), style=_style(line.monthly)),
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
        table.add_row(row.group, f"~${row.usd:.0f}", money(ours), row.spec)
    # The database's group is on the guide's row, whatever the engine.
    compared = {row.group for row in GUIDE_TABLE} | set(DATABASE_GROUPS)
    for group in (g for g in GROUPS if g not in compared):
        table.add_row(group, "-", money(result.group_total(group)), "not in the guide's table")
    table.add_row(Text("total", style="bold"), f"~${GUIDE_TOTAL:.0f}", money(result.total), "")
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


def _style(value: float | None) -> str:
    return "red" if value is None else ""


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")
