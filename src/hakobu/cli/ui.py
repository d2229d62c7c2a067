"""How provisioning looks in a terminal: plan summaries, live apply progress, outputs,
and the presenters that show the steps of the one plan/apply sequence
(`hakobu.provision.converge`).

Rendering only: these functions take results from the library and print them. The live
view degrades to one line per finished resource when output is not a terminal (CI logs).
Imported when a command runs, never by `hakobu --help`.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hakobu.cli.common import format_seconds
from hakobu.cli.context import SANDBOX_BANNER
from hakobu.provision.blueprint import part_of_resource_type
from hakobu.provision.database_safety import replaced_databases
from hakobu.provision.terraform import Event, EventHandler, PlanSummary

if TYPE_CHECKING:
    from hakobu.cli.context import CommandContext

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
__all__ = ["SANDBOX_BANNER", "ApplyProgress", "format_seconds", "plan_headline", "plan_table"]


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
        if hook.get("action") == "read":
            # A data source read during apply: not a change the plan counted (the [N/total]
            # would pass its total), and nothing the user waits for.
            return
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


class TerminalPresenter:
    """Shows the plan/apply steps of `up` (and the Terraform step of pause and resume):
    spinners on stderr, the plan by part, a confirmation, live apply progress."""

    def __init__(self, ctx: CommandContext, question: str = "Apply this plan?") -> None:
        self.ctx = ctx
        self.question = question

    @contextmanager
    def working(self, text: str) -> Iterator[object]:
        with self.ctx.err.status(text) as status:
            yield status

    def planned(self, summary: PlanSummary, saved: bool) -> None:
        out = self.ctx.out
        if saved:
            # Reviewed with `hakobu plan` and hakobu.toml unchanged since: applied as it
            # is, like `terraform apply tfplan`.
            out.print(f"Applying the plan saved by `hakobu plan`: {plan_headline(summary)}")
            return
        out.print(plan_headline(summary))
        if not summary.empty:
            out.print(plan_table(summary))
        lost = replaced_databases(summary)
        if lost:
            out.print(
                f"[bold red]This plan replaces or deletes the database ({escape(', '.join(lost))})"
                ": its data would be lost.[/] Applying it needs the environment's name typed.",
                markup=True,
            )

    def confirm(self, summary: PlanSummary) -> bool:
        if replaced_databases(summary):  # even with --yes: data loss is never a default
            env = self.ctx.env
            typed = typer.prompt(f"Type the environment name ({env.name}) to lose its data")
            return bool(typed == env.name)
        return self.ctx.confirm(self.question)

    @contextmanager
    def applying(self, summary: PlanSummary) -> Iterator[EventHandler]:
        total = summary.add + summary.change + summary.destroy
        with ApplyProgress(self.ctx.err, total=total) as view:
            yield view


class DestroyPresenter(TerminalPresenter):
    """`hakobu destroy`: says what is lost for good and asks for the environment's name."""

    def __init__(self, ctx: CommandContext, force_delete: bool, delete_data: bool = False) -> None:
        super().__init__(ctx)
        self.force_delete = force_delete
        self.delete_data = delete_data

    def planned(self, summary: PlanSummary, saved: bool) -> None:
        super().planned(summary, saved)
        if not summary.empty:
            self._warn()

    def _warn(self) -> None:
        env = self.ctx.env
        kept = (
            "A final DB snapshot is kept."
            if env.settings.database.final_snapshot
            else "No final DB snapshot is kept (database.final_snapshot = false): the data is "
            "lost for good."
        )
        secrets = (
            "Its secrets are deleted without recovery (--force-delete)."
            if self.force_delete
            else "Its secrets stay recoverable for 7 days: a new `hakobu up` restores them."
        )
        uploads = ""
        if env.settings.storage.bucket:
            uploads = (
                " Every object in its storage bucket is deleted too (--delete-data)."
                if self.delete_data
                else " Its storage bucket is deleted only if it holds no uploads."
            )
        self.ctx.out.print(
            f"[bold red]This deletes the database, the images and the logs of "
            f"`{escape(env.name)}`.[/] {kept} {secrets}{uploads}",
            markup=True,
        )

    def confirm(self, summary: PlanSummary) -> bool:
        env = self.ctx.env
        typed = typer.prompt(f"Type the environment name ({env.name}) to confirm")
        return bool(typed == env.name)
