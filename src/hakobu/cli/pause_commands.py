"""hakobu pause / resume: the guide's "使わない時はリソースを停止" as two commands.

The sequence is `hakobu.operate.pause_flow`'s (the plans and savings the
`hakobu.operate.pausing` package's, the Terraform step the plan/apply sequence of `hakobu up`);
this module parses, asks, and renders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    EnvArg,
    SandboxOpt,
    TimeoutOpt,
    YesOpt,
    duration,
    format_seconds,
    money,
    utc_minute,
)
from hakobu.cli.context import CommandContext

if TYPE_CHECKING:  # imported when a command runs: `hakobu --help` need not pay for them
    from hakobu.core.config import Environment
    from hakobu.operate.pause_flow import PauseOutcome, ResumeOutcome, Steps
    from hakobu.operate.pausing.plan import PausePlan, ResumePlan
    from hakobu.operate.pausing.record import PauseRecord
    from hakobu.operate.pausing.saving import Saving
    from hakobu.operate.pausing.wait import Health

DeepOpt = Annotated[
    bool,
    typer.Option(
        "--deep",
        help="Also remove the NAT Gateway(s) and the ALB through Terraform (they bill by "
        "the hour); the VPC, DB storage, images, secrets and the service stay.",
    ),
]
# Without a terminal, say this often that a wait goes on.
HEARTBEAT_SECONDS = 60


@app.command(rich_help_panel="Operate")
def pause(
    env_name: EnvArg = None,
    deep: DeepOpt = False,
    yes: YesOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Stop paying for an idle environment: no tasks, the DB stopped (`--deep`: no NAT
    Gateway and no ALB either). Prints the monthly saving; `hakobu resume` undoes it."""
    from hakobu.operate import pause_flow

    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env

    def confirm(plan: PausePlan, previous: PauseRecord | None) -> bool:
        if previous is not None:
            ctx.out.print(f"`{env.name}` is already {_paused_since(previous)}; still to do:")
        else:
            ctx.out.print(f"Pausing `{env.name}`:")
        _show_steps(ctx, plan.steps(env))
        return yes or ctx.confirm(
            f"Pause `{env.name}`? The app serves nothing until `hakobu resume`."
        )

    again = f"hakobu pause {env.name}{' --deep' if deep else ''}{' --sandbox' if sandbox else ''}"
    outcome = pause_flow.pause(env, ctx.target, deep, _steps(ctx, again, None), confirm)
    _conclude_pause(ctx, outcome)


