"""hakobu secrets list|set|unset|rotate-db: the app's secrets, injected into its
container as environment variables; each change rolls the app out."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    EnvArg,
    JsonOpt,
    SandboxOpt,
    TimeoutOpt,
    YesOpt,
    env_and,
    plain_table,
)
from hakobu.cli.context import CommandContext

if TYPE_CHECKING:  # imported when a command runs: `hakobu --help` need not pay for them
    from hakobu.operate.secrets import AppSecrets, Revisions
    from hakobu.ship.deploy import DeployResult

secrets_app = typer.Typer(
    help="The app's secrets, injected into its container as environment variables: list "
    "them (values masked), set one from stdin or a hidden prompt, unset one, rotate the "
    "DB password. Each change rolls the app out so new tasks read it.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets", rich_help_panel="Operate")

NameWords = Annotated[
    list[str],
    typer.Argument(metavar="[ENV] NAME", help="Environment (optional) and the variable name."),
]


def _secrets(ctx: CommandContext, timeout: int | None = None) -> AppSecrets:
    from hakobu.cli.rollout_view import ConsoleEvents
    from hakobu.operate.secrets import AppSecrets
    from hakobu.ship import commands
    from hakobu.ship.deploy import RolloutFollower

    env = commands.with_timeout(ctx.env, timeout)
    return AppSecrets(RolloutFollower(env, ctx.target, ConsoleEvents(ctx.err)))


def _read_value(name: str) -> str:
    """The value from stdin when piped, else from a hidden prompt typed twice; never argv,
    which `ps` and shell history show to others."""
    import getpass

    from hakobu.core.errors import InvalidArgument
    from hakobu.operate import secrets as app_secrets

    if not sys.stdin.isatty():
        return app_secrets.value_from_input(sys.stdin.read())
    first = getpass.getpass(f"Value of {name} (hidden): ")
    if getpass.getpass("Again, to confirm: ") != first:
        raise InvalidArgument("the two values differ; nothing was changed", "run it again")
    return first


def _roll_out(ctx: CommandContext, secrets: AppSecrets, arns: Revisions) -> DeployResult:
    """Every service that reads the app secrets (web and each worker) moves; one line each."""
    from hakobu.cli.rollout_view import showing_failure

    with showing_failure(ctx, "rollout"):
        return secrets.roll_out(arns)


def _conclude(ctx: CommandContext, secrets: AppSecrets, result: DeployResult) -> None:
    from hakobu.cli.rollout_view import conclude
    from hakobu.ship.commands import app_url

    env, target = secrets.env, ctx.target
    conclude(ctx, result, "Rolled out", lambda: app_url(env, target))


@secrets_app.command("list")
def list_secrets(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """The secrets the app reads: the ones hakobu manages, then yours. Values are masked."""
    from hakobu.operate.secrets import MASK

    ctx = CommandContext(config, env_name, sandbox)
    secrets = _secrets(ctx)
    entries = secrets.entries(secrets.current())
    if as_json:
        ctx.json([e.as_json() for e in entries], key="secrets")
        return
    table = plain_table("name", "value", "kind", "last changed", "injected", "secret")
    for e in entries:
        kind = f"managed ({e.what})" if e.kind == "managed" else "app"
        changed = e.last_changed.strftime("%Y-%m-%d %H:%M:%S %Z") if e.last_changed else "-"
        state = "yes" if e.injected else "no"
        if not e.exists:
            state += " (secret missing)"
        table.add_row(e.variable, MASK, kind, changed, state, e.secret)
    ctx.out.print(table)
    ctx.out.print("Values are never shown. `hakobu secrets set NAME` adds or changes one.")
    ctx.banner()


@secrets_app.command("set")
def set_secret(
    words: NameWords,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Set secret NAME from stdin (`printf %s "$V" | hakobu secrets set NAME`) or a hidden
    prompt, then roll out web and every worker on revisions that inject it as $NAME (the
    schedules read it from their next run)."""
    env_name, raw = env_and(words, "NAME")
    from hakobu.operate import secrets as app_secrets

    name = app_secrets.validate_name(raw)
    ctx = CommandContext(config, env_name, sandbox)
    secrets = _secrets(ctx, timeout)
    current = secrets.current()
    secrets.check_settable(name, current)  # before the value is typed
    arns = secrets.set(name, _read_value(name), current)
    if arns is None:
        ctx.out.print(f"{name} already has this value and is injected: nothing to roll out.")
        ctx.banner()
        return
    _conclude(ctx, secrets, _roll_out(ctx, secrets, arns))


@secrets_app.command("unset")
def unset_secret(
    words: NameWords,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Stop injecting NAME (new revisions of web and every worker, rolled out), then schedule
    its secret's deletion with Secrets Manager's 30-day recovery window (never forced)."""
    env_name, raw = env_and(words, "NAME")
    from hakobu.operate import secrets as app_secrets
    from hakobu.ship.deploy import DeployError

    name = app_secrets.validate_name(raw)
    ctx = CommandContext(config, env_name, sandbox)
    secrets = _secrets(ctx, timeout)
    arns = secrets.remove_reference(name, secrets.current())
    result = None
    if arns is not None:
        try:
            result = _roll_out(ctx, secrets, arns)
        except DeployError:
            ctx.err.print(f"The secret of {name} was kept: the revision ECS went back to reads it.")
            raise
    if result is None or result.rollout is None or result.rollout.outcome == "COMPLETED":
        # Only once no task can start from a revision that still reads it.
        when = secrets.schedule_deletion(name)
        gone = f" on {when:%Y-%m-%d}" if when else ""
        ctx.out.print(
            f"Scheduled the deletion of {secrets.secret_name(name)}{gone}; until then "
            f"`hakobu secrets set {name}` restores it. Older revisions still read it."
        )
    else:
        ctx.err.print(f"The secret of {name} was kept; run this again once the rollout is done.")
    if result is None:
        ctx.banner()
    else:
        _conclude(ctx, secrets, result)


@secrets_app.command("rotate-db")
def rotate_db(
    env_name: EnvArg = None,
    yes: YesOpt = False,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Give the database a new master password and roll the app out to use it.

    Order: the new password is stored as AWSPENDING, set on RDS, made AWSCURRENT once RDS
    applied it, then the service rolls out. Open connections survive; new connections from
    old tasks fail until the rollout replaces them (usually a few minutes).
    """
    from hakobu.ship.processes import processes_of

    ctx = CommandContext(config, env_name, sandbox)
    if not yes and not ctx.confirm(
        f"Rotate the DB password of {ctx.env.name}? Old tasks cannot open new DB connections "
        "until the rollout replaces them."
    ):
        ctx.give_up()
    secrets = _secrets(ctx, timeout)
    current = secrets.current()
    secrets.rotate_db_password()
    try:
        arns = secrets.redeploy(current, "secrets rotate-db")
        result = _roll_out(ctx, secrets, arns)
    except Exception:
        commands = "; ".join(
            f"`aws ecs update-service --cluster {secrets.names.cluster} --service "
            f"{process.service} --force-new-deployment`"
            for process in processes_of(secrets.env)  # web and each worker read it
        )
        ctx.err.print(
            "The password was rotated (database and secret agree), but the app was not "
            f"rolled out: run {commands} so tasks read it."
        )
        raise
    _conclude(ctx, secrets, result)
