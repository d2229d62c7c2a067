"""Deploys from GitHub Actions with no stored keys: the OIDC provider and the deploy role.

With `[ci]` in hakobu.toml, the role `{prefix}-github-deploy` trusts exactly one subject
(`repo:OWNER/NAME:ref:refs/heads/BRANCH` or `repo:OWNER/NAME:environment:NAME`) with the
audience `sts.amazonaws.com`, and holds the deploy policy of `hakobu iam policy deploy`
and nothing else. Without `[ci]` this part renders nothing.

An account has one OIDC provider per URL: `oidc_provider = "existing"` reads the one already
there (a data source), so `hakobu destroy` can never delete it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hakobu.core.config import Environment
from hakobu.core.config.ci import CiSettings
from hakobu.core.names import GITHUB_OIDC_HOST, Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.iam import SECRET_ARN_PARTS

# The policy documents of `hakobu iam` are imported only with [ci] set: every render (and
# `hakobu diagram`, which renders) runs this part, most configs without [ci].
if TYPE_CHECKING:
    from hakobu.provision.iam_policies import Scope

GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
AUDIENCE = "sts.amazonaws.com"
ROLE = "aws_iam_role.github_deploy"


def trust_policy(provider_arn: str, ci: CiSettings) -> dict[str, Any]:
    """Only GitHub's tokens for this one subject, minted for STS, may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GithubActionsOfOneSubject",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    # StringEquals, never StringLike: no wildcard can widen the subject.
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": ci.subject,
                    }
                },
            }
        ],
    }


def terraform_scope() -> Scope:
    """The ARNs' partition, region and account as Terraform references.

    The DB password secret's parsed ARN (already in every stack, no API call) gives them,
    so this part adds no data source of its own beyond the provider lookup.
    """
    from hakobu.provision.iam_policies import Scope

    return Scope(
        partition=ref(SECRET_ARN_PARTS, "partition"),
        region=ref(SECRET_ARN_PARTS, "region"),
        account=ref(SECRET_ARN_PARTS, "account"),
    )


def _provider(part: Fragment, ci: CiSettings) -> str:
    if ci.oidc_provider == "existing":
        url = {"url": GITHUB_OIDC_URL}
        return part.data_source("aws_iam_openid_connect_provider", "github", url)
    # Provider 5.x needs no thumbprint for GitHub: IAM trusts its certificate authority.
    return part.resource(
        "aws_iam_openid_connect_provider",
        "github",
        {"url": GITHUB_OIDC_URL, "client_id_list": [AUDIENCE]},
    )


def ci(env: Environment) -> Fragment:
    part = Fragment("ci")
    settings = env.settings.ci
    if settings is None:
        return part
    from hakobu.provision.iam_policies import policy

    names = Names.of(env)
    provider = _provider(part, settings)
    part.resource(
        "aws_iam_role",
        "github_deploy",
        {
            "name": names.github_deploy_role,
            "description": f"hakobu deploy of {env.app} ({env.name}) from {settings.github}",
            "assume_role_policy": json.dumps(trust_policy(ref(provider, "arn"), settings)),
            # A deploy follows the rollout for deploy.timeout_seconds at most (<= 2 h).
            "max_session_duration": 7200,
        },
    )
    part.resource(
        "aws_iam_role_policy",
        "github_deploy",
        {
            "name": "hakobu-deploy",
            "role": ref(ROLE, "id"),
            "policy": json.dumps(policy(env, "deploy", terraform_scope())),
        },
    )
    part.output("ci_role_arn", ref(ROLE, "arn"), "The role GitHub Actions assumes to deploy")
    return part
