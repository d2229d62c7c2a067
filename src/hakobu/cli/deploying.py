"""Shipping commands: deploy, rollback, releases, images."""

from __future__ import annotations

from typing import Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    EnvArg,
    JsonOpt,
    SandboxOpt,
    TimeoutOpt,
    plain_table,
)
from hakobu.cli.context import CommandContext

PANEL = "Ship"
ImageOpt = Annotated[
    str | None,
    typer.Option(
        "--image",
        help="Deploy this prebuilt image (repository:tag or repository@sha256:...) "
        "instead of building one; for CI pipelines that build elsewhere.",
    ),
]
BuilderOpt = Annotated[
    str | None,
    typer.Option(
        "--builder",
        help="docker, podman or buildah (default: deploy.builder, else the first found).",
    ),
]


@app.command(rich_help_panel=PANEL)
def deploy(
    env_name: EnvArg = None,
    image: ImageOpt = None,
    builder: BuilderOpt = None,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Build, push, migrate and roll out the app in one command.

    The image is tagged with the git commit and the service runs its digest; the release
    command (migrations) runs as a one-off task of the new revision before the service
    moves; the rollout is followed until it completes or the circuit breaker rolls it back.
    No Terraform runs: a code deploy changes no infrastructure.
    """
    from hakobu.cli.rollout_view import ConsoleEvents, conclude, showing_failure
    from hakobu.ship import commands

    ctx = CommandContext(config, env_name, sandbox)
    env = commands.with_timeout(ctx.env, timeout)
    target = ctx.target
    with showing_failure(ctx, "deploy"):
        result = commands.deploy(env, target, ConsoleEvents(ctx.err), image, builder)
    conclude(ctx, result, "Deployed", lambda: commands.app_url(env, target))


@app.command(rich_help_panel=PANEL)
def rollback(
    env_name: EnvArg = None,
    to: Annotated[
        int | None,
        typer.Option(
            "--to",
            help="Task-definition revision to go back to (default: the one before the current).",
        ),
    ] = None,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Move the service back to the previous (or a given) revision, followed like a deploy."""
    from hakobu.cli.rollout_view import ConsoleEvents, conclude, showing_failure
    from hakobu.ship import commands

    ctx = CommandContext(config, env_name, sandbox)
    env = commands.with_timeout(ctx.env, timeout)
    target = ctx.target
    with showing_failure(ctx, "rollback"):
        result = commands.roll_back(env, target, ConsoleEvents(ctx.err), to)
    conclude(ctx, result, "Rolled back to", lambda: commands.app_url(env, target))


@app.command(rich_help_panel=PANEL)
def releases(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """The deploy history, newest first: revision, image tag, digest, commit, when, who."""
    from hakobu.ship import commands

    ctx = CommandContext(config, env_name, sandbox)
    records = commands.releases(ctx.env, ctx.target)
    # Workers run the same image as web: each release's revision of every worker.
    per_process = commands.process_revisions(ctx.env, ctx.target, records)
    if as_json:
        rows = [r.as_json() | {"processes": p} for r, p in zip(records, per_process, strict=True)]
        ctx.json(rows, key="releases")
        return
    workers = list(per_process[0]) if per_process else []
    table = plain_table(
        "", "revision", "image tag", "digest", "commit", "deployed at", "by", *workers
    )
    for r, revisions in zip(records, per_process, strict=True):
        table.add_row(
            "*" if r.current else "",
            str(r.revision),
            r.image_tag or "-",
            (r.digest or "-")[:19],
            (r.commit or "-")[:12],
            r.deployed_at or "-",
            (r.deployed_by or "-").rsplit("/", 1)[-1],
            *(revisions[name] for name in workers),
        )
    ctx.out.print(table)
    ctx.out.print("* = what the service runs now. `hakobu rollback --to REVISION` goes back.")


@app.command(rich_help_panel=PANEL)
def images(
    env_name: EnvArg = None,
    count: Annotated[int, typer.Option("--count", "-n", help="How many, newest first.")] = 5,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """The newest images in the environment's ECR repository."""
    from hakobu.ship import commands

    ctx = CommandContext(config, env_name, sandbox)
    records = commands.images(ctx.env, ctx.target, count)
    if as_json:
        ctx.json([r.as_json() for r in records], key="images")
        return
    table = plain_table("tags", "digest", "pushed at", "size (MB)")
    for r in records:
        table.add_row(", ".join(r.tags) or "-", r.digest[:19], r.pushed_at, str(r.size_mb))
    ctx.out.print(table if records else "No images yet: `hakobu deploy` builds and pushes one.")
