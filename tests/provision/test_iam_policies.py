"""The least-privilege policies: parliament finds no wildcard resource where AWS offers a
scoped one, and every remaining "*" says in its Sid that AWS requires it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from hakobu.core.config import load_project
from hakobu.provision.iam_policies import KINDS, Scope, policy
from tests.conftest import environment_of, make_rails_app, run_hakobu

SCOPE = Scope("aws", "ap-northeast-1", "123456789012")
RAILS = {"app": "rails-app", "framework": "rails"}
# With [ci], operate also reads the GitHub OIDC provider and the deploy role (doctor).
WITH_CI = {**RAILS, "ci": {"github": "my-org/my-app"}}
# A worker, a schedule and the storage bucket: provision also creates their resources.
WITH_PROCESSES = {
    **RAILS,
    "processes": {"worker": {"command": ["bin/jobs"], "spot": True}},
    "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}],
    "storage": {"bucket": True},
}
# Aurora, auto scaling, alarms and a domain behind the CDN: operate reads and pauses them.
WITH_OPTIONAL_PARTS = {
    **RAILS,
    "database": {"engine": "aurora-mysql"},
    "autoscaling": {"min": 1, "max": 4, "cpu_target": 60},
    "alarms": {"email": ["ops@example.com"]},
    "domain": {"name": "app.example.com", "zone": "example.com", "cdn": True},
}
# WAF on the load balancer (no CDN), the S3 state backend, RDS PostgreSQL.
WITH_WAF_AND_S3_STATE = {
    **RAILS,
    "database": {"engine": "postgres"},
    "domain": {"name": "app.example.com", "zone": "example.com", "waf": True},
    "state": "s3",
}
# Every part at once, and a worker, a schedule, the bucket and [ci].
WITH_EVERYTHING = {
    **WITH_PROCESSES,
    **WITH_OPTIONAL_PARTS,
    "ci": {"github": "my-org/my-app"},
    "domain": {**WITH_OPTIONAL_PARTS["domain"], "waf": True},
    "state": "s3",
}
CONFIGS = {
    "without-ci": RAILS,
    "with-ci": WITH_CI,
    "with-processes": WITH_PROCESSES,
    "with-optional-parts": WITH_OPTIONAL_PARTS,
    "with-waf-and-s3-state": WITH_WAF_AND_S3_STATE,
    "with-everything": WITH_EVERYTHING,
}
APPS = pytest.mark.parametrize("raw", list(CONFIGS.values()), ids=list(CONFIGS))
# S3 bucket ARNs hold no account: the storage bucket's own name is this environment's, and
# so is the state bucket's; Route 53's ARNs hold no account either (the zone is the
# user's); CloudFront's origin-facing prefix list is AWS's (account "aws").
STORAGE_BUCKET = "arn:aws:s3:::rails-app-123456789012-ap-northeast-1"
STATE_BUCKET = "arn:aws:s3:::hakobu-state-123456789012-ap-northeast-1"
ACCOUNTLESS = (
    "arn:aws:route53:::hostedzone/*",
    "arn:aws:route53:::change/*",
    "arn:aws:ec2:ap-northeast-1:*:prefix-list/*",
)


@APPS
@pytest.mark.parametrize("kind", KINDS)
def test_parliament_finds_no_needless_wildcard_or_bad_arn(kind: str, raw: dict) -> None:
    env = environment_of(raw)
    found = analyze_policy_string(json.dumps(policy(env, kind, SCOPE)))
    issues = {finding.issue for finding in found.findings}
    # A condition key the action does not know never matches: its statement grants nothing.
    bad = {"RESOURCE_STAR", "INVALID_ARN", "UNKNOWN_ACTION", "MALFORMED"}
    assert not issues & (bad | {"UNKNOWN_CONDITION_FOR_ACTION"}), [
        (finding.issue, finding.detail) for finding in found.findings
    ]


@APPS
@pytest.mark.parametrize("kind", KINDS)
def test_each_star_resource_says_aws_requires_it(kind: str, raw: dict) -> None:
    env = environment_of(raw)
    for statement in policy(env, kind, SCOPE)["Statement"]:
        if statement["Resource"] == "*":
            assert statement["Sid"].endswith("AwsRequires"), statement
        else:
            resources = statement["Resource"]
            for resource in [resources] if isinstance(resources, str) else resources:
                own = resource.startswith((STORAGE_BUCKET, STATE_BUCKET)) or (
                    resource in ACCOUNTLESS
                )
                assert own or ":123456789012:" in resource or ":aws:ssm:" in resource, resource


def test_only_operate_with_ci_reads_the_oidc_provider_and_the_deploy_role() -> None:
    def actions(raw: dict, kind: str) -> set[str]:
        statements = policy(environment_of(raw), kind, SCOPE)["Statement"]
        return {action for statement in statements for action in statement["Action"]}

    reads = {"iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider", "iam:GetRole"}
    assert reads <= actions(WITH_CI, "operate")
    assert not reads & actions(RAILS, "operate")
    assert not reads & actions(WITH_CI, "deploy")
    statements = policy(environment_of(WITH_CI), "operate", SCOPE)["Statement"]
    [scoped] = [s for s in statements if "iam:GetRole" in s["Action"]]
    assert scoped["Resource"] == [
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
        "arn:aws:iam::123456789012:role/rails-app-github-deploy",
    ]


def _statements(raw: dict, kind: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy(environment_of(raw), kind, SCOPE)["Statement"]}


def test_operate_on_aurora_reads_and_pauses_the_cluster_instead_of_an_instance() -> None:
    plain = _statements(RAILS, "operate")
    aurora = _statements({**RAILS, "database": {"engine": "aurora-postgresql"}}, "operate")
    assert plain["DatabaseStatusAndPause"]["Resource"] == (
        "arn:aws:rds:ap-northeast-1:123456789012:db:rails-app-db"
    )
    assert "DatabaseStatusAndPause" not in aurora
    assert aurora["AuroraClusterStatusAndPause"]["Action"] == [
        "rds:DescribeDBClusters",
        "rds:StartDBCluster",
        "rds:StopDBCluster",
    ]
    assert aurora["AuroraClusterStatusAndPause"]["Resource"] == (
        "arn:aws:rds:ap-northeast-1:123456789012:cluster:rails-app-db"
    )
    assert aurora["AuroraInstances"]["Resource"] == (
        "arn:aws:rds:ap-northeast-1:123456789012:db:rails-app-db-*"
    )
    assert aurora["ServerlessCapacityAnyResourceAwsRequires"]["Action"] == [
        "cloudwatch:GetMetricStatistics"
    ]
    assert not {sid for sid in plain if sid.startswith(("Aurora", "Serverless"))}


def test_optional_parts_add_only_their_own_statements() -> None:
    operate = _statements(WITH_OPTIONAL_PARTS, "operate")
    deploy = _statements(WITH_OPTIONAL_PARTS, "deploy")
    suspend = operate["SuspendAndResumeAutoScaling"]
    assert suspend["Action"] == ["application-autoscaling:RegisterScalableTarget"]
    assert suspend["Resource"] == (
        "arn:aws:application-autoscaling:ap-northeast-1:123456789012:scalable-target/*"
    )
    assert suspend["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/App": "rails-app",
            "aws:ResourceTag/Environment": "production",
        }
    }
    alarms = "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:rails-app-*"
    assert operate["ReadAlarms"]["Resource"] == alarms
    assert deploy["ReadDeploymentAlarms"] == {
        "Sid": "ReadDeploymentAlarms",
        "Effect": "Allow",
        "Action": ["cloudwatch:DescribeAlarms"],
        "Resource": alarms,
    }
    assert operate["ReadAlarmSubscriptions"]["Resource"] == (
        "arn:aws:sns:ap-northeast-1:123456789012:rails-app-alarms"
    )
    assert operate["ReadCertificates"]["Resource"] == [
        "arn:aws:acm:ap-northeast-1:123456789012:certificate/*",
        "arn:aws:acm:us-east-1:123456789012:certificate/*",  # CloudFront's
    ]
    assert "FindDistributionAnyResourceAwsRequires" in operate
    assert not {"ReadAlarms", "SuspendAndResumeAutoScaling", "ReadCertificates"} & set(
        _statements(RAILS, "operate")
    )
    assert set(deploy) - set(_statements(RAILS, "deploy")) == {"ReadDeploymentAlarms"}


# --- the command, as a user runs it ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["deploy", "operate"])
def test_iam_policy_prints_exactly_the_policy_as_json(tmp_path: Path, kind: str) -> None:
    root = make_rails_app(tmp_path / "app")
    # --account: the ARNs without an STS call (this test has no AWS at all).
    result = run_hakobu("iam", "policy", kind, "--account", "123456789012", "--json", cwd=root)
    assert result.code == 0, result.output
    env = load_project(root / "hakobu.toml").environment(None)
    assert json.loads(result.stdout) == policy(env, kind, SCOPE)


def test_iam_policy_provision_prints_named_policies_that_hold_every_statement(
    tmp_path: Path,
) -> None:
    root = make_rails_app(tmp_path / "app")
    result = run_hakobu(
        "iam", "policy", "provision", "--account", "123456789012", "--json", cwd=root
    )
    assert result.code == 0, result.output
    listed = json.loads(result.stdout)
    assert [p["name"] for p in listed] == [
        f"rails-app-hakobu-provision-{group}"
        for group in ("network", "edge", "compute", "iam", "data")
    ]
    env = load_project(root / "hakobu.toml").environment(None)
    statements = [s for p in listed for s in p["document"]["Statement"]]
    assert statements == policy(env, "provision", SCOPE)["Statement"]
    assert {p["document"]["Version"] for p in listed} == {"2012-10-17"}
    # Without --json: each policy's name (stderr) before its document (stdout).
    text = run_hakobu("iam", "policy", "provision", "--account", "123456789012", cwd=root)
    assert text.code == 0, text.output
    assert "is 5 customer managed policies" in text.stderr
    assert "3/5 rails-app-hakobu-provision-compute:" in text.stderr
    assert "aws iam create-policy --policy-name NAME" in " ".join(text.stderr.split())
    documents = json.loads("[" + text.stdout.replace("}\n{", "},\n{") + "]")
    assert documents == [p["document"] for p in listed]


@pytest.mark.parametrize(
    ("args", "problem", "fix"),
    [
        (["admin"], "'admin' is not a kind of hakobu user", "use one of deploy, operate"),
        (["deploy", "--account", "12345"], "is not an AWS account id", "pass the 12 digits"),
    ],
)
def test_iam_policy_bad_input_exits_2_with_the_fix(
    tmp_path: Path, args: list[str], problem: str, fix: str
) -> None:
    root = make_rails_app(tmp_path / "app")
    result = run_hakobu("iam", "policy", *args, cwd=root)
    assert result.code == 2, result.output
    assert problem in result.stderr and fix in result.stderr, result.stderr
    assert result.stderr.count("Error:") == 1 and "Traceback" not in result.output
    assert result.stdout == ""


def test_provision_reads_why_a_failed_configuration_rollout_stopped_its_tasks() -> None:
    # `up` rolls a changed task configuration out and, when the new tasks stop, lists and
    # describes them to say why (aws/ecs.py), as deploy does under the operate policy.
    provision = _statements(RAILS, "provision")
    operate = _statements(RAILS, "operate")
    assert provision["ListClusterTasks"] == operate["ListClusterTasks"]
    cluster = "arn:aws:ecs:ap-northeast-1:123456789012:cluster/rails-app-cluster"
    assert provision["ListClusterTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": cluster}}
    assert provision["ReadStoppedTasks"] == {
        "Sid": "ReadStoppedTasks",
        "Effect": "Allow",
        "Action": ["ecs:DescribeTasks"],
        "Resource": "arn:aws:ecs:ap-northeast-1:123456789012:task/rails-app-cluster/*",
    }
