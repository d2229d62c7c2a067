"""Provisioning commands: init, plan, up, outputs, destroy, eject."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import (
    DEFAULT_CONFIG,
    ConfigOpt,
    EnvArg,
    JsonOpt,
    Profile,
    SandboxOpt,
    YesOpt,
    profile_name,
)
from hakobu.cli.context import CommandContext

if TYPE_CHECKING:  # imported when a command runs: `hakobu --help` pays for none of them
    from hakobu.provision.pipeline import Provisioner
    from hakobu.provision.terraform import PlanSummary

PANEL = "Provision"


@app.command(rich_help_panel=PANEL)
def init(
    app_name: Annotated[
        str | None, typer.Option("--app", help="App name (default: the directory's name).")
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", help="The app's directory.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing hakobu.toml.")] = False,
    profile: Annotated[
        Profile | None,
        typer.Option(help="guide (as the guide), lean (no NAT Gateway, Graviton) or ha."),
    ] = None,
) -> None:
    """Write a commented hakobu.toml for the app in this directory (Rails, Django or any
    container), and keep .hakobu/ out of git."""
    from hakobu.provision.procfile import init_notes
    from hakobu.provision.scaffold import write_config
    from hakobu.provision.storage_hint import storage_notes

    ctx = CommandContext(DEFAULT_CONFIG)
    path, detected = write_config(directory, app_name, force, profile_name(profile))
    ctx.out.print(f"Wrote {path} for a {detected.framework} app ({detected.reason}).")
    ctx.out.print(f"service.port = {detected.port}: {detected.port_source}.")
    ctx.out.print(f'database.engine = "{detected.database_engine}": {detected.engine_source}.')
    notes = init_notes(detected.procfile)
    for note in notes + storage_notes(detected.storage_source, detected.framework):
        ctx.out.print(note, markup=False)
    ctx.out.print(
        "Next: review it, then `hakobu plan --sandbox` or `hakobu up --sandbox` to try "
        "it without an AWS account."
    )


@app.command(rich_help_panel=PANEL)
def plan(
    env_name: EnvArg = None, sandbox: SandboxOpt = False, config: ConfigOpt = DEFAULT_CONFIG
) -> None:
    """Render the Terraform, plan it and save the plan; show what would change, by part."""
    from hakobu.cli.ui import TerminalPresenter
    from hakobu.provision.converge import plan_only

    ctx = CommandContext(config, env_name, sandbox)
    provisioner = _provisioner(ctx)
    _warn_if_paused(ctx, ask=False)
    summary = plan_only(provisioner, TerminalPresenter(ctx))
    ctx.out.print(f"Saved plan: {provisioner.terraform.plan_file}  (`hakobu up` applies it)")
    _finish(ctx, provisioner, then=lambda: _say_what_rolls_out(ctx, provisioner, summary))


@app.command(rich_help_panel=PANEL)
def up(
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    yes: YesOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Create or update the environment: plan, confirm, apply with live progress."""
    from hakobu.cli.ui import TerminalPresenter, outputs_table
    from hakobu.provision.converge import Declined, converge

    ctx = CommandContext(config, env_name, sandbox)
    _warn_if_paused(ctx, ask=not yes)  # local: asked before credentials or Terraform
    provisioner = _provisioner(ctx)
    try:
        outcome = converge(
            provisioner, TerminalPresenter(ctx), ask=not yes, again=_again(ctx, "up")
        )
    except Declined:
        ctx.give_up("Nothing was applied.")
    summary = outcome.summary
    if outcome.applied:
        ctx.out.print(
            f"Applied: {summary.add} added, {summary.change} changed, {summary.destroy} destroyed."
        )
    ctx.out.print(outputs_table(outcome.outputs))
    if summary.add:
        # A new environment's service points at a placeholder image until the first deploy.
        ctx.out.print(
            f"Next: `hakobu deploy{' --sandbox' if sandbox else ''}` builds the app's "
            "image and ships it (the service has no image to run until then)."
        )
    if outcome.applied:
        _roll_out_configuration(ctx)
    _finish(ctx, provisioner, then=lambda: _show_local_url(ctx))


