"""Schedules: `hakobu schedules` lists them, `hakobu schedules run NAME` starts one now."""

from __future__ import annotations

from typing import Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, JsonOpt, SandboxOpt, plain_table
from hakobu.cli.context import CommandContext

PANEL = "Operate"
# An option, not the usual [ENV] argument: a positional here would swallow `run`.
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment (default: the only one, or production)."),
]
schedules_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    help="The [[schedules]] of hakobu.toml: expression, time zone, next run, last result.",
)
app.add_typer(schedules_app, name="schedules", rich_help_panel=PANEL)


@schedules_app.callback()
def schedules(
    typer_ctx: typer.Context,
    env_name: EnvOpt = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Each schedule: its expression and time zone, the next run (computed locally) and the
    last run's result (exit code), as ECS still remembers it (about an hour)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    from hakobu.operate.schedules import list_schedules

    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    if not env.settings.schedules:
        ctx.out.print("No [[schedules]] in hakobu.toml.", markup=False)
        return
    views = list_schedules(ctx.target, env)
    if as_json:
        ctx.json([view.as_json() for view in views], key="schedules")
        return
    table = plain_table("name", "expression", "time zone", "state", "next run", "last result")
    for view in views:
        table.add_row(
            view.name,
            view.expression,
            view.timezone,
            view.state,
            view.next_run.strftime("%Y-%m-%d %H:%M %Z") if view.next_run else "-",
            view.last.text() if view.last else "unknown (none in the last hour)",
        )
    ctx.out.print(table)
    ctx.banner()


@schedules_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="The schedule's name in [[schedules]].")],
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Start schedule NAME now, as Scheduler would (the deployed release, its command), print
    its output and exit with its exit code."""
    from hakobu.cli.rollout_view import ConsoleEvents
    from hakobu.cli.session_commands import conclude_run
    from hakobu.operate.schedules import find, run_schedule

    ctx = CommandContext(config, env_name, sandbox)
    command = find(ctx.env, name).command  # an unknown name fails before any call
    result = run_schedule(ctx.target, ctx.env, name, ConsoleEvents(ctx.err))
    conclude_run(ctx, result, command)
    ctx.banner()
    raise typer.Exit(result.exit_code)
