"""The `hakobu` command line: the app object, its global options and its entry point.

Commands live in one module per command group; each parses, calls one library function
through its `CommandContext` (cli/context.py) and renders. Errors are turned into
messages in one place, cli/boundary.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hakobu import __version__
from hakobu.cli.help import HelpGroup

app = typer.Typer(
    cls=HelpGroup,  # hakobu's help screens (cli/help.py), without typer's rich_utils
    help="Provision a production web stack on AWS, ship your app onto it and operate it, "
    "from one hakobu.toml.\n\nStart with `hakobu init`, try everything locally with "
    "`hakobu up --sandbox`, then `hakobu up` for real.",
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    invoke_without_command=True,
)


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", help="Print hakobu's version and exit.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="With --version: also Python, boto3, Terraform/OpenTofu and moto (for a "
            "bug report).",
        ),
    ] = False,
    traceback: Annotated[
        bool,
        typer.Option(
            "--traceback",
            help="On an error, also print the traceback (for a bug report; also "
            "HAKOBU_TRACEBACK=1). Accepted after the command's name too.",
        ),
    ] = False,
) -> None:
    # --traceback is read by cli/boundary.py from the command line itself; declared here
    # so that --help lists it.
    del traceback
    if version:
        from hakobu.cli.versions import version_lines

        for line in version_lines(verbose):
            typer.echo(line)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


__all__ = ["__version__", "app"]
