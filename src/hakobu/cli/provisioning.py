"""Provisioning commands: init, plan, up, outputs, destroy, eject."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

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
from hakobu.cli.ui import ApplyProgress, outputs_table, plan_headline, plan_table
from hakobu.core.config import CONFIG_FILE, PROFILES, Environment
from hakobu.provision.pipeline import Provisioner, preflight
from hakobu.provision.scaffold import write_config
from hakobu.provision.terraform import DOCUMENT_FILE


def _prepared(env: Environment, sandbox: bool) -> Provisioner:
    for warning in preflight(env):
        err.print(f"[yellow]Warning:[/] {escape(warning)}", markup=True, soft_wrap=True)
    provisioner = Provisioner(env, target(env, sandbox))
    with err.status(f"Preparing Terraform in {provisioner.workdir} ..."):
        provisioner.prepare()
    return provisioner


def _plan(provisioner: Provisioner, destroy: bool = False) -> Any:
    with err.status("Planning ..."):
        summary = provisioner.plan(destroy=destroy)
    out.print(plan_headline(summary))
    if not summary.empty:
        out.print(plan_table(summary))
    return summary


def _warn_if_paused(env: Environment, sandbox: bool, ask: bool) -> None:
    """`hakobu pause` changed what Terraform does not track (desired count 0, DB stopped,
    with --deep no NAT or ALB): applying hakobu.toml now would undo part of it."""
    from hakobu.operate.pausing import pause_in_effect, paused_notice  # only read when paused

    record = pause_in_effect(env, sandbox)
    if record is None:
        return
    notice = paused_notice(env, record)
    err.print(f"[yellow]Warning:[/] {escape(notice)}", markup=True, soft_wrap=True)
    if ask and not typer.confirm("Apply hakobu.toml anyway?", default=False):
        out.print("Nothing was applied.")
        raise typer.Exit(1)


def _finish(provisioner: Provisioner) -> None:
    for note in provisioner.notes:
        out.print(note)
    sandbox_banner(provisioner.target.sandbox)


Profile = Enum("Profile", {name: name for name in PROFILES}, type=str)  # type: ignore[misc]


@app.command(rich_help_panel="Provision")
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
    path, detected = write_config(directory, app_name, force, profile.value if profile else None)
    out.print(f"Wrote {path} for a {detected.framework} app ({detected.reason}).")
    out.print(
        "Next: review it, then `hakobu plan --sandbox` or `hakobu up --sandbox` to try "
        "it without an AWS account."
    )


@app.command(rich_help_panel="Provision")
def plan(
    env_name: EnvArg = None, sandbox: SandboxOpt = False, config: ConfigOpt = Path(CONFIG_FILE)
) -> None:
    """Render the Terraform, plan it and save the plan; show what would change, by part."""
    env = environment(config, env_name)
    _warn_if_paused(env, sandbox, ask=False)
    provisioner = _prepared(env, sandbox)
    _plan(provisioner)
    out.print(f"Saved plan: {provisioner.terraform.plan_file}  (`hakobu up` applies it)")
    _finish(provisioner)


@app.command(rich_help_panel="Provision")
def up(
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    yes: YesOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Create or update the environment: plan, confirm, apply with live progress."""
    env = environment(config, env_name)
    _warn_if_paused(env, sandbox, ask=not yes)
    provisioner = _prepared(env, sandbox)
    summary = provisioner.saved_plan()
    if summary is not None:
        # Reviewed with `hakobu plan` and hakobu.toml unchanged since: apply it as it is,
        # like `terraform apply tfplan`.
        out.print(f"Applying the plan saved by `hakobu plan`: {plan_headline(summary)}")
        yes = True
    else:
        summary = _plan(provisioner)
    if summary.empty:
        outputs = provisioner.outputs()
    else:
        if not yes and not typer.confirm("Apply this plan?", default=False):
            provisioner.terraform.plan_file.unlink(missing_ok=True)
            out.print("Nothing was applied.")
            raise typer.Exit(1)
        with ApplyProgress(err, total=summary.add + summary.change + summary.destroy) as view:
            outputs = provisioner.apply(view)
        out.print(
            f"Applied: {summary.add} added, {summary.change} changed, {summary.destroy} destroyed."
        )
    out.print(outputs_table(outputs))
    if summary.add:
        # A new environment's service points at a placeholder image until the first deploy.
        out.print(
            f"Next: `hakobu deploy{' --sandbox' if sandbox else ''}` builds the app's "
            "image and ships it (the service has no image to run until then)."
        )
    _finish(provisioner)