@app.command(rich_help_panel=PANEL)
def outputs(
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Show the environment's outputs: load_balancer_dns, database_host, ECR URL, login."""
    from hakobu.cli.ui import outputs_table
    from hakobu.provision.local_url import with_local_url
    from hakobu.provision.pipeline import Provisioner

    ctx = CommandContext(config, env_name, sandbox)
    provisioner = Provisioner(ctx.env, ctx.target)
    values = with_local_url(ctx.env, ctx.target, provisioner.outputs())
    if as_json:
        ctx.json(values)  # Terraform's own `output -json` shape: name -> value
        return
    if not values:
        ctx.out.print(
            f"No outputs: `{ctx.env.name}` has not been provisioned here yet (`hakobu up`)."
        )
        return
    ctx.out.print(outputs_table(values))
    _finish(ctx, provisioner)


@app.command(rich_help_panel=PANEL)
def destroy(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="The environment to destroy.")],
    sandbox: SandboxOpt = False,
    yes: YesOpt = False,
    force_delete: Annotated[
        bool,
        typer.Option(
            "--force-delete",
            help="Also delete its secrets at once, without Secrets Manager's recovery window "
            "(they cannot be restored; the names are free for a new `hakobu up` right away).",
        ),
    ] = False,
    delete_data: Annotated[
        bool,
        typer.Option(
            "--delete-data",
            help="Also delete every object (and every version) in its storage bucket. "
            "Without it, a bucket that still holds uploads stops the destroy before anything "
            "is deleted.",
        ),
    ] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Delete every resource of an environment. Asks you to type its name first."""
    from hakobu.cli.ui import DestroyPresenter
    from hakobu.provision import teardown
    from hakobu.provision.converge import Declined

    ctx = CommandContext(config, env_name, sandbox)
    provisioner = _provisioner(ctx)
    presenter = DestroyPresenter(ctx, force_delete, delete_data)
    try:
        done = teardown.destroy(
            provisioner,
            presenter,
            ask=not yes,
            force_delete=force_delete,
            again=_again(ctx, f"destroy {ctx.env.name}"),
            delete_data=delete_data,
        )
    except Declined:
        ctx.give_up("Names differ: nothing was destroyed.")
    if not done.outcome.applied:
        ctx.out.print("Nothing to destroy.")
        return
    if done.emptied_bucket:
        ctx.out.print(
            f"Deleted {done.deleted_objects} object version(s) from {done.emptied_bucket} "
            "(--delete-data)."
        )
    if done.deleted_secrets:
        ctx.out.print(f"Deleted without recovery: {', '.join(done.deleted_secrets)}.")
    ctx.out.print(f"Destroyed {done.outcome.summary.destroy} resources of `{ctx.env.name}`.")
    _finish(ctx, provisioner)


@app.command(rich_help_panel=PANEL)
def eject(
    env_name: EnvArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write.")] = Path(
        "terraform"
    ),
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Write the rendered Terraform (main.tf.json) for a team that wants to own it."""
    from hakobu.provision.eject import eject as write_document

    ctx = CommandContext(config, env_name)
    path = write_document(ctx.env, output)
    ctx.out.print(
        f"Wrote {path}. It holds no secret values: the DB password is generated by "
        "Secrets Manager at apply time, and the Rails master key is written by "
        "`hakobu up` (put it in the secret yourself if you apply without hakobu)."
    )


# --- shared steps -----------------------------------------------------------------------


def _provisioner(ctx: CommandContext) -> Provisioner:
    """The environment's provisioner once the machine has what Terraform needs (local
    checks first: bad input calls nothing), then the target (the sandbox extra, or the
    account's credentials, checked with STS before Terraform runs)."""
    from hakobu.provision.pipeline import Provisioner, preflight

    env = ctx.env
    for warning in preflight(env):
        ctx.warn(warning)
    return Provisioner(env, ctx.target)


def _roll_out_configuration(ctx: CommandContext) -> None:
    """The apply changed a running process's container definition: the release it runs
    moves onto the new one (operate/config_rollout.py), unless paused (no task runs it)."""
    from hakobu.cli.rollout_view import ConsoleEvents, conclude, showing_failure
    from hakobu.operate.config_rollout import roll_out_after_apply
    from hakobu.ship.commands import app_url
    from hakobu.ship.deploy import DeployError

    try:
        with showing_failure(ctx, "rollout"):
            after = roll_out_after_apply(ctx.env, ctx.target, ConsoleEvents(ctx.err))
    except DeployError:
        ctx.err.print(
            "The apply is done; the running release keeps its previous configuration. "
            f"The next `{_again(ctx, 'deploy')}` builds on the new one."
        )
        raise
    if after.paused:
        ctx.out.print(
            f"The new configuration of {', '.join(after.changed)} reaches the app with the "
            f"next `{_again(ctx, 'deploy')}` (paused now: nothing was rolled out)."
        )
    elif after.result is not None:
        conclude(ctx, after.result, "Rolled out", lambda: app_url(ctx.env, ctx.target))


def _say_what_rolls_out(
    ctx: CommandContext, provisioner: Provisioner, summary: PlanSummary
) -> None:
    """The plan's last word: what `up`'s configuration rollout (above) will move once this
    plan is applied, and why, or that nothing follows (operate/rollout_preview.py)."""
    from rich.markup import escape

    from hakobu.operate.rollout_preview import preview_line, rollout_after_plan, touches_ecs

    shown = provisioner.terraform.shown_plan() if touches_ecs(summary) else None
    preview = rollout_after_plan(ctx.env, ctx.target, shown, summary.empty)
    ctx.out.print(escape(preview_line(preview, _again(ctx, "deploy"))))


def _warn_if_paused(ctx: CommandContext, ask: bool) -> None:
    """`hakobu pause` changed what Terraform does not track (desired count 0, DB stopped,
    with --deep no NAT or ALB): applying hakobu.toml now would undo part of it."""
    from hakobu.operate.pausing.record import pause_in_effect, paused_notice

    record = pause_in_effect(ctx.env, ctx.sandbox)
    if record is None:
        return
    ctx.warn(paused_notice(ctx.env, record))
    if ask and not ctx.confirm("Apply hakobu.toml anyway?"):
        ctx.give_up("Nothing was applied.")


def _show_local_url(ctx: CommandContext) -> None:
    """Where the sandbox's app answers (AWS's address is the load_balancer_dns output)."""
    from hakobu.provision.local_url import local_address

    address = local_address(ctx.env, ctx.target)
    if address is None:
        return
    deploy = "`hakobu deploy --sandbox`"
    if address.url is None:
        ctx.out.print(f"Nothing is deployed yet: {deploy} ships the app and prints its URL.")
    elif address.deployed:
        ctx.out.print(f"The app answers at {address.url}")
    else:
        ctx.out.print(
            f"The app will answer at {address.url} once deployed: nothing is deployed yet "
            f"(the revision `hakobu up` registers runs no app); {deploy} ships it."
        )


def _again(ctx: CommandContext, command: str) -> str:
    return f"hakobu {command}{' --sandbox' if ctx.sandbox else ''}"


def _finish(
    ctx: CommandContext, provisioner: Provisioner, then: Callable[[], None] | None = None
) -> None:
    """The provisioner's notes, `then` (the last word before the sandbox banner)."""
    for note in provisioner.notes:
        ctx.out.print(note)
    if then is not None:
        then()
    ctx.banner()
