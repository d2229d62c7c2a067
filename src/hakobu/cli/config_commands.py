"""Commands that change the running app's settings: scale and secrets."""

from __future__ import annotations

import getpass
import json
import sys
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hakobu.cli.app import (
    ConfigOpt,
    EnvArg,
    JsonOpt,
    SandboxOpt,
    YesOpt,
    app,
    environment,
    err,
    out,
    sandbox_banner,
    target,
)
from hakobu.cli.deploying import TimeoutOpt, _conclude, _deployer, _run, _with_timeout
from hakobu.core.config import CONFIG_FILE, Environment
from hakobu.core.target import Target
from hakobu.operate import scaling
from hakobu.operate import secrets as app_secrets
from hakobu.operate.scaling import InvalidArgument, parse_count
from hakobu.operate.secrets import MASK, AppSecrets
from hakobu.ship.deploy import DeployError, DeployResult

secrets_app = typer.Typer(
    help="The app's secrets, injected into its container as environment variables: list "
    "them (values masked), set one from stdin or a hidden prompt, unset one, rotate the "
    "DB password. Each change rolls the app out so new tasks read it.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets", rich_help_panel="Operate")


def _env_and(words: list[str], what: str) -> tuple[str | None, str]:
    """`[ENV] VALUE` positionals: the environment is optional and comes first, as in
    every hakobu command (click cannot put an optional argument before a required one)."""
    if len(words) == 1:
        return None, words[0]
    if len(words) == 2:
        return words[0], words[1]
    raise InvalidArgument(
        f"expected [ENV] {what}, got {len(words)} arguments",
        f"for example: hakobu {'scale production 3' if what == 'COUNT' else 'secrets set KEY'}",
    )


# --- scale ------------------------------------------------------------------------------


@app.command(rich_help_panel="Operate")
def scale(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[ENV] COUNT",
            help="Environment (optional) and the number of tasks, 0 to 100.",
            show_default=False,
        ),
    ],
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Run COUNT tasks now, and record it in hakobu.toml so the next plan agrees.

    Calls ECS directly (no Terraform run) and writes `service.desired_count` into the
    environment's own `[environments.NAME]` section, keeping every comment.
    """
    env_name, raw = _env_and(words, "COUNT")
    count = parse_count(raw)  # before anything else: a bad count calls nothing
    env = environment(config, env_name)
    aws = target(env, sandbox)
    result = scaling.scale(env, aws, count, config)
    if as_json:
        print(json.dumps({"version": 1, "scale": result.as_json()}, indent=2))
        return
    change = "unchanged" if result.previous == count else f"{result.previous} → {count}"
    out.print(f"{escape(result.service)} ({env.name}): desired count {change}")
    if result.config_key:
        out.print(f"Recorded in {config}: {result.config_key} = {count}")
    else:
        out.print(f"{config} already says {count}.")
    if aws.sandbox:
        out.print("The emulator runs no containers: no task starts or stops.")
    elif result.previous != count:
        out.print(f"ECS starts or stops tasks now; `hakobu status {env.name}` shows them.")
    sandbox_banner(aws.sandbox)


# --- secrets ----------------------------------------------------------------------------

NameWords = Annotated[
    list[str],
    typer.Argument(metavar="[ENV] NAME", help="Environment (optional) and the variable name."),
]


def _secrets(env: Environment, aws: Target) -> AppSecrets:
    return AppSecrets(_deployer(env, aws))


def _read_value(name: str) -> str:
    """The value from stdin when piped, else from a hidden prompt typed twice; never argv,
    which `ps` and shell history show to others."""
    if not sys.stdin.isatty():
        return app_secrets.value_from_input(sys.stdin.read())
    first = getpass.getpass(f"Value of {name} (hidden): ")
    if getpass.getpass("Again, to confirm: ") != first:
        raise InvalidArgument("the two values differ; nothing was changed", "run it again")
    return first


def _roll_out(env: Environment, aws: Target, secrets: AppSecrets, arn: str) -> DeployResult:
    return _run(env, "rollout", partial(app_secrets.roll_out, secrets.deployer, arn))


@secrets_app.command("list")
def list_secrets(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """The secrets the app reads: the ones hakobu manages, then yours. Values are masked."""
    env = environment(config, env_name)
    aws = target(env, sandbox)
    secrets = _secrets(env, aws)
    entries = secrets.entries(secrets.current())
    if as_json:
        print(json.dumps({"version": 1, "secrets": [e.as_json() for e in entries]}, indent=2))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "value", "kind", "last changed", "injected", "secret"):
        table.add_column(column)
    for e in entries:
        kind = f"managed ({e.what})" if e.kind == "managed" else "app"
        changed = e.last_changed.strftime("%Y-%m-%d %H:%M:%S %Z") if e.last_changed else "-"
        state = "yes" if e.injected else "no"
        if not e.exists:
            state += " (secret missing)"
        table.add_row(e.variable, MASK, kind, changed, state, e.secret)
    out.print(table)
    out.print("Values are never shown. `hakobu secrets set NAME` adds or changes one.")
    sandbox_banner(aws.sandbox)


@secrets_app.command("set")
def set_secret(
    words: NameWords,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Set secret NAME from stdin (`printf %s "$V" | hakobu secrets set NAME`) or a hidden
    prompt, then roll out a revision that injects it as $NAME."""
    env_name, raw = _env_and(words, "NAME")
    name = app_secrets.validate_name(raw)
    env = _with_timeout(environment(config, env_name), timeout)
    aws = target(env, sandbox)
    secrets = _secrets(env, aws)
    current = secrets.current()
    secrets.check_settable(name, current)  # before the value is typed
    arn = secrets.set(name, _read_value(name), current)
    if arn is None:
        out.print(f"{name} already has this value and is injected: nothing to roll out.")
        sandbox_banner(aws.sandbox)
        return
    _conclude(env, aws, _roll_out(env, aws, secrets, arn), "Rolled out")


