"""How provisioning looks in a terminal: plan summaries, live apply progress, outputs.

Rendering only: these functions take results from the library and print them. The live
view degrades to one line per finished resource when output is not a terminal (CI logs).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from hakobu.provision.blueprint import part_of_resource_type
from hakobu.provision.terraform import Event, PlanSummary

ACTION_WORDS = {
    "create": "add",
    "update": "change",
    "delete": "destroy",
    "replace": "replace",
}
PART_ORDER = ("network", "load balancer", "service", "database", "registry", "secrets", "logs")
HEARTBEAT_SECONDS = 30
PROGRESS_WORDS = {
    "create": "creating",
    "delete": "destroying",
    "update": "updating",
    "replace": "replacing",
}
SANDBOX_BANNER = (
    "SANDBOX: this ran against the local AWS emulator. Nothing real was created, nothing "
    "is billed, and no container runs."
)


def plan_table(summary: PlanSummary) -> Table:
    """Resources to add / change / destroy, one row per part of the architecture."""
    parts = part_of_resource_type()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for change in summary.changes:
        word = ACTION_WORDS.get(change.action)
        if word:
            counts[parts.get(change.resource_type, "other")][word] += 1
    table = Table(title=None, box=None, pad_edge=False)
    for column in ("part", "add", "change", "replace", "destroy"):
        table.add_column(column, justify="left" if column == "part" else "right")
    for part in [*PART_ORDER, "other"]:
        if part in counts:
            row = counts[part]
            table.add_row(
                part, *(str(row[w] or "-") for w in ("add", "change", "replace", "destroy"))
            )
    return table


def plan_headline(summary: PlanSummary) -> str:
    if summary.empty:
        return "No changes: the infrastructure matches hakobu.toml."
    imported = f"{summary.imports} to import, " if summary.imports else ""
    return (
        f"Plan: {imported}{summary.add} to add, {summary.change} to change, "
        f"{summary.destroy} to destroy."
    )


def format_seconds(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ApplyProgress:
    """Consumes `terraform apply -json` events; shows what is in flight and what finished."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.in_flight: dict[str, tuple[str, float]] = {}
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=True)

    def __enter__(self) -> ApplyProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        kind = event.get("type")
        hook = event.get("hook", {})
        address = hook.get("resource", {}).get("addr")
        if kind == "apply_start" and address:
            self.in_flight[address] = (hook.get("action", "apply"), time.monotonic())
        elif kind == "apply_complete" and address:
            self._finish(address, hook, ok=True)
        elif kind == "apply_errored" and address:
            self._finish(address, hook, ok=False)
        elif kind == "apply_progress" and address:
            self._heartbeat(address, hook)
        self.live.update(self._render())

    def _heartbeat(self, address: str, hook: dict[str, Any]) -> None:
        """Without a terminal there is no live view: say every 30 s what is still running."""
        elapsed = int(hook.get("elapsed_seconds", 0))
        if not self.console.is_terminal and elapsed and elapsed % HEARTBEAT_SECONDS == 0:
            verb = PROGRESS_WORDS.get(hook.get("action", ""), "working on")
            self.console.print(
                f"  … still {verb} {address} ({format_seconds(elapsed)})", style="dim"
            )

    def _finish(self, address: str, hook: dict[str, Any], ok: bool) -> None:
        action, began = self.in_flight.pop(address, (hook.get("action", "apply"), time.monotonic()))
        elapsed = hook.get("elapsed_seconds", time.monotonic() - began)
        self.done += 1
        mark, style = ("✓", "green") if ok else ("✗", "red")
        verb = (
            {
                "create": "created",
                "delete": "destroyed",
                "update": "updated",
                "replace": "replaced",
            }.get(action, action)
            if ok
            else f"{action} failed"
        )
        self.console.print(
            Text.assemble(
                (f"{mark} ", style),
                (address, "bold"),
                f" {verb} ",
                (f"({format_seconds(elapsed)})", "dim"),
                (f"  [{self.done}/{self.total}]", "dim"),
            )
        )

    def _render(self) -> Text:
        now = time.monotonic()
        lines = [
            f"  … {address} ({format_seconds(now - began)})"
            for address, (_, began) in sorted(self.in_flight.items(), key=lambda i: i[1][1])
        ]
        header = (
            f"Applying: {self.done}/{self.total} done, {format_seconds(now - self.started)} elapsed"
        )
        return Text("\n".join([header, *lines[:8]]), style="dim")


def outputs_table(outputs: dict[str, Any]) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("name", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in sorted(outputs.items()):
        table.add_row(name, str(value))
    return table
