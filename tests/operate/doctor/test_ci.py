"""`hakobu doctor` with [ci]: which GitHub OIDC provider applies (a new one that `up`
creates, this stack's, or the account's existing one) and whether `up` can do what [ci]
asks; the deploy role's trust. Against the sandbox emulator (real IAM API calls): each
test puts the provider and role it needs there, and removes them after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.core.target import Target
from hakobu.operate.doctor import default_checks, run_checks
from hakobu.operate.doctor.results import CheckResult
from hakobu.provision.blueprint.ci import AUDIENCE, GITHUB_OIDC_URL, trust_policy
from hakobu.sandbox import emulator as sandbox
from tests.conftest import environment_of, make_rails_app, run_hakobu

REGION = "ap-northeast-1"
CHECKS = ("credentials", "github oidc provider", "ci role")
ROLE = "rails-app-github-deploy"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Target]]:
    root = make_rails_app(tmp_path_factory.mktemp("doctor-ci") / "rails-app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HAKOBU_CONTAINER_ENGINE", "none")  # IAM only: no runtime needed
        server, _ = sandbox.start(root)
    target = Target(REGION, server.endpoint, sandbox.client_environment(server, REGION))
    try:
        yield root, target
    finally:
        sandbox.stop(root)


@pytest.fixture
def iam(emulator: tuple[Path, Target]) -> Iterator[Any]:
    client = emulator[1].client("iam")
    yield client
    for provider in client.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        client.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])
    for role in client.list_roles()["Roles"]:
        client.delete_role(RoleName=role["RoleName"])


def _env(root: Path, **ci: str) -> Environment:
    raw = {"app": "rails-app", "framework": "rails", "ci": {"github": "my-org/my-app", **ci}}
    return environment_of(raw, root=root)


def _doctor(emulator: tuple[Path, Target], env: Environment) -> dict[str, CheckResult]:
    checks = [c for c in default_checks(env) if c.name in CHECKS]
    return {r.name: r for r in run_checks(env, emulator[1], checks=checks)}


def _provider(iam: Any, **tags: str) -> str:
    created = iam.create_open_id_connect_provider(
        Url=GITHUB_OIDC_URL,
        ClientIDList=[AUDIENCE],
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )
    return str(created["OpenIDConnectProviderArn"])


HAKOBU_TAGS = {"ManagedBy": "hakobu", "App": "rails-app", "Environment": "production"}


def test_with_no_provider_yet_up_creates_a_new_one(emulator: Any, iam: Any) -> None:
    found = _doctor(emulator, _env(emulator[0]))
    provider = found["github oidc provider"]
    assert (provider.status, provider.message) == (
        "ok",
        "new: the account has no OIDC provider for token.actions.githubusercontent.com yet, "
        "so `hakobu up` creates it (and `hakobu destroy` deletes it)",
    )
    role = found["ci role"]
    assert role.status == "warning" and role.message.startswith(f"no role {ROLE} yet")
    assert role.fix == "run `hakobu up --sandbox` to create it"


def test_the_provider_this_stack_created_is_new_and_destroy_deletes_it(
    emulator: Any, iam: Any
) -> None:
    arn = _provider(iam, **HAKOBU_TAGS)
    provider = _doctor(emulator, _env(emulator[0]))["github oidc provider"]
    assert provider.status == "ok"
    assert provider.message.startswith(f"new: {arn}, created by this environment's stack")


@pytest.mark.parametrize(
    ("tags", "owner"),
    [
        ({}, "made outside hakobu"),
        ({**HAKOBU_TAGS, "App": "other-app"}, "created by hakobu for other-app (production)"),
        ({**HAKOBU_TAGS, "Environment": "staging"}, "created by hakobu for rails-app (staging)"),
    ],
)
def test_another_provider_in_the_account_means_oidc_provider_existing(
    emulator: Any, iam: Any, tags: dict[str, str], owner: str
) -> None:
    arn = _provider(iam, **tags)
    provider = _doctor(emulator, _env(emulator[0]))["github oidc provider"]
    assert provider.status == "problem"
    assert provider.message == (
        f"the account already has GitHub's OIDC provider ({arn}, {owner}), and an account has "
        "one per URL: `hakobu up` would fail creating another"
    )
    assert provider.fix is not None and 'oidc_provider = "existing"' in provider.fix


def test_existing_uses_the_accounts_provider_and_never_deletes_it(emulator: Any, iam: Any) -> None:
    arn = _provider(iam)
    provider = _doctor(emulator, _env(emulator[0], oidc_provider="existing"))
    assert provider["github oidc provider"].status == "ok"
    assert provider["github oidc provider"].message == (
        f'existing: the account\'s provider {arn} (oidc_provider = "existing"); hakobu uses it '
        "and `hakobu destroy` never deletes it"
    )


def test_existing_without_a_provider_is_a_problem(emulator: Any, iam: Any) -> None:
    provider = _doctor(emulator, _env(emulator[0], oidc_provider="existing"))
    found = provider["github oidc provider"]
    assert found.status == "problem" and "the account has no OIDC provider" in found.message
    assert found.fix is not None and found.fix.startswith("remove oidc_provider from [ci]")


def _role(iam: Any, env: Environment, arn: str) -> None:
    assert env.settings.ci is not None
    trust = trust_policy(arn, env.settings.ci)
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))


def test_the_role_trusts_what_hakobu_toml_says_or_up_is_due(emulator: Any, iam: Any) -> None:
    arn = _provider(iam, **HAKOBU_TAGS)
    _role(iam, _env(emulator[0], branch="main"), arn)
    role = _doctor(emulator, _env(emulator[0], branch="main"))["ci role"]
    assert (role.status, role.message) == (
        "ok",
        f"{ROLE} trusts only repo:my-org/my-app:ref:refs/heads/main (audience sts.amazonaws.com)",
    )
    moved = _doctor(emulator, _env(emulator[0], branch="release"))["ci role"]
    assert moved.status == "warning"
    assert moved.message == (
        f"{ROLE} trusts repo:my-org/my-app:ref:refs/heads/main, but [ci] says "
        "repo:my-org/my-app:ref:refs/heads/release"
    )


def test_without_ci_the_doctor_has_no_ci_check(tmp_path: Path) -> None:
    env = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    assert not {"github oidc provider", "ci role"} & {c.name for c in default_checks(env)}


def test_doctor_shows_the_provider_as_a_user_runs_it(emulator: Any, iam: Any) -> None:
    """The whole command (a real process), before `hakobu up`: the account group says
    what `up` will do with the provider."""
    root = emulator[0]
    with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write('\n[ci]\ngithub = "my-org/my-app"\n')
    arn = _provider(iam)
    result = run_hakobu("doctor", "--sandbox", "--json", cwd=root)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    provider = checks["github oidc provider"]
    assert provider["group"] == "AWS account" and provider["status"] == "problem"
    assert arn in provider["message"] and 'oidc_provider = "existing"' in provider["fix"]