@app.command(rich_help_panel="Operate")
def resume(
    env_name: EnvArg = None,
    yes: YesOpt = False,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Bring a paused environment back: the DB started, the NAT Gateway and ALB again after
    `--deep`, the service's tasks and revision as before; then wait until it is healthy."""
    from hakobu.operate import pause_flow

    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env

    def confirm(plan: ResumePlan, record: PauseRecord) -> bool:
        ctx.out.print(f"`{env.name}` is {_paused_since(record)}. To do:")
        _show_steps(ctx, plan.steps(env))
        return yes or ctx.confirm(f"Resume `{env.name}`?", default=True)

    again = f"hakobu resume {env.name}{' --sandbox' if sandbox else ''}"
    outcome = pause_flow.resume(env, ctx.target, _steps(ctx, again, timeout), confirm)
    _conclude_resume(ctx, outcome)


def _steps(ctx: CommandContext, again: str, timeout: int | None) -> Steps:
    from hakobu.cli.ui import TerminalPresenter
    from hakobu.operate.pause_flow import Steps

    return Steps(
        presenter=TerminalPresenter(ctx),
        progress=ConsoleProgress(ctx),
        warn=ctx.warn,
        note=ctx.out.print,
        again=again,
        timeout=timeout,
    )


class ConsoleProgress:
    """Steps as they start; a wait's status when it changes (or every minute), with the
    time it has taken."""

    def __init__(self, ctx: CommandContext) -> None:
        self.err = ctx.err
        self.last: tuple[str, float] | None = None

    def step(self, text: str) -> None:
        from rich.markup import escape

        self.err.print(f"[bold cyan]→ {escape(text)}[/]", markup=True)
        self.last = None

    def database(self, status: str, elapsed: float) -> None:
        self._line(f"DB {status}", elapsed)

    def health(self, health: Health, elapsed: float) -> None:
        from rich.markup import escape

        self._line(health.text(), elapsed)
        for target_health in health.targets:
            if target_health.state != "healthy":
                self.err.print(f"    {escape(target_health.text())}", style="dim", markup=True)

    def tasks(self, left: int, elapsed: float) -> None:
        self._line(f"{left} task(s) still running or draining", elapsed)

    def _line(self, text: str, elapsed: float) -> None:
        from rich.markup import escape

        shown, at = self.last or ("", -HEARTBEAT_SECONDS)
        if text != shown or elapsed - at >= HEARTBEAT_SECONDS:
            self.err.print(f"  [{format_seconds(elapsed)}] {escape(text)}", markup=True)
            self.last = (text, elapsed)


# --- rendering --------------------------------------------------------------------------


def _conclude_pause(ctx: CommandContext, outcome: PauseOutcome) -> None:
    env, plan, previous = outcome.env, outcome.plan, outcome.previous
    if plan is None:
        if previous is None:  # idle already (e.g. `hakobu scale 0`): nothing to record
            ctx.out.print(f"`{env.name}` runs no tasks and its DB is stopped: nothing to pause.")
        else:
            ctx.out.print(f"`{env.name}` is already {_paused_since(previous)}: nothing to do.")
            _auto_start_warning(ctx, env, previous)
        ctx.banner()
        return
    if not outcome.applied:
        ctx.give_up()
    deep = " (deep)" if plan.record.deep else ""
    ctx.out.print(f"[bold]Paused `{env.name}`{deep}.[/]", markup=True)
    _show_saving(ctx, plan.saving)
    if not plan.record.deep:
        _deep_hint(ctx, env, plan.record, plan.saving)
    _auto_start_warning(ctx, env, plan.record)
    ctx.out.print(f"`hakobu resume {env.name}` brings it back. Paused state: {outcome.path}")
    ctx.banner()


def _show_steps(ctx: CommandContext, steps: list[str]) -> None:
    from rich.markup import escape

    for step in steps:
        ctx.out.print(f"  - {escape(step)}", markup=True)


def _paused_since(record: PauseRecord) -> str:
    return f"paused{' (deep)' if record.deep else ''} since {utc_minute(record.paused_at)}"


def _show_saving(ctx: CommandContext, saving: Saving) -> None:
    from rich.table import Table

    headline = f"Estimated saving: {money(saving.total)} a month"
    if not saving.complete:
        headline += " (incomplete: a price is unknown for this region)"
    ctx.out.print(headline + ", from hakobu's price table (`hakobu cost` shows the whole bill):")
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("line", style="bold")
    table.add_column("monthly", justify="right")
    table.add_column("detail", style="dim", overflow="fold")
    for line in saving.lines:
        table.add_row(f"  {line.name}", money(line.monthly), line.detail)
    ctx.out.print(table)
    kept = ", ".join(f"{line.name} {money(line.monthly)}" for line in saving.kept)
    ctx.out.print(
        f"Still billed while paused: {kept or 'DB storage'} a month, DB backups, secrets, "
        "log storage and ECR images."
    )


def _deep_hint(ctx: CommandContext, env: Environment, record: PauseRecord, saving: Saving) -> None:
    from hakobu.operate.pause_flow import deep_extra_saving

    extra = deep_extra_saving(env, record, saving.total)
    if extra > 0:
        ctx.out.print(
            f"The NAT Gateway(s) and the ALB keep billing: `hakobu pause {env.name} --deep` "
            f"removes them too (about {money(extra)} a month more; resume re-creates them)."
        )


def _auto_start_warning(ctx: CommandContext, env: Environment, record: PauseRecord) -> None:
    when = record.auto_start_at
    around = f" (around {utc_minute(when)})" if when else ""
    ctx.err.print(
        f"[bold yellow]Warning:[/] AWS starts a stopped RDS instance again by itself after "
        f"seven days{around}, and bills it again. To keep `{env.name}` paused, run "
        f"`hakobu pause {env.name}` again before then (it stops the DB again), for example "
        f"from a daily scheduled job: `hakobu pause {env.name} --yes`.",
        markup=True,
        soft_wrap=True,
    )


def _conclude_resume(ctx: CommandContext, outcome: ResumeOutcome) -> None:
    from hakobu.operate.pausing.record import now_utc
    from hakobu.operate.status import revision_of
    from hakobu.provision.cost import HOURS_PER_MONTH

    env, record = outcome.env, outcome.record
    if record is None:
        ctx.out.print(f"`{env.name}` is not paused: nothing to resume.")
        return
    if not outcome.applied:
        ctx.give_up()
    revision = revision_of(record.task_definition)
    ctx.out.print(
        f"[bold]Resumed `{env.name}`:[/] the DB is available, the service is back to "
        f"{record.desired_count} task(s) on {revision}.",
        markup=True,
    )
    hours = (now_utc() - record.paused_at).total_seconds() / 3600
    saved = (
        None if record.monthly_saving is None else record.monthly_saving * hours / HOURS_PER_MONTH
    )
    ctx.out.print(
        f"The pause saved an estimated {money(record.monthly_saving)} a month"
        + ("" if record.saving_complete else " (incomplete: a price was unknown)")
        + f"; paused {duration(hours)}: about {money(saved)} in all "
        "(less if AWS started the DB again after seven days)."
    )
    _show_health(ctx, outcome)
    ctx.banner()


def _show_health(ctx: CommandContext, outcome: ResumeOutcome) -> None:
    from rich.markup import escape

    from hakobu.operate.pausing.wait import Health

    health = outcome.health
    if not isinstance(health, Health):
        reason = health.reason if health is not None else "it was not waited for"
        ctx.out.print(f"hakobu did not wait for the app's health: {escape(reason)}.", markup=True)
        return
    ctx.out.print(f"[bold green]Healthy:[/] {escape(health.text())}", markup=True)
    if outcome.url:
        ctx.out.print(f"The app answers at {escape(outcome.url)}", markup=True)
