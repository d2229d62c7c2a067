"""hakobu pause / resume: the guide's "使わない時はリソースを停止" as two commands.

The plans, the savings and the steps come from `hakobu.operate.pausing`; this module parses, asks,
renders, and hands the library the Terraform step (the same plan / apply pipeline and
progress view as `hakobu up`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hakobu.cli.app import (
    ConfigOpt,
    EnvArg,
    SandboxOpt,
    YesOpt,
    app,
    environment,
    err,
    out,
    sandbox_banner,
    target,
)
from hakobu.cli.ui import format_seconds
from hakobu.core.config import CONFIG_FILE, Environment
from hakobu.core.target import Target

if TYPE_CHECKING:  # imported when a command runs: `hakobu --help` need not pay for them
    from hakobu.operate.pausing import Health, PauseRecord, Saving, Waiter

DeepOpt = Annotated[
    bool,
    typer.Option(
        "--deep",
        help="Also remove the NAT Gateway(s) and the ALB through Terraform (they bill by "
        "the hour); the VPC, DB storage, images, secrets and the service stay.",
    ),
]
TimeoutOpt = Annotated[
    int | None,
    typer.Option(
        "--timeout",
        min=30,
        help="Seconds to wait for the DB and for the app (default: deploy.timeout_seconds).",
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
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Stop paying for an idle environment: no tasks, the DB stopped (`--deep`: no NAT
    Gateway and no ALB either). Prints the monthly saving; `hakobu resume` undoes it."""
    from hakobu.operate import pausing
    from hakobu.provision.prices import load_prices

    env = environment(config, env_name)
    if deep:
        _preflight(env)
    aws = target(env, sandbox)
    emulator = pausing.emulator_of(env) if aws.sandbox else None
    path = pausing.state_path(env, aws.sandbox)
    previous = pausing.current_record(path, emulator)
    facts = pausing.gather_facts(aws.client("ecs"), aws.client("rds"), env)
    plan = pausing.plan_pause(
        env, facts, deep, previous, load_prices(), pausing.now_utc(), emulator
    )
    if plan.nothing_to_do:
        if previous is None:  # idle already (e.g. `hakobu scale 0`): nothing to record
            out.print(f"`{env.name}` runs no tasks and its DB is stopped: nothing to pause.")
        else:
            out.print(f"`{env.name}` is already {_paused_since(previous)}: nothing to do.")
            _auto_start_warning(env, previous)
        sandbox_banner(aws.sandbox)
        return
    if previous is not None:
        out.print(f"`{env.name}` is already {_paused_since(previous)}; still to do:")
    else:
        out.print(f"Pausing `{env.name}`:")
    _show_steps(plan.steps(env))
    if not yes and not typer.confirm(
        f"Pause `{env.name}`? The app serves nothing until `hakobu resume`.", default=False
    ):
        out.print("Nothing was changed.")
        raise typer.Exit(1)
    pausing.execute_pause(
        env, aws, plan, path, _reshape(env, aws), ConsoleProgress(), _waiter(env, None)
    )
    out.print(f"[bold]Paused `{env.name}`{' (deep)' if plan.record.deep else ''}.[/]", markup=True)
    _show_saving(plan.saving)
    if not plan.record.deep:
        _deep_hint(env, plan.record.desired_count, plan.saving)
    _auto_start_warning(env, plan.record)
    out.print(f"`hakobu resume {env.name}` brings it back. Paused state: {path}")
    sandbox_banner(aws.sandbox)


