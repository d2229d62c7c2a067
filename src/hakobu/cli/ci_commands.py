"""hakobu ci github (deploy on push, through OIDC) and hakobu iam policy (least privilege)."""

from __future__ import annotations

from typing import Annotated

import typer

from hakobu.cli.app import app
from hakobu.cli.common import DEFAULT_CONFIG, ConfigOpt, EnvArg, JsonOpt, SandboxOpt
from hakobu.cli.context import CommandContext

ci_app = typer.Typer(help="Deploy from CI with no stored AWS keys.", no_args_is_help=True)
iam_app = typer.Typer(help="The IAM policies hakobu's users need.", no_args_is_help=True)
app.add_typer(ci_app, name="ci", rich_help_panel="Ship")
app.add_typer(iam_app, name="iam", rich_help_panel="Operate")

AccountOpt = Annotated[
    str | None,
    typer.Option("--account", help="The AWS account id (default: the caller's, from STS)."),
]


@ci_app.command("github")
def github(
    env_name: EnvArg = None,
    repo: Annotated[
        str | None,
        typer.Option("--repo", help="OWNER/NAME on GitHub (default: the git remote origin)."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Deploy on pushes to this branch (main).")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option("--environment", help="Trust this GitHub environment instead of a branch."),
    ] = None,
    account: AccountOpt = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Deploy on every push from GitHub Actions, assuming a role through OIDC.

    Records `[ci]` in hakobu.toml and writes `.github/workflows/hakobu-deploy.yml`;
    `hakobu up` then creates the role, which trusts only that branch (or environment).
    """
    from rich.markup import escape

    from hakobu.provision import github_ci

    github_ci.check_arguments(repo, branch, environment)  # bad input calls nothing
    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    target = None if account else ctx.target
    setup = github_ci.setup_github(env, config, target, repo, branch, environment, account)
    if as_json:
        ctx.json(setup.as_json(), key="ci")
        return
    workflow = escape(str(setup.workflow.relative_to(env.root)))
    ctx.out.print(f"Wrote {workflow}: deploys {env.name} on push, as {escape(setup.role_arn)}")
    recorded = "Recorded" if setup.config_changed else "Already recorded"
    section = escape("[ci]")
    ctx.out.print(f"{recorded} in {escape(str(config))}: {section} github = {setup.repo!r}")
    ctx.out.print(f"The role trusts only {escape(setup.subject)} (audience sts.amazonaws.com).")
    up = f"hakobu up {env.name}" + (" --sandbox" if sandbox else "")
    ctx.out.print(f"Next: `{up}` creates the role, then commit and push the workflow.")
    ctx.banner()


@iam_app.command("policy")
def policy(
    kind: Annotated[
        str,
        typer.Argument(
            metavar="deploy|operate|provision", help="Which kind of user.", show_default=False
        ),
    ],
    env_name: EnvArg = None,
    account: AccountOpt = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = False,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Print the least-privilege policy a deploy, operate or provision user needs.

    Resources are this environment's ARNs wherever AWS allows; each statement whose
    resource is "*" says in its Sid that AWS requires it. Provision needs more than one
    customer managed policy holds (6,144 characters): it prints one policy per group,
    each with its name (--json: a list of {"name", "document"}); operate does the same
    when its optional parts (Aurora, autoscaling, alarms, a domain) outgrow one.
    """
    import json

    from hakobu.provision import iam_policies
    from hakobu.provision.iam_managed_policies import managed_policies

    chosen = iam_policies.parse_kind(kind)  # before anything else: a bad kind calls nothing
    ctx = CommandContext(config, env_name, sandbox)
    env = ctx.env
    target = None if account else ctx.target
    policies = managed_policies(env, chosen, iam_policies.scope_of(env, target, account))
    if as_json:
        # One policy is its document, as before; several are a list of named documents.
        listed = [p.as_json() for p in policies]
        printed = policies[0].document if len(policies) == 1 else listed
        ctx.consoles.write(json.dumps(printed, indent=2) + "\n")
        return
    if len(policies) == 1:
        ctx.err.print(
            f"The {chosen} policy for {env.app} ({env.name}); attach it to the user or role "
            "(--json prints it alone):"
        )
        ctx.consoles.write(json.dumps(policies[0].document, indent=2) + "\n")
        return
    ctx.err.print(
        f"The {chosen} policy for {env.app} ({env.name}) is {len(policies)} customer managed "
        "policies (IAM allows 6,144 characters in one); create each under its name and "
        "attach them all to the user or role (--json lists them as name and document):"
    )
    for number, named in enumerate(policies, 1):
        ctx.err.print(f"\n{number}/{len(policies)} {named.name}:")
        ctx.consoles.write(json.dumps(named.document, indent=2) + "\n")
    ctx.err.print(
        "\nFor each: aws iam create-policy --policy-name NAME --policy-document file://NAME.json"
    )
