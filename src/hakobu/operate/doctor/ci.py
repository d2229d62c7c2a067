"""Checks of deploys from GitHub Actions ([ci]): which OIDC provider applies, and the role.

An account has one OIDC provider per URL. With `oidc_provider = "create"` `hakobu up`
creates GitHub's and `destroy` deletes it, which fails (EntityAlreadyExists) when the
account already has one; with "existing" hakobu reads the one there and never deletes it.
Both are decided before `up`, so these checks run in the account group, ahead of the
environment's own (they say what `up` will do, not only what it did).
"""

from __future__ import annotations

from collections.abc import Callable

from hakobu.aws import iam as iam_ops
from hakobu.core.config import Environment
from hakobu.core.config.ci import CiSettings
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, Skip, ok, problem, warning
from hakobu.provision.blueprint.ci import GITHUB_OIDC_HOST

EXISTING_FIX = (
    'write oidc_provider = "existing" in [ci]: hakobu then uses the account\'s provider '
    "and never deletes it"
)


def ci_checks(env: Environment) -> list[tuple[str, Callable[[Facts], Finding]]]:
    """(name, check) of the account group's CI checks; none without [ci]."""
    if env.settings.ci is None:
        return []
    return [("github oidc provider", check_oidc_provider), ("ci role", check_ci_role)]


def _ci(facts: Facts) -> CiSettings:
    ci = facts.env.settings.ci
    if ci is None:
        raise Skip("no [ci] section")
    return ci


def check_oidc_provider(facts: Facts) -> Finding:
    """Which GitHub OIDC provider the role trusts: a new one (this stack's) or the
    account's existing one, and whether `hakobu up` can do what [ci] asks."""
    ci = _ci(facts)
    found = iam_ops.oidc_provider(facts.client("iam"), GITHUB_OIDC_HOST)
    if ci.oidc_provider == "existing":
        if found is None:
            return problem(
                '[ci] oidc_provider = "existing", but the account has no OIDC provider for '
                f"{GITHUB_OIDC_HOST}: `hakobu up` would fail to find it",
                'remove oidc_provider from [ci] (or write "create"): `hakobu up` then '
                "creates the provider",
            )
        return ok(
            f'existing: the account\'s provider {found["Arn"]} (oidc_provider = "existing"); '
            "hakobu uses it and `hakobu destroy` never deletes it"
        )
    if found is None:
        return ok(
            f"new: the account has no OIDC provider for {GITHUB_OIDC_HOST} yet, so `hakobu up` "
            "creates it (and `hakobu destroy` deletes it)"
        )
    owner = _owner(facts, iam_ops.tags_of(found))
    if owner is None:
        return ok(
            f"new: {found['Arn']}, created by this environment's stack; `hakobu destroy` "
            "deletes it (another environment trusting it should say "
            'oidc_provider = "existing")'
        )
    return problem(
        f"the account already has GitHub's OIDC provider ({found['Arn']}, {owner}), and an "
        "account has one per URL: `hakobu up` would fail creating another",
        EXISTING_FIX,
    )


def _owner(facts: Facts, tags: dict[str, str]) -> str | None:
    """Who made the provider, when it was not this environment's stack (None if it was)."""
    env = facts.env
    if tags.get("ManagedBy") != "hakobu":
        return "made outside hakobu"
    if tags.get("App") == env.app and tags.get("Environment") == env.name:
        return None
    return f"created by hakobu for {tags.get('App', '?')} ({tags.get('Environment', '?')})"


def check_ci_role(facts: Facts) -> Finding:
    """The deploy role exists and trusts exactly the subject hakobu.toml names."""
    ci = _ci(facts)
    name = facts.names.github_deploy_role
    found = iam_ops.role(facts.client("iam"), name)
    if found is None:
        return warning(
            f"no role {name} yet: GitHub Actions cannot deploy",
            f"run `hakobu up{' --sandbox' if facts.aws.sandbox else ''}` to create it",
        )
    trusted = _subjects(found)
    if trusted != [ci.subject]:
        return warning(
            f"{name} trusts {', '.join(trusted) or 'no subject'}, but [ci] says {ci.subject}",
            "run `hakobu up` to update the role's trust policy",
        )
    return ok(f"{name} trusts only {ci.subject} (audience sts.amazonaws.com)")


def _subjects(role: dict[str, object]) -> list[str]:
    trust = role.get("AssumeRolePolicyDocument")
    statements = trust.get("Statement", []) if isinstance(trust, dict) else []
    subjects: list[str] = []
    for statement in statements:
        equals = statement.get("Condition", {}).get("StringEquals", {})
        value = equals.get(f"{GITHUB_OIDC_HOST}:sub")
        subjects += value if isinstance(value, list) else [value] if value else []
    return subjects