@app.command(rich_help_panel="Provision")
def outputs(
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Show the environment's outputs: load_balancer_dns, database_host, ECR URL, login."""
    env = environment(config, env_name)
    provisioner = Provisioner(env, target(env, sandbox))
    values = provisioner.outputs()
    if as_json:
        print(json.dumps(values, indent=2, sort_keys=True))
        return
    if not values:
        out.print(f"No outputs: `{env.name}` has not been provisioned here yet (`hakobu up`).")
        return
    out.print(outputs_table(values))
    _finish(provisioner)


@app.command(rich_help_panel="Provision")
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
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Delete every resource of an environment. Asks you to type its name first."""
    env = environment(config, env_name)
    provisioner = _prepared(env, sandbox)
    summary = _plan(provisioner, destroy=True)
    if summary.empty:
        out.print("Nothing to destroy.")
        return
    kept = (
        "A final DB snapshot is kept."
        if env.settings.database.final_snapshot
        else "No final DB snapshot is kept (database.final_snapshot = false): the data is "
        "lost for good."
    )
    secrets = (
        "Its secrets are deleted without recovery (--force-delete)."
        if force_delete
        else "Its secrets stay recoverable for 7 days: a new `hakobu up` restores them."
    )
    out.print(
        f"[bold red]This deletes the database, the images and the logs of `{env.name}`.[/] "
        f"{kept} {secrets}",
        markup=True,
    )
    if not yes:
        typed = typer.prompt(f"Type the environment name ({env.name}) to confirm")
        if typed != env.name:
            out.print("Names differ: nothing was destroyed.")
            raise typer.Exit(1)
    with ApplyProgress(err, total=summary.destroy) as view:
        provisioner.destroy(view)
    if force_delete:
        _force_delete_secrets(provisioner)
    # A destroyed environment is no longer paused: nothing is left to resume.
    from hakobu.operate.pausing import remove_record, state_path

    remove_record(state_path(env, sandbox))
    out.print(f"Destroyed {summary.destroy} resources of `{env.name}`.")
    _finish(provisioner)


def _force_delete_secrets(provisioner: Provisioner) -> None:
    from hakobu.aws.secrets import app_secret_prefix, force_delete_all
    from hakobu.operate.secrets import managed_secrets

    env = provisioner.env
    deleted = force_delete_all(
        provisioner.target.client("secretsmanager"),
        [managed.secret for managed in managed_secrets(env)],
        app_secret_prefix(env.prefix),
    )
    if deleted:
        out.print(f"Deleted without recovery: {', '.join(deleted)}.")


@app.command(rich_help_panel="Provision")
def eject(
    env_name: EnvArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write.")] = Path(
        "terraform"
    ),
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Write the rendered Terraform (main.tf.json) for a team that wants to own it."""
    from hakobu.provision import blueprint

    env = environment(config, env_name)
    output.mkdir(parents=True, exist_ok=True)
    path = output / DOCUMENT_FILE
    path.write_text(json.dumps(blueprint.render(env), indent=2) + "\n", encoding="utf-8")
    out.print(
        f"Wrote {path}. It holds no secret values: the DB password is generated by "
        "Secrets Manager at apply time, and the Rails master key is written by "
        "`hakobu up` (put it in the secret yourself if you apply without hakobu)."
    )
