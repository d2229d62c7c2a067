"""The least-privilege policies: parliament finds no wildcard resource where AWS offers a
scoped one, and every remaining "*" says in its Sid that AWS requires it."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from hakobu.provision.iam_policies import KINDS, Scope, policy
from tests.conftest import environment_of

SCOPE = Scope("aws", "ap-northeast-1", "123456789012")


@pytest.mark.parametrize("kind", KINDS)
def test_parliament_finds_no_needless_wildcard_or_bad_arn(kind: str) -> None:
    env = environment_of({"app": "rails-app", "framework": "rails"})
    found = analyze_policy_string(json.dumps(policy(env, kind, SCOPE)))
    issues = {finding.issue for finding in found.findings}
    assert not issues & {"RESOURCE_STAR", "INVALID_ARN", "UNKNOWN_ACTION", "MALFORMED"}, [
        (finding.issue, finding.detail) for finding in found.findings
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_each_star_resource_says_aws_requires_it(kind: str) -> None:
    env = environment_of({"app": "rails-app", "framework": "rails"})
    for statement in policy(env, kind, SCOPE)["Statement"]:
        if statement["Resource"] == "*":
            assert statement["Sid"].endswith("AwsRequires"), statement
        else:
            resources = statement["Resource"]
            for resource in [resources] if isinstance(resources, str) else resources:
                assert ":123456789012:" in resource or ":aws:ssm:" in resource, resource
