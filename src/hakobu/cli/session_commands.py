"""Interactive and one-off commands in the app's environment: exec, console, run, db."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperCommand

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, SandboxOpt
from hakobu.cli.context import CommandContext

if TYPE_CHECKING:  # imported when a command runs: `hakobu --help` need not pay for them
    from hakobu.core.config import Environment
    from hakobu.operate import sandbox_sessions, sessions

EXIT_INTERRUPTED = 130

COMMAND_KEY = "hakobu.command"
PANEL = "Operate"

TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="Connect to this task (id or ARN) instead of the service's first running one.",
    ),
]
TunnelPortOpt = Annotated[
    int | None,
    typer.Option(
        "--port",
        "-p",
        min=1,
        max=65535,
        help="Local port on 127.0.0.1 (default: 13306 for MySQL, 15432 for PostgreSQL).",
        show_default=False,
    ),
]

db_app = typer.Typer(
    help="The database: a tunnel to it, a mysql or psql shell, its password.", no_args_is_help=True
)
app.add_typer(db_app, name="db", rich_help_panel=PANEL)


class DashCommand(TyperCommand):
    """A command taking `[-- COMMAND...]`: everything after `--` is the command to run.

    Click (typer's own copy of it) drops `--` and would hand its first word to the
    optional [ENV] argument, so the arguments are split here, before the ones in front of
    `--` are parsed. The context is typer's (`typer.Context`): hakobu does not depend on
    the `click` package, which typer no longer needs.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            args, ctx.meta[COMMAND_KEY] = args[:split], args[split + 1 :]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[-- COMMAND...]"]


def _command(ctx: typer.Context) -> list[str]:
    return list(ctx.meta.get(COMMAND_KEY, []))


@contextmanager
def _interruptible(ctx: CommandContext) -> Iterator[None]:
    """Ctrl-C before the session starts: say so (not the CLI's Terraform message)."""
    try:
        yield
    except KeyboardInterrupt:
        ctx.err.print("\nInterrupted; nothing was left open.")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _notes(ctx: CommandContext) -> Callable[[str], None]:
    from rich.markup import escape

    def note(message: str) -> None:
        # stderr, unwrapped: stdout belongs to the session, and host names must stay whole.
        ctx.err.print(escape(message), markup=True, soft_wrap=True)

    return note


@app.command("exec", cls=DashCommand, rich_help_panel=PANEL)
def exec_(
    typer_ctx: typer.Context,
    env_name: EnvArg = None,
    task: TaskOpt = None,
    process: Annotated[
        str | None,
        typer.Option(
            "--process", "-p", help="A task of this process: web (default) or a [processes.NAME]."
        ),
    ] = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Open a shell (or run `-- COMMAND`) in a running task of the service, with ECS Exec.

    The default shell is bash when the image has it, else sh. Needs the Session Manager
    plugin, as `aws ecs execute-command` does. The exit code is the plugin's: ECS Exec does
    not report the remote command's, so use `hakobu run` when the exit code matters.
    With --sandbox it is `podman|docker exec` in the task's container (a terminal when
    stdin is one), and the exit code is the command's.
    """
    from hakobu.operate import sessions

    ctx = CommandContext(config, env_name, sandbox)
    command = _command(typer_ctx) or sessions.SHELL_COMMAND
    service = sessions.process_service(ctx.env, process)  # an unknown name calls nothing
    raise typer.Exit(_open_session(ctx, command, task, service))


def _open_session(
    ctx: CommandContext, command: list[str], task: str | None, service: str | None = None
) -> int:
    """`exec` and `console`: ECS Exec on AWS, the container engine in the sandbox."""
    from hakobu.operate import sandbox_sessions, sessions

    notes = _notes(ctx)
    with _interruptible(ctx):
        if ctx.sandbox:
            return sandbox_sessions.exec_session(
                ctx.target, ctx.env, command, task, notes, service=service
            )
        return sessions.exec_session(ctx.target, ctx.env, command, task, notes, service)


@app.command(rich_help_panel=PANEL)
def console(
    env_name: EnvArg = None,
    task: TaskOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Open the framework's console in a running task: `bin/rails console` (Rails) or
    `python manage.py shell` (Django). With --sandbox, in the task's container."""
    from hakobu.operate import sessions

    ctx = CommandContext(config, env_name, sandbox)
    raise typer.Exit(_open_session(ctx, sessions.console_command(ctx.env), task))


@app.command(cls=DashCommand, rich_help_panel=PANEL)
def run(
    typer_ctx: typer.Context,
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Run `-- COMMAND` as a one-off task of the service's current revision, print its
    output, and exit with its exit code.

    The task runs where the service's tasks run (private subnets, the service's security
    groups) and does not need a healthy service: the reliable way to run
    `bin/rails db:migrate` or a rake task. Example: `hakobu run -- bin/rails db:migrate`.
    """
    from hakobu.cli.rollout_view import ConsoleEvents
    from hakobu.core.names import Names
    from hakobu.operate import sessions

    command = _command(typer_ctx)
    if not command:
        raise typer.BadParameter(
            "give the command after --, e.g. `hakobu run -- bin/rails db:migrate`",
            param_hint="COMMAND",
        )
    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    try:
        result = sessions.run_one_off(ctx.target, env, command, ConsoleEvents(ctx.err))
    except KeyboardInterrupt:
        names = Names.of(env)
        ctx.err.print(
            "\nStopped following. The task goes on in AWS; stop it with `aws ecs stop-task "
            f"--cluster {names.cluster} --task TASK_ID`, or follow it with `hakobu logs`."
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    conclude_run(ctx, result, command)
    ctx.banner()
    raise typer.Exit(result.exit_code)


def conclude_run(ctx: CommandContext, result: sessions.RunResult, command: list[str]) -> None:
    """What a one-off task did (`hakobu run`, `hakobu schedules run`)."""
    from rich.markup import escape

    from hakobu.core.errors import HakobuError

    shown = escape(shlex.join(command))
    ident = result.task_id
    outcome = result.outcome
    if outcome is None:
        ctx.out.print(
            f"Task {ident} was started with `{shown}`. The sandbox runs no containers here "
            "(no podman or docker found), so the command did not run and there is no exit "
            "code to report."
        )
    elif outcome.exit_code is None:
        why = outcome.stopped_reason or outcome.container_reason or "no reason given"
        raise HakobuError(
            f"task {ident} stopped before `{shlex.join(command)}` could exit: {why}"
            + (f" [{outcome.stop_code}]" if outcome.stop_code else ""),
            "`hakobu status` shows the service and its events; a CannotPullContainerError "
            "means the image is missing or the private subnets cannot reach ECR",
        )
    elif outcome.exit_code == 0:
        ctx.out.print(f"[green]`{shown}` exited 0[/] (task {ident}).", markup=True)
    else:
        ctx.err.print(
            f"[bold red]`{shown}` exited {outcome.exit_code}[/] (task {ident}).", markup=True
        )


@db_app.command("tunnel")
def db_tunnel(
    env_name: EnvArg = None,
    port: TunnelPortOpt = None,
    task: TaskOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Forward 127.0.0.1:PORT to the database through a running task (SSM port
    forwarding), until Ctrl-C. Connect any MySQL (or PostgreSQL) client to it.

    With --sandbox no tunnel is needed: the sandbox's database already listens on
    127.0.0.1, so this prints where (host, port, user, database) and exits; --port and
    --task are not used.
    """
    from hakobu.core.engines import engine
    from hakobu.operate import sandbox_sessions, sessions

    ctx = CommandContext(config, env_name, sandbox)
    if sandbox:
        _describe_local(ctx, ctx.env, sandbox_sessions.local_database(ctx.target, ctx.env))
        ctx.banner()
        return
    local_port = port or engine(ctx.env.settings.database.engine).tunnel_port
    with _interruptible(ctx):
        plan = sessions.plan_tunnel(ctx.target, ctx.env, local_port, task)
        _describe_tunnel(ctx, ctx.env, plan)
        code = sessions.forward_port(ctx.target, plan)
    raise typer.Exit(code)


def _describe_local(
    ctx: CommandContext, env: Environment, local: sandbox_sessions.LocalDatabase
) -> None:
    db = local.database
    state = "" if local.running else f" (not running now: `hakobu resume {env.name} --sandbox`)"
    headline = f"The sandbox's database listens on {db.host}:{db.port}: no tunnel is needed{state}."
    _print_connection(ctx, env, headline, db.host, db.port, db.user, db.name, " --sandbox")


def _describe_tunnel(ctx: CommandContext, env: Environment, plan: sessions.TunnelPlan) -> None:
    db = plan.database
    headline = (
        f"Forwarding 127.0.0.1:{plan.local_port} to {db.host}:{db.port} through task "
        f"{plan.task.task_id}. Ctrl-C closes it."
    )
    _print_connection(ctx, env, headline, "127.0.0.1", plan.local_port, db.user, db.name, "")


def _print_connection(
    ctx: CommandContext,
    env: Environment,
    headline: str,
    host: str,
    port: int,
    user: str,
    name: str,
    flags: str,
) -> None:
    """`headline`, then what a client connects with and the example command for the
    engine; `flags` (" --sandbox" or "") goes after the environment in hakobu commands."""
    from rich.markup import escape

    from hakobu.core.engines import engine
    from hakobu.operate.db_clients import tunnel_example

    family = engine(env.settings.database.engine).family
    lines = [
        headline,
        f"  host:     {host}",
        f"  port:     {port}",
        f"  user:     {user}",
        f"  database: {name}",
        f"  password: `hakobu db password {env.name}{flags} --reveal`",
        f"  e.g.      {tunnel_example(family, port, user, name)}",
        f"  (or simply `hakobu db shell {env.name}{flags}`)",
    ]
    for line in lines:
        ctx.out.print(escape(line), markup=True, soft_wrap=True)


@db_app.command("shell")
def db_shell(
    env_name: EnvArg = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=1, max=65535, help="Local port (default: a free one)."),
    ] = None,
    task: TaskOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Open the database's client (mysql, or psql for PostgreSQL) on it, through a tunnel
    that closes when it exits.

    The password goes to the client in a private file (mode 0600, deleted afterwards: a
    mysql option file, or psql's PGPASSFILE), never on its command line. With --sandbox,
    the local client connects straight to the sandbox's database on 127.0.0.1. SQL piped
    on stdin runs as a script.
    """
    from hakobu.core.engines import engine
    from hakobu.operate import db_clients, sandbox_sessions, sessions

    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    if sandbox:
        with _interruptible(ctx):
            local = sandbox_sessions.local_database(ctx.target, env)
            db = local.database
            _notes(ctx)(f"Connecting to {db.name} as {db.user} on {db.host}:{db.port}...")
            code = sandbox_sessions.db_shell(ctx.target, env, local)
        raise typer.Exit(code)
    sessions.require_plugin()
    db_clients.require_client(
        engine(env.settings.database.engine).family,
        also=". Or open a tunnel with `hakobu db tunnel` and connect any client to it",
    )
    aws = ctx.target
    with _interruptible(ctx):
        plan = sessions.plan_tunnel(aws, env, port or sessions.free_port(), task)
        db = plan.database
        _notes(ctx)(f"Connecting to {db.name} as {db.user} through task {plan.task.task_id}...")
        code = sessions.db_shell(aws, env, plan)
    raise typer.Exit(code)


@db_app.command("password")
def db_password(
    env_name: EnvArg = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Print the password itself (only here).")
    ] = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Where the database password is and when it changed; `--reveal` prints it."""
    from rich.markup import escape

    from hakobu.operate import sessions

    ctx = CommandContext(config, env_name, sandbox)
    env, aws = ctx.env, ctx.target
    if reveal:
        # The only place hakobu prints a secret: plain stdout, so it can be piped.
        ctx.consoles.write(sessions.db_password(aws, env) + "\n")
        return
    info = sessions.db_password_info(aws, env)
    changed = info.last_changed.isoformat(timespec="seconds") if info.last_changed else "unknown"
    ctx.out.print(
        escape(
            f"The password of {env.settings.database.username} is in Secrets Manager as "
            f"{info.secret} (last changed {changed}). "
            f"`hakobu db password {env.name} --reveal` prints it."
        ),
        markup=True,
    )
    ctx.banner()
