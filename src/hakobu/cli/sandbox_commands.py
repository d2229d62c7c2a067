"""`hakobu sandbox start|stop|status|env`: the local AWS emulator behind --sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hakobu.cli.context import current_consoles

sandbox_app = typer.Typer(
    help="The local AWS emulator behind --sandbox: no account, no credentials, no bill.",
    no_args_is_help=True,
)


@sandbox_app.command("start")
def sandbox_start(directory: Annotated[Path, typer.Option("--dir")] = Path(".")) -> None:
    """Start the emulator in the background (reused by every --sandbox command)."""
    from hakobu.core.workspace import forget_sandbox_state
    from hakobu.sandbox import emulator as sandbox_server

    server, started = sandbox_server.start(directory.resolve())
    if started:
        forget_sandbox_state(directory.resolve())  # a new emulator starts empty
    verb = "Started" if started else "Already running:"
    current_consoles().out.print(f"{verb} sandbox on {server.endpoint} (pid {server.pid}).")


@sandbox_app.command("stop")
def sandbox_stop(directory: Annotated[Path, typer.Option("--dir")] = Path(".")) -> None:
    """Stop the emulator; everything created in it is gone (and so is its state)."""
    from hakobu.core.workspace import forget_sandbox_state
    from hakobu.sandbox import emulator as sandbox_server

    stopped = sandbox_server.stop(directory.resolve())
    forget_sandbox_state(directory.resolve())
    current_consoles().out.print("Stopped the sandbox." if stopped else "No sandbox was running.")


@sandbox_app.command("status")
def sandbox_status(directory: Annotated[Path, typer.Option("--dir")] = Path(".")) -> None:
    """Say whether the emulator runs, and where."""
    from hakobu.sandbox import emulator as sandbox_server

    out = current_consoles().out
    server = sandbox_server.running(directory.resolve())
    if server is None:
        out.print("No sandbox is running (`hakobu sandbox start`, or any command with --sandbox).")
        raise typer.Exit(1)
    out.print(
        f"Sandbox running on {server.endpoint} (pid {server.pid}, since {server.started_at})."
    )


@sandbox_app.command("env")
def sandbox_env(
    directory: Annotated[Path, typer.Option("--dir")] = Path("."),
    region: Annotated[str, typer.Option(help="Region to export.")] = "ap-northeast-1",
) -> None:
    """Print shell exports so the guide's own `aws ...` commands run against the sandbox:
    `eval "$(hakobu sandbox env)"`."""
    from hakobu.core.errors import HakobuError
    from hakobu.sandbox import emulator as sandbox_server

    server = sandbox_server.running(directory.resolve())
    if server is None:
        raise HakobuError("no sandbox is running", "start one with `hakobu sandbox start`")
    current_consoles().write(sandbox_server.shell_exports(server, region) + "\n")
