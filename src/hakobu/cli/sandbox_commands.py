"""`hakobu sandbox start|stop|status|env`: the local AWS emulator behind --sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.context import current_consoles, write_json

if TYPE_CHECKING:
    from hakobu.sandbox.report import SandboxStatus

sandbox_app = typer.Typer(
    help="The local AWS emulator behind --sandbox: no account, no credentials, no bill.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox", rich_help_panel="Try it locally")


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
def sandbox_status(
    directory: Annotated[Path, typer.Option("--dir")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Say whether the emulator runs, where, and what its runtime runs: the engine, the
    load balancers' local URLs, each task container and each database."""
    from rich.markup import escape

    from hakobu.sandbox.report import sandbox_status as gather

    consoles = current_consoles()
    status = gather(directory.resolve())
    if as_json:
        write_json(consoles, status.as_json(), key="sandbox")
    else:
        for line in status_lines(status):
            consoles.out.print(escape(line), markup=True, soft_wrap=True)
    if status.server is None:
        raise typer.Exit(1)


def status_lines(status: SandboxStatus) -> list[str]:
    server, runtime = status.server, status.runtime
    if server is None:
        return ["No sandbox is running (`hakobu sandbox start`, or any command with --sandbox)."]
    lines = [f"Sandbox running on {server.endpoint} (pid {server.pid}, since {server.started_at})."]
    if status.replayed_attempts:
        from hakobu.sandbox.retried_attempts import REPLAYED

        lines.append(
            f"Retried SDK attempts answered with their first answer: {status.replayed_attempts} "
            f'(lines "{REPLAYED}" in .hakobu/sandbox.log).'
        )
    if runtime is None:
        return [
            *lines,
            "Runtime: none: no container runs (no podman or docker found, or still starting; "
            "see .hakobu/sandbox.log).",
        ]
    lines.append(f"Runtime: {runtime.engine}")
    lines += [f"Load balancer {name}: {url}" for name, url in runtime.load_balancers.items()]
    lines.append(f"Containers: {len(runtime.containers) or 'none'}")
    for c in runtime.containers:
        kind = f"service {c.service}" if c.service else "one-off"
        port = f"127.0.0.1:{c.host_port}" if c.host_port else "no port"
        lines.append(f"  task {c.task_id}  {c.status:<12} {kind}  {c.name}  {port}")
    lines.append(f"Databases: {len(runtime.databases) or 'none'}")
    for d in runtime.databases:
        state = "running" if d.running else "stopped"
        lines.append(f"  {d.identifier}  {d.engine}  {d.host}:{d.port}  {state}")
    return lines


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
