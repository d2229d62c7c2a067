"""What a pause saves a month: the lines of `provision.cost`'s estimate it stops (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from msgspec.structs import replace

from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB
from hakobu.provision.cost import FARGATE, HOURS_PER_MONTH, CostLine, estimate, public_ipv4_count
from hakobu.provision.prices import PriceTable


@dataclass(frozen=True)
class SavingLine:
    name: str
    monthly: float | None  # None: the price is unknown for the region
    detail: str


@dataclass(frozen=True)
class Saving:
    """What stops billing during a pause, a month, from `provision.cost` and the price table."""

    lines: tuple[SavingLine, ...]
    kept: tuple[SavingLine, ...]  # what keeps billing (storage)

    @property
    def total(self) -> float:
        return sum(line.monthly or 0.0 for line in self.lines)

    @property
    def complete(self) -> bool:
        return all(line.monthly is not None for line in self.lines)


# Lines of `cost.estimate` a pause stops, by name (Fargate: the whole group, Spot included).
SHALLOW_LINES = ("RDS instance hours", "Aurora Serverless v2 ACU-hours", "Aurora instance hours")
DEEP_LINES = ("NAT Gateway hours", "ALB hours", "ALB LCUs")
IPV4_LINE = "Public IPv4 addresses"
KEPT_LINES = ("RDS gp3 storage", "Aurora storage")


def pause_saving(
    env: Environment,
    prices: PriceTable,
    deep: bool,
    desired_count: int,
    processes: Mapping[str, int] | None = None,
) -> Saving:
    """The monthly saving of a pause of `env` whose service ran `desired_count` tasks and
    whose workers ran `processes` (each worker's count before the pause, as recorded).

    Counts are what ran, not hakobu.toml's: a worker scaled by hand or by another tool
    saves what it ran, and one not created yet (absent from `processes`) saves nothing.
    Without `processes`, workers are counted at hakobu.toml's desired_count.

    Not counted as saved: usage that merely drops (NAT data processed, data transfer),
    MySQL 8.0 Extended Support (hakobu does not know whether AWS bills it while stopped),
    and anything that keeps billing: DB storage and backups, secrets, logs, images.
    """
    running = _with_counts(env, desired_count, processes)
    lines = estimate(running, prices).lines
    saved = [
        SavingLine(line.name, line.monthly, line.assumption)
        for line in lines
        if line.group == FARGATE or line.name in SHALLOW_LINES or (deep and line.name in DEEP_LINES)
    ]
    saved += _ipv4_saving(running, lines, deep)
    kept = [
        SavingLine(line.name, line.monthly, line.assumption)
        for line in lines
        if line.name in KEPT_LINES
    ]
    return Saving(tuple(saved), tuple(kept))


def _with_counts(env: Environment, count: int, processes: Mapping[str, int] | None) -> Environment:
    """`env` as it ran: web at `count` tasks, each worker at its count in `processes`."""
    settings = env.settings
    update: dict[str, object] = {"service": replace(settings.service, desired_count=count)}
    if processes is not None:
        update["processes"] = {
            name: process
            if name == WEB
            else replace(process, desired_count=processes.get(name, 0))
            for name, process in settings.processes.items()
        }
    return replace(env, settings=replace(settings, **update))


def _ipv4_saving(env: Environment, lines: tuple[CostLine, ...], deep: bool) -> list[SavingLine]:
    """Public IPv4 addresses released: the tasks' (lean profile), with --deep the ALB's and
    the NAT Gateways' Elastic IPs. One estimate line covers them all, so it is split."""
    alb, nat, tasks = public_ipv4_count(env)
    released = tasks + (alb + nat if deep else 0)
    if not released:
        return []
    line = next(line for line in lines if line.name == IPV4_LINE)
    parts = ([f"{tasks} task IP(s)"] if tasks else []) + (
        [f"{alb} ALB + {nat} NAT EIP"] if deep else []
    )
    monthly = None if line.unit_price is None else released * HOURS_PER_MONTH * line.unit_price
    detail = f"{' + '.join(parts)} = {released} address(es) x {HOURS_PER_MONTH} h"
    return [SavingLine(f"{IPV4_LINE} released", monthly, detail)]
