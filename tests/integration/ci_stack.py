"""Deploys from GitHub Actions ([ci]) on two of the profile stacks, each in its own emulator:
the lean app has `hakobu up` create GitHub's OIDC provider; the guide app trusts a GitHub
environment through the account's existing provider, made by hand before `up` (as another
team or stack would have), which `destroy` must leave alone.

`tests/integration/test_profiles_sandbox.py` brings both up and destroys them; the checks
here run before `up` (`hakobu ci github`), between, and after `destroy`, through boto3
against the emulator and the hakobu commands a user runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hakobu.core.config import load_project
from hakobu.provision.blueprint.ci import AUDIENCE, GITHUB_OIDC_URL
from hakobu.provision.iam_policies import Scope, policy
from hakobu.sandbox import emulator as sandbox
from tests.conftest import run_hakobu

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
NO_ENGINE = {"HAKOBU_CONTAINER_ENGINE": "none"}  # the emulator inherits it: no runtime
HOST = "token.actions.githubusercontent.com"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST}"
WORKFLOW = Path(".github/workflows/hakobu-deploy.yml")


def client(root: Path, service: str) -> Any:
    server = sandbox.running(root)
    assert server is not None, f"the emulator of {root.name} is not running"
    return sandbox.client(server, REGION, service)


def _app(root: Path) -> str:
    return load_project(root / "hakobu.toml").environment(None).app


def _hakobu(root: Path, *args: str) -> str:
    result = run_hakobu(*args, "--sandbox", cwd=root, env=NO_ENGINE)
    assert result.code == 0, f"hakobu {' '.join(args)}:\n{result.output}"
    return result.stdout


def ci_app(root: Path, existing: bool) -> None:
    """`hakobu ci github` in the app (it starts the emulator, for the account in the role's
    ARN). With `existing`: oidc_provider = "existing", which `ci github` keeps, and GitHub's
    provider made by hand, untagged (hakobu's carry ManagedBy = hakobu)."""
    app = _app(root)
    args = ["--repo", f"my-org/{app}"]
    if existing:
        with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
            config.write(f'\n[ci]\ngithub = "my-org/{app}"\noidc_provider = "existing"\n')
        args += ["--environment", "production"]
    out = _hakobu(root, "ci", "github", *args)
    assert "Next: `hakobu up production --sandbox` creates the role" in out, out
    if existing:
        iam = client(root, "iam")
        iam.create_open_id_connect_provider(Url=GITHUB_OIDC_URL, ClientIDList=[AUDIENCE])


def _subject(root: Path, existing: bool) -> str:
    app = _app(root)
    tail = "environment:production" if existing else "ref:refs/heads/main"
    return f"repo:my-org/{app}:{tail}"


def check_ci_stack(root: Path, existing: bool) -> None:
    """After `up`: one GitHub provider (the stack's, or the existing one), and the role
    trusting exactly one subject with audience sts.amazonaws.com, holding exactly the
    deploy policy; the workflow assumes that role; doctor says which provider applies."""
    app, iam = _app(root), client(root, "iam")
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    [provider] = [p["Arn"] for p in listed]
    assert provider == PROVIDER_ARN
    described = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    assert described["ClientIDList"] == [AUDIENCE]
    # The existing one is still the hand-made one; the stack's carries hakobu's tags.
    tags = {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}
    assert tags.get("ManagedBy") == (None if existing else "hakobu"), tags
    role = iam.get_role(RoleName=f"{app}-github-deploy")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "GithubActionsOfOneSubject",
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{HOST}:aud": AUDIENCE, f"{HOST}:sub": _subject(root, existing)}
            },
        }
    ]
    _check_role_holds_the_deploy_policy(root, iam, role["RoleName"])
    assert json.loads(_hakobu(root, "outputs", "--json"))["ci_role_arn"] == role["Arn"]
    workflow = yaml.safe_load((root / WORKFLOW).read_text(encoding="utf-8"))
    steps = workflow["jobs"]["deploy"]["steps"]
    [assume] = [s["with"]["role-to-assume"] for s in steps if "role-to-assume" in s.get("with", {})]
    assert assume == role["Arn"]
    _check_doctor(root, provider, existing)


def _check_role_holds_the_deploy_policy(root: Path, iam: Any, name: str) -> None:
    env = load_project(root / "hakobu.toml").environment(None)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["hakobu-deploy"]
    held = iam.get_role_policy(RoleName=name, PolicyName="hakobu-deploy")["PolicyDocument"]
    assert held == policy(env, "deploy", Scope("aws", REGION, ACCOUNT))
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []


def _check_doctor(root: Path, provider: str, existing: bool) -> None:
    result = run_hakobu("doctor", "--sandbox", "--json", cwd=root, env=NO_ENGINE)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    found = checks["github oidc provider"]
    assert found["status"] == "ok", found
    if existing:
        assert found["message"].startswith(f"existing: the account's provider {provider}")
    else:
        assert found["message"].startswith(f"new: {provider}, created by this environment's")
    assert checks["ci role"]["status"] == "ok", checks["ci role"]


def check_ci_gone(root: Path, existing: bool) -> None:
    """After `destroy`: the role is gone; the stack's provider too, the existing one kept."""
    iam = client(root, "iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert f"{_app(root)}-github-deploy" not in roles, roles
    left = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert left == ([PROVIDER_ARN] if existing else []), left
