"""hakobu cost: the monthly estimate, its assumptions, the other profiles' totals.

The view comes from `hakobu.provision.cost_view`; this module parses, calls and renders.
No AWS call is made unless `--refresh` asks the Price List API for fresh prices.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    EnvArg,
    JsonOpt,
    ProfileOpt,
    profile_name,
)
from hakobu.cli.context import CommandContext

RefreshOpt = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="First update the prices of the environment's region from the AWS Price List "
        "API (needs AWS credentials); they are saved under ~/.cache/hakobu/.",
    ),
]


@app.command(rich_help_panel="Provision")
def cost(
    env_name: EnvArg = None,
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    refresh_prices: RefreshOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """What the stack costs a month, line by line, like the guide's cost table.

    Quantities come from hakobu.toml (task size and count, NAT Gateways, DB class and
    Multi-AZ, public IPv4 addresses, secrets, log retention); usage it cannot know (LCUs,
    NAT traffic, log volume, data out) is assumed and stated. Prices come from hakobu's
    table, each with its source and date; a price missing for the region is shown as
    unknown, never guessed. Also prints the total of each profile for the same file.
    """
    from hakobu.cli.cost_screen import render
    from hakobu.provision.cost_view import build_view

    ctx = CommandContext(config, env_name)
    view = build_view(config, env_name, profile_name(profile), refresh_prices)
    if as_json:
        ctx.json(view.as_json())
        return
    render(ctx.out, view)
