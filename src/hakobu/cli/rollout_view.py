"""How a deploy, a rollback or a secret's rollout looks: its steps as they happen, the
failure's details and last log lines, and the one-line conclusion. Shared by the ship
commands and the secrets commands (imported when a command runs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from hakobu.cli.common import format_seconds
from hakobu.core.errors import HakobuError
from hakobu.ship.deploy import DeployError, DeployResult
from hakobu.ship.rollout import RolloutUpdate

if TYPE_CHECKING:
    from rich.console import Console

    from hakobu.cli.context import CommandContext

EXIT_DETACHED = 130


class ConsoleEvents:
    """Renders a deploy's progress on stderr: steps, tool output, rollout changes."""

    def __init__(self, err: Console) -> None:
        self.err = err

    def step(self, title: str, detail: str = "") -> None:
        self.err.print(f"[bold cyan]→ {escape(title)}[/] {escape(detail)}", markup=True)

    def output(self, line: str) -> None:
        self.err.print(f"  {escape(line)}", style="dim", markup=True)

    def rollout(self, update: RolloutUpdate) -> None:
        for line in update.lines():
            self.err.print(f"  [{format_seconds(update.elapsed)}] {escape(line)}", markup=True)


@contextmanager
def showing_failure(ctx: CommandContext, action: str) -> Iterator[None]:
    """A failed deploy's details and the task's last log lines, before its message."""
    try:
        yield
    except DeployError as exc:
        for detail in exc.details:
            ctx.err.print(f"  {escape(detail)}", markup=True)
        if exc.log_lines:
            ctx.err.print(f"Last log lines ({action}):", style="bold")
            for line in exc.log_lines:
                ctx.err.print(f"  {escape(line.message)}", markup=True)
        raise


def conclude(ctx: CommandContext, result: DeployResult, verb: str, url: Callable[[], str]) -> None:
    """One line for how the rollout ended; `url` is asked only when it completed."""
    env = ctx.env
    for note in result.notes:
        ctx.out.print(note)
    revision = result.task_definition_arn.rsplit("/", 1)[-1]
    rollout = result.rollout
    if rollout is None:
        ctx.out.print(f"Service updated to {revision}; the rollout was not followed.")
    elif rollout.outcome == "COMPLETED":
        ctx.out.print(
            f"[bold green]{verb}[/] {revision} in {format_seconds(rollout.elapsed)}: {url()}",
            markup=True,
        )
    elif rollout.outcome == "DETACHED":
        ctx.out.print(
            f"Stopped following. The rollout of {revision} goes on in AWS; follow it "
            f"with `hakobu status {env.name}`."
        )
        raise typer.Exit(EXIT_DETACHED)
    else:
        raise HakobuError(
            f"the rollout of {revision} did not finish within "
            f"{env.settings.deploy.timeout_seconds} s; it goes on in AWS",
            f"follow it with `hakobu status {env.name}`, or wait longer with --timeout",
        )
    ctx.banner()