@app.command(rich_help_panel="Operate")
def resume(
    env_name: EnvArg = None,
    yes: YesOpt = False,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Bring a paused environment back: the DB started, the NAT Gateway and ALB again after
    `--deep`, the service's tasks and revision as before; then wait until it is healthy."""
    from hakobu.operate import pausing

    env = environment(config, env_name)
    aws = target(env, sandbox)
    path = pausing.state_path(env, aws.sandbox)
    record = pausing.current_record(path, pausing.emulator_of(env) if aws.sandbox else None)
    if record is None:
        out.print(f"`{env.name}` is not paused: nothing to resume.")
        return
    if record.deep:
        _preflight(env)
    facts = pausing.gather_facts(aws.client("ecs"), aws.client("rds"), env)
    plan = pausing.plan_resume(env, record, facts)
    out.print(f"`{env.name}` is {_paused_since(record)}. To do:")
    _show_steps(plan.steps(env))
    if not yes and not typer.confirm(f"Resume `{env.name}`?", default=True):
        out.print("Nothing was changed.")
        raise typer.Exit(1)
    health = pausing.execute_resume(
        env, aws, plan, path, _reshape(env, aws), ConsoleProgress(), _waiter(env, timeout)
    )
    _conclude_resume(env, record, health)
    sandbox_banner(aws.sandbox)


# --- the steps --------------------------------------------------------------------------


def _preflight(env: Environment) -> None:
    """Terraform runs: the same checks as `hakobu up` before anything changes."""
    from hakobu.provision.pipeline import preflight

    for warning in preflight(env):
        err.print(f"[yellow]Warning:[/] {escape(warning)}", markup=True, soft_wrap=True)


def _reshape(env: Environment, aws: Target) -> Callable[[bool], None]:
    """The Terraform step: render the paused or the normal shape, plan, apply with the
    live progress of `hakobu up`."""
    from hakobu.cli.ui import ApplyProgress, plan_table
    from hakobu.provision.pipeline import Provisioner

    def reshape(paused: bool) -> None:
        provisioner = Provisioner(env, aws, paused=paused)
        with err.status(f"Preparing Terraform in {provisioner.workdir} ..."):
            provisioner.prepare()
        with err.status("Planning ..."):
            summary = provisioner.plan()
        if summary.empty:
            out.print("Terraform: nothing to change.")
            return
        out.print(
            f"Terraform: {summary.add} to add, {summary.change} to change, "
            f"{summary.destroy} to destroy."
        )
        out.print(plan_table(summary))
        with ApplyProgress(err, total=summary.add + summary.change + summary.destroy) as view:
            provisioner.apply(view)
        for note in provisioner.notes:
            out.print(note)

    return reshape


def _waiter(env: Environment, timeout: int | None) -> Callable[[], Waiter]:
    from hakobu.operate.pausing import Waiter

    seconds = timeout or env.settings.deploy.timeout_seconds
    return lambda: Waiter(timeout=seconds)


class ConsoleProgress:
    """Steps as they start; a wait's status when it changes (or every minute), with the
    time it has taken."""

    def __init__(self) -> None:
        self.last: tuple[str, float] | None = None

    def step(self, text: str) -> None:
        err.print(f"[bold cyan]→ {escape(text)}[/]", markup=True)
        self.last = None

    def database(self, status: str, elapsed: float) -> None:
        self._line(f"DB {status}", elapsed)

    def health(self, health: Health, elapsed: float) -> None:
        self._line(health.text(), elapsed)
        for target_health in health.targets:
            if target_health.state != "healthy":
                err.print(f"    {escape(target_health.text())}", style="dim", markup=True)

    def _line(self, text: str, elapsed: float) -> None:
        shown, at = self.last or ("", -HEARTBEAT_SECONDS)
        if text != shown or elapsed - at >= HEARTBEAT_SECONDS:
            err.print(f"  [{format_seconds(elapsed)}] {escape(text)}", markup=True)
            self.last = (text, elapsed)


# --- rendering --------------------------------------------------------------------------


def _show_steps(steps: list[str]) -> None:
    for step in steps:
        out.print(f"  - {escape(step)}", markup=True)


def _paused_since(record: PauseRecord) -> str:
    return f"paused{' (deep)' if record.deep else ''} since {_when(record.paused_at)}"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _duration(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.0f} h"
    return format_seconds(hours * 3600)


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _show_saving(saving: Saving) -> None:
    headline = f"Estimated saving: {_money(saving.total)} a month"
    if not saving.complete:
        headline += " (incomplete: a price is unknown for this region)"
    out.print(headline + ", from hakobu's price table (`hakobu cost` shows the whole bill):")
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("line", style="bold")
    table.add_column("monthly", justify="right")
    table.add_column("detail", style="dim", overflow="fold")
    for line in saving.lines:
        table.add_row(f"  {line.name}", _money(line.monthly), line.detail)
    out.print(table)
    kept = ", ".join(f"{line.name} {_money(line.monthly)}" for line in saving.kept)
    out.print(
        f"Still billed while paused: {kept or 'DB storage'} a month, DB backups, secrets, "
        "log storage and ECR images."
    )


def _deep_hint(env: Environment, desired_count: int, saving: Saving) -> None:
    from hakobu.operate.pausing import pause_saving
    from hakobu.provision.prices import load_prices

    deep = pause_saving(env, load_prices(), True, desired_count)
    extra = deep.total - saving.total
    if extra > 0:
        out.print(
            f"The NAT Gateway(s) and the ALB keep billing: `hakobu pause {env.name} --deep` "
            f"removes them too (about {_money(extra)} a month more; resume re-creates them)."
        )


def _auto_start_warning(env: Environment, record: PauseRecord) -> None:
    when = record.auto_start_at
    around = f" (around {_when(when)})" if when else ""
    err.print(
        f"[bold yellow]Warning:[/] AWS starts a stopped RDS instance again by itself after "
        f"seven days{around}, and bills it again. To keep `{env.name}` paused, run "
        f"`hakobu pause {env.name}` again before then (it stops the DB again), for example "
        f"from a daily scheduled job: `hakobu pause {env.name} --yes`.",
        markup=True,
        soft_wrap=True,
    )


def _conclude_resume(env: Environment, record: PauseRecord, health: Health | None) -> None:
    from hakobu.operate.pausing import now_utc
    from hakobu.operate.status import revision_of
    from hakobu.provision.cost import HOURS_PER_MONTH

    revision = revision_of(record.task_definition)
    out.print(
        f"[bold]Resumed `{env.name}`:[/] the DB is available, the service is back to "
        f"{record.desired_count} task(s) on {revision}.",
        markup=True,
    )
    hours = (now_utc() - record.paused_at).total_seconds() / 3600
    saved = (
        None if record.monthly_saving is None else record.monthly_saving * hours / HOURS_PER_MONTH
    )
    out.print(
        f"The pause saved an estimated {_money(record.monthly_saving)} a month"
        + ("" if record.saving_complete else " (incomplete: a price was unknown)")
        + f"; paused {_duration(hours)}: about {_money(saved)} in all "
        "(less if AWS started the DB again after seven days)."
    )
    if health is None:
        out.print(
            "The app's health cannot be observed in the sandbox: no container runs there, "
            "so hakobu set the desired count back and claims nothing more."
        )
    else:
        out.print(f"[bold green]Healthy:[/] {escape(health.text())}", markup=True)
