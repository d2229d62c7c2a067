"""The `hakobu` command line: the app object, shared options and error reporting.

Commands live in one module per concern (provisioning, sandbox, deploying); each only
parses, calls the library and renders. No logic lives in the CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape

from hakobu.cli.ui import SANDBOX_BANNER
from hakobu.core.config import Environment, load_project
from hakobu.core.errors import HakobuError, aws_error
from hakobu.core.target import Target
from hakobu.core.workspace import forget_sandbox_state
from hakobu.sandbox import emulator as sandbox_server

app = typer.Typer(
    help="Provision a production web stack on AWS, ship your app onto it and operate it, "
    "from one hakobu.toml.\n\nStart with `hakobu init`, try everything locally with "
    "`hakobu up --sandbox`, then `hakobu up` for real.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

EnvArg = Annotated[
    str | None,
    typer.Argument(
        metavar="[ENV]",
        help="Environment, a section of hakobu.toml (default: the only one, or production).",
        show_default=False,
    ),
]
SandboxOpt = Annotated[
    bool,
    typer.Option(
        "--sandbox", help="Run against the local AWS emulator instead of your AWS account."
    ),
]
ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Path to hakobu.toml.", envvar="HAKOBU_CONFIG")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def main() -> None:
    try:
        app()
    except HakobuError as exc:
        report(exc)
        sys.exit(exc.exit_code)
    except (BotoCoreError, ClientError) as exc:
        error = aws_error(exc)
        report(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        # Terraform received the same Ctrl-C and stopped cleanly, recording in the state
        # what it had finished; nothing is half-known, so the next run simply continues.
        err.print(
            "\nInterrupted. Terraform saved what it had finished; run the same command "
            "again to continue from there."
        )
        sys.exit(130)


def report(exc: HakobuError) -> None:
    # Messages quote TOML ("[environments.staging]"): never read them as Rich markup.
    err.print(f"[bold red]Error:[/] {escape(exc.problem)}", markup=True, soft_wrap=True)
    if exc.fix:
        err.print(f"[bold]Fix:[/] {escape(exc.fix)}", markup=True, soft_wrap=True)


def environment(config: Path, name: str | None) -> Environment:
    return load_project(config).environment(name)


def target(env: Environment, sandbox: bool) -> Target:
    if not sandbox:
        return Target(region=env.region)
    server, started = sandbox_server.start(env.root)
    if started:
        forget_sandbox_state(env.root)  # a new emulator starts empty: so does its state
        err.print(
            f"Started the sandbox AWS emulator on {server.endpoint} "
            "(`hakobu sandbox stop` ends it)."
        )
    return Target(
        region=env.region,
        endpoint_url=server.endpoint,
        variables=sandbox_server.client_environment(server, env.region),
        masked=sandbox_server.MASKED_VARIABLES,
    )


def sandbox_banner(sandbox: bool) -> None:
    if sandbox:
        out.print(f"[bold yellow]{SANDBOX_BANNER}[/]", markup=True)