@secrets_app.command("unset")
def unset_secret(
    words: NameWords,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Stop injecting NAME (a new revision, rolled out), then schedule its secret's
    deletion with Secrets Manager's 30-day recovery window (never forced)."""
    env_name, raw = _env_and(words, "NAME")
    name = app_secrets.validate_name(raw)
    env = _with_timeout(environment(config, env_name), timeout)
    aws = target(env, sandbox)
    secrets = _secrets(env, aws)
    arn = secrets.remove_reference(name, secrets.current())
    result = None
    if arn is not None:
        try:
            result = _roll_out(env, aws, secrets, arn)
        except DeployError:
            err.print(f"The secret of {name} was kept: the revision ECS went back to reads it.")
            raise
    if result is None or result.rollout is None or result.rollout.outcome == "COMPLETED":
        # Only once no task can start from a revision that still reads it.
        when = secrets.schedule_deletion(name)
        gone = f" on {when:%Y-%m-%d}" if when else ""
        out.print(
            f"Scheduled the deletion of {secrets.secret_name(name)}{gone}; until then "
            f"`hakobu secrets set {name}` restores it. Older revisions still read it."
        )
    else:
        err.print(f"The secret of {name} was kept; run this again once the rollout is done.")
    if result is None:
        sandbox_banner(aws.sandbox)
    else:
        _conclude(env, aws, result, "Rolled out")


@secrets_app.command("rotate-db")
def rotate_db(
    env_name: EnvArg = None,
    yes: YesOpt = False,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Give the database a new master password and roll the app out to use it.

    Order: the new password is stored as AWSPENDING, set on RDS, made AWSCURRENT once RDS
    applied it, then the service rolls out. Open connections survive; new connections from
    old tasks fail until the rollout replaces them (usually a few minutes).
    """
    env = _with_timeout(environment(config, env_name), timeout)
    if not yes and not typer.confirm(
        f"Rotate the DB password of {env.name}? Old tasks cannot open new DB connections "
        "until the rollout replaces them.",
        default=False,
    ):
        out.print("Nothing was changed.")
        raise typer.Exit(1)
    aws = target(env, sandbox)
    secrets = _secrets(env, aws)
    current = secrets.current()
    secrets.rotate_db_password()
    try:
        arn = secrets.redeploy(current, "secrets rotate-db")
        result = _roll_out(env, aws, secrets, arn)
    except Exception:
        err.print(
            "The password was rotated (database and secret agree), but the app was not "
            f"rolled out: run `aws ecs update-service --cluster {secrets.names.cluster} "
            f"--service {secrets.names.service} --force-new-deployment` so tasks read it."
        )
        raise
    _conclude(env, aws, result, "Rolled out")
