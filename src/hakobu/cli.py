"""The `hakobu` command line: parse, call the library, render. No logic lives here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape

from hakobu import sandbox as sandbox_server
from hakobu.config import CONFIG_FILE, Environment, load_project
from hakobu.errors import HakobuError, aws_error
from hakobu.provision import Provisioner, preflight
from hakobu.scaffold import write_config
from hakobu.target import Target
from hakobu.terraform import DOCUMENT_FILE
from hakobu.ui import (
    SANDBOX_BANNER,
    ApplyProgress,
    outputs_table,
    plan_headline,
    plan_table,
)

app = typer.Typer(
    help="Provision a production web stack on AWS, ship your app onto it and operate it, "
    "from one hakobu.toml.\n\nStart with `hakobu init`, try everything locally with "
    "`hakobu up --sandbox`, then `hakobu up` for real.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
sandbox_app = typer.Typer(
    help="The local AWS emulator behind --sandbox: no account, no credentials, no bill.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")

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
        _report(exc)
        sys.exit(exc.exit_code)
    except (BotoCoreError, ClientError) as exc:
        error = aws_error(exc)
        _report(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        # Terraform received the same Ctrl-C and stopped cleanly, recording in the state
        # what it had finished; nothing is half-known, so the next run simply continues.
        err.print("\nInterrupted. Terraform saved what it had finished; run the same command "
                  "again to continue from there.")
        sys.exit(130)


def _report(exc: HakobuError) -> None:
    # Messages quote TOML ("[environments.staging]"): never read them as Rich markup.
    err.print(f"[bold red]Error:[/] {escape(exc.problem)}", markup=True, soft_wrap=True)
    if exc.fix:
        err.print(f"[bold]Fix:[/] {escape(exc.fix)}", markup=True, soft_wrap=True)


def _environment(config: Path, name: str | None) -> Environment:
    return load_project(config).environment(name)


def _target(env: Environment, sandbox: bool) -> Target:
    if not sandbox:
        return Target(region=env.region)
    server, started = sandbox_server.start(env.root)
    if started:
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


def _prepared(env: Environment, sandbox: bool) -> Provisioner:
    for warning in preflight(env):
        err.print(f"[yellow]Warning:[/] {escape(warning)}", markup=True, soft_wrap=True)
    provisioner = Provisioner(env, _target(env, sandbox))
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


def _finish(provisioner: Provisioner) -> None:
    for note in provisioner.notes:
        out.print(note)
    if provisioner.target.sandbox:
        out.print(f"[bold yellow]{SANDBOX_BANNER}[/]", markup=True)


@app.command()
def init(
    app_name: Annotated[
        str | None, typer.Option("--app", help="App name (default: the directory's name).")
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", help="The app's directory.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing hakobu.toml.")] = False,
) -> None:
    """Write a commented hakobu.toml for the app in this directory (Rails, Django or any
    container), and keep .hakobu/ out of git."""
    path, detected = write_config(directory, app_name, force)
    out.print(f"Wrote {path} for a {detected.framework} app ({detected.reason}).")
    out.print(
        "Next: review it, then `hakobu plan --sandbox` or `hakobu up --sandbox` to try "
        "it without an AWS account."
    )


@app.command()
def plan(
    env_name: EnvArg = None, sandbox: SandboxOpt = False, config: ConfigOpt = Path(CONFIG_FILE)
) -> None:
    """Render the Terraform, plan it and save the plan; show what would change, by part."""
    env = _environment(config, env_name)
    provisioner = _prepared(env, sandbox)
    _plan(provisioner)
    out.print(f"Saved plan: {provisioner.terraform.plan_file}  (`hakobu up` applies it)")
    _finish(provisioner)


@app.command()
def up(
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    yes: YesOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Create or update the environment: plan, confirm, apply with live progress."""
    env = _environment(config, env_name)
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
    _finish(provisioner)


@app.command()
def outputs(
    env_name: EnvArg = None,
    sandbox: SandboxOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Show the environment's outputs: load_balancer_dns, database_host, ECR URL, login."""
    env = _environment(config, env_name)
    provisioner = Provisioner(env, _target(env, sandbox))
    values = provisioner.outputs()
    if as_json:
        print(json.dumps(values, indent=2, sort_keys=True))
        return
    if not values:
        out.print(f"No outputs: `{env.name}` has not been provisioned here yet (`hakobu up`).")
        return
    out.print(outputs_table(values))
    _finish(provisioner)


@app.command()
def destroy(
    env_name: Annotated[str, typer.Argument(metavar="ENV", help="The environment to destroy.")],
    sandbox: SandboxOpt = False,
    yes: YesOpt = False,
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Delete every resource of an environment. Asks you to type its name first."""
    env = _environment(config, env_name)
    provisioner = _prepared(env, sandbox)
    summary = _plan(provisioner, destroy=True)
    if summary.empty:
        out.print("Nothing to destroy.")
        return
    snapshot = env.settings.database.final_snapshot
    out.print(
        f"[bold red]This deletes the database, the images and the logs of "
        f"`{env.name}`.[/] "
        + (
            "A final DB snapshot is kept."
            if snapshot
            else "No final DB snapshot is kept (database.final_snapshot = false): the data is "
            "lost for good."
        ),
        markup=True,
    )
    if not yes:
        typed = typer.prompt(f"Type the environment name ({env.name}) to confirm")
        if typed != env.name:
            out.print("Names differ: nothing was destroyed.")
            raise typer.Exit(1)
    with ApplyProgress(err, total=summary.destroy) as view:
        provisioner.destroy(view)
    out.print(f"Destroyed {summary.destroy} resources of `{env.name}`.")
    _finish(provisioner)


@app.command()
def eject(
    env_name: EnvArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write.")] = Path(
        "terraform"
    ),
    config: ConfigOpt = Path(CONFIG_FILE),
) -> None:
    """Write the rendered Terraform (main.tf.json) for a team that wants to own it."""
    from hakobu import blueprint

    env = _environment(config, env_name)
    output.mkdir(parents=True, exist_ok=True)
    path = output / DOCUMENT_FILE
    path.write_text(json.dumps(blueprint.render(env), indent=2) + "\n", encoding="utf-8")
    out.print(
        f"Wrote {path}. It holds no secret values: the DB password is generated by "
        "Secrets Manager at apply time, and the Rails master key is written by "
        "`hakobu up` (put it in the secret yourself if you apply without hakobu)."
    )


@sandbox_app.command("start")
def sandbox_start(directory: Annotated[Path, typer.Option("--dir")] = Path(".")) -> None:
    """Start the emulator in the background (reused by every --sandbox command)."""
    server, started = sandbox_server.start(directory.resolve())
    verb = "Started" if started else "Already running:"
    out.print(f"{verb} sandbox on {server.endpoint} (pid {server.pid}).")


@sandbox_app.command("stop")
def sandbox_stop(directory: Annotated[Path, typer.Option("--dir")] = Path(".")) -> None:
    """Stop the emulator; everything created in it is gone."""
    stopped = sandbox_server.stop(directory.resolve())
    out.print("Stopped the sandbox." if stopped else "No sandbox was running.")


@sandbox_app.command("status")
def sandbox_status(directory: Annotated[Path, typer.Option("--dir")] = Path(".")) -> None:
    """Say whether the emulator runs, and where."""
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
    server = sandbox_server.running(directory.resolve())
    if server is None:
        raise HakobuError("no sandbox is running", "start one with `hakobu sandbox start`")
    print(sandbox_server.shell_exports(server, region))
