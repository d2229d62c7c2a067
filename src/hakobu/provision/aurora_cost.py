"""Aurora's monthly cost lines: Serverless v2 ACU-hours (or a provisioned class's hours),
storage and I/O, priced from the table like every other line (cost.py).

hakobu's clusters use Aurora Standard storage (no `storage_type`): I/O is billed per
million requests. Aurora I/O-Optimized bills no I/O but more per ACU-hour and per GB
(about 30 % and 125 % more, AWS's Aurora pricing page); it pays off once I/O is about a
quarter of the database bill, which a small app's is not. Usage hakobu.toml cannot tell
(the average capacity, the data stored, the I/O) is an assumption printed with its line.
"""

from __future__ import annotations

import msgspec

from hakobu.core.config import Environment
from hakobu.core.engines import SERVERLESS_CLASS
from hakobu.provision.cost_line import CostLine, priced
from hakobu.provision.prices import PriceTable

HOURS_PER_MONTH = 730  # cost.py's (AWS's) month
ACU_HOUR = "rds.aurora.serverless_v2.acu_hour"
STORAGE = "rds.aurora.storage.gb_month"
IO = "rds.aurora.io.million_requests"


class AuroraUsage(msgspec.Struct, frozen=True):
    """What an Aurora bill depends on that hakobu.toml cannot say."""

    # A small app's writer idles near the bottom of its range; 0.5 ACU (~1 GiB) is the
    # lowest a running Serverless v2 instance bills.
    average_acu: float = 0.5
    storage_gb: float = 10.0  # Aurora bills the data stored, not an allocation
    io_million: float = 10.0  # reads and writes that miss the buffer cache, a month


def aurora_lines(
    env: Environment, prices: PriceTable, group: str, usage: AuroraUsage | None = None
) -> list[CostLine]:
    """The lines, in cost.py's database `group` (the screen and the guide's table)."""
    used = usage or AuroraUsage()
    instances = 2 if env.settings.database.multi_az else 1
    return [
        _compute(env, prices, used, instances, group),
        priced(prices, env.region, (group, "Aurora storage"), STORAGE,
               (used.storage_gb, "GB-months"),
               f"assumed {used.storage_gb:g} GB stored, one copy for the whole cluster "
               "(Aurora Standard)"),
        priced(prices, env.region, (group, "Aurora I/O"), IO, (used.io_million, "million requests"),
               f"assumed {used.io_million:g} million I/O requests a month (Aurora Standard; "
               "I/O-Optimized bills none, at a higher ACU and storage price)"),
    ]  # fmt: skip


def _compute(
    env: Environment, prices: PriceTable, used: AuroraUsage, instances: int, group: str
) -> CostLine:
    db = env.settings.database
    who = f"{instances} instance(s) (writer{' + reader' if instances == 2 else ''})"
    if db.instance_class != SERVERLESS_CLASS:
        return priced(prices, env.region, (group, "Aurora instance hours"),
                      f"rds.aurora.{db.instance_class}.hour",
                      (instances * HOURS_PER_MONTH, "instance-hours"),
                      f"{db.instance_class}, {who} x {HOURS_PER_MONTH} h")  # fmt: skip
    average = max(used.average_acu, db.min_capacity)
    pauses = (
        "; min_capacity = 0: an idle cluster pauses itself and bills no ACU-hours then"
        if db.min_capacity == 0
        else ""
    )
    return priced(prices, env.region, (group, "Aurora Serverless v2 ACU-hours"), ACU_HOUR,
                  (instances * average * HOURS_PER_MONTH, "ACU-hours"),
                  f"assumed {average:g} ACU on average (range {db.min_capacity:g}-"
                  f"{db.max_capacity:g}), {who} x {HOURS_PER_MONTH} h{pauses}")  # fmt: skip
