"""Shipping commands: deploy, rollback, releases, images."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from hakobu.aws.ecs import service_description
from hakobu.cli.app import (
    ConfigOpt,
    EnvArg,
    JsonOpt,
    SandboxOpt,
    app,
    environment,
    err,
    out,
    sandbox_banner,
    target,
)
from hakobu.cli.ui import format_seconds
from hakobu.core.config import CONFIG_FILE, Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.ship import artifact, history
from hakobu.ship.deploy import Deployer, DeployError, DeployResult
from hakobu.ship.rollout import RolloutUpdate

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
TimeoutOpt = Annotated[
    int | None,
    typer.Option(
        "--timeout", help="Seconds to follow the rollout (default: deploy.timeout_seconds)."
    ),
]


class ConsoleEvents:
    """Renders a deploy's progress: steps, tool output, rollout changes as they happen."""

    def step(self, title: str, detail: str = "") -> None:
        err.print(f"[bold cyan]→ {escape(title)}[/] {escape(detail)}", markup=True)

    def output(self, line: str) -> None:
        err.print(f"  {escape(line)}", style="dim", markup=True)

    def rollout(self, update: RolloutUpdate) -> None:
        for line in update.lines():
            err.print(f"  [{format_seconds(update.elapsed)}] {escape(line)}", markup=True)


def _deployer(
    env: Environment, aws: Target, image: str | None = None, builder: str | None = None
) -> Deployer:
    events = ConsoleEvents()
    if image:
        build = partial(artifact.prebuilt_release, env, aws, image)
    else:
        build = partial(artifact.build_release, env, aws, events, builder)
    return Deployer(env, aws, events, build)


def _with_timeout(env: Environment, timeout: int | None) -> Environment:
    if timeout is None:
        return env
    settings = env.settings.model_copy(deep=True)
    settings.deploy.timeout_seconds = timeout
    return env.model_copy(update={"settings": settings})


def _conclude(env: Environment, aws: Target, result: DeployResult, verb: str) -> None:
    for note in result.notes:
        out.print(note)
    revision = result.task_definition_arn.rsplit("/", 1)[-1]
    rollout = result.rollout
    if rollout is None:
        out.print(f"Service updated to {revision}; the rollout was not followed.")
    elif rollout.outcome == "COMPLETED":
        out.print(
            f"[bold green]{verb}[/] {revision} in {format_seconds(rollout.elapsed)}: "
            f"http://{_load_balancer_dns(env, aws)}",
            markup=True,
        )
    elif rollout.outcome == "DETACHED":
        out.print(
            f"Stopped following. The rollout of {revision} goes on in AWS; follow it "
            f"with `hakobu status {env.name}`."
        )
        raise typer.Exit(130)
    else:
        raise HakobuError(
            f"the rollout of {revision} did not finish within "
            f"{env.settings.deploy.timeout_seconds} s; it goes on in AWS",
            f"follow it with `hakobu status {env.name}`, or wait longer with --timeout",
        )
    sandbox_banner(aws.sandbox)


def _load_balancer_dns(env: Environment, aws: Target) -> str:
    balancers = aws.client("elbv2").describe_load_balancers(Names=[Names.of(env).load_balancer])[
        "LoadBalancers"
    ]
    return str(balancers[0]["DNSName"])


def _run(env: Environment, action: str, deploy: partial[DeployResult]) -> DeployResult:
    try:
        return deploy()
    except DeployError as exc:
        for detail in exc.details:
            err.print(f"  {escape(detail)}", markup=True)
        if exc.log_lines:
            err.print(f"Last log lines ({action}):", style="bold")
            for line in exc.log_lines:
                err.print(f"  {escape(line.message)}", markup=True)
        raise


@app.command(rich_help_panel="Ship")
def deploy(
    env_name: EnvArg = None,
    image: ImageOpt = None,
    builder: BuilderOpt = None,
    timeout: TimeoutOpt = None,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Build, push, migrate and roll out the app in one command.

    The image is tagged with the git commit and the service runs its digest; the release
    command (migrations) runs as a one-off task of the new revision before the service
    moves; the rollout is followed until it completes or the circuit breaker rolls it back.
    No Terraform runs: a code deploy changes no infrastructure.
    """
    env = _with_timeout(environment(config, env_name), timeout)
    aws = target(env, sandbox)
    deployer = _deployer(env, aws, image, builder)
    result = _run(env, "deploy", partial(deployer.run))
    _conclude(env, aws, result, "Deployed")


@app.command(rich_help_panel="Ship")
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
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Move the service back to the previous (or a given) revision, followed like a deploy."""
    env = _with_timeout(environment(config, env_name), timeout)
    aws = target(env, sandbox)
    names = Names.of(env)
    ecs = aws.client("ecs")
    current = service_description(ecs, names.cluster, names.service)["taskDefinition"]
    records = history.releases(ecs, names.task_family, names.container, current)
    chosen = history.rollback_target(records, current, to)
    result = _run(
        env, "rollback", partial(_deployer(env, aws).roll_back, chosen.task_definition_arn)
    )
    _conclude(env, aws, result, "Rolled back to")


@app.command(rich_help_panel="Ship")
def releases(
    env_name: EnvArg = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """The deploy history, newest first: revision, image tag, digest, commit, when, who."""
    env = environment(config, env_name)
    aws = target(env, sandbox)
    names = Names.of(env)
    ecs = aws.client("ecs")
    current = service_description(ecs, names.cluster, names.service)["taskDefinition"]
    records = history.releases(ecs, names.task_family, names.container, current)
    if as_json:
        print(json.dumps({"version": 1, "releases": [r.as_json() for r in records]}, indent=2))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("", "revision", "image tag", "digest", "commit", "deployed at", "by"):
        table.add_column(column)
    for r in records:
        table.add_row(
            "*" if r.current else "",
            str(r.revision),
            r.image_tag or "-",
            (r.digest or "-")[:19],
            (r.commit or "-")[:12],
            r.deployed_at or "-",
            (r.deployed_by or "-").rsplit("/", 1)[-1],
        )
    out.print(table)
    out.print("* = what the service runs now. `hakobu rollback --to REVISION` goes back.")


@app.command(rich_help_panel="Ship")
def images(
    env_name: EnvArg = None,
    count: Annotated[int, typer.Option("--count", "-n", help="How many, newest first.")] = 5,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """The newest images in the environment's ECR repository."""
    env = environment(config, env_name)
    aws = target(env, sandbox)
    records = history.images(aws.client("ecr"), Names.of(env).repository, count)
    if as_json:
        print(json.dumps({"version": 1, "images": [r.as_json() for r in records]}, indent=2))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("tags", "digest", "pushed at", "size (MB)"):
        table.add_column(column)
    for r in records:
        table.add_row(", ".join(r.tags) or "-", r.digest[:19], r.pushed_at, str(r.size_mb))
    out.print(table if records else "No images yet: `hakobu deploy` builds and pushes one.")
