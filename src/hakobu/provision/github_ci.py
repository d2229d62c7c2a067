"""`hakobu ci github`: deploy on push from GitHub Actions, with no stored AWS keys.

It records `[ci]` in hakobu.toml (tomlkit: every comment and key order kept) and writes
`.github/workflows/hakobu-deploy.yml`. `hakobu up` then creates the OIDC role the
workflow assumes (`blueprint.ci`). Everything is checked before a file is written; the
only AWS call is STS's GetCallerIdentity, for the account in the role's ARN.

The workflow is written as text (hakobu has no YAML dependency); the tests parse it as
YAML and run actionlint on it.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from hakobu.core.config import DEFAULT_ENVIRONMENT, Environment, parse_project
from hakobu.core.config.ci import (
    DEFAULT_BRANCH,
    CiProblem,
    CiSettings,
    check_branch,
    check_environment,
    check_repo,
)
from hakobu.core.errors import EXIT_BAD_INPUT, HakobuError
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.provision.iam_policies import scope_of

WORKFLOW_DIR = Path(".github") / "workflows"
PYTHON_VERSION = "3.12"
# GitHub's hosted runners are x86-64: another platform is built under QEMU with buildx.
RUNNER_PLATFORM = "linux/amd64"

# Actions pinned to full commit SHAs (a tag can be moved; a commit cannot). Each SHA is the
# commit its release tag points at in the action's own public repository; each pair was
# cross-checked (Dec 2026) against public workflows pinning the same SHA with that version.
# When an action releases, update its SHA and tag together.
ACTIONS = {
    "checkout": ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-python": (
        "actions/setup-python",
        "5fda3b95a4ea91299a34e894583c3862153e4b97",
        "v7.0.0",
    ),
    "aws-credentials": (
        "aws-actions/configure-aws-credentials",
        "e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "v6.2.3",
    ),
    "qemu": ("docker/setup-qemu-action", "96fe6ef7f33517b61c61be40b68a1882f3264fb8", "v4.2.0"),
    "buildx": (
        "docker/setup-buildx-action",
        "37fe631027851001ddb9b187196cc803df7f5f0e",
        "v4.3.0",
    ),
}

# git remote URLs of a GitHub repository: SSH, scp-like and HTTPS forms.
REMOTE_PATTERN = re.compile(
    r"^(?:git@github\.com:|ssh://git@github\.com/|https://(?:[^@/]+@)?github\.com/)"
    r"(?P<repo>[^/]+/[^/]+?)(?:\.git)?/?$"
)


class CiInputError(HakobuError):
    """A bad --repo, --branch or --environment, or no repository to read: exit 2."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class CiSetup:
    """What `hakobu ci github` wrote, and for which repository and subject."""

    repo: str
    subject: str
    role_arn: str
    workflow: Path
    config: Path
    config_changed: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "subject": self.subject,
            "role_arn": self.role_arn,
            "workflow": str(self.workflow),
            "config_file": str(self.config),
            "config_changed": self.config_changed,
        }


# --- pure ---------------------------------------------------------------------------------


def check_arguments(repo: str | None, branch: str | None, environment: str | None) -> None:
    """`CiInputError` (exit 2) for a bad --repo, --branch or --environment: checked before
    any file is read or any AWS call is made."""
    try:
        if repo is not None:
            check_repo(repo)
        if branch is not None and environment is not None:
            raise CiProblem(
                "environment",
                "--branch and --environment were both given",
                "pass one: the role trusts either a branch or a GitHub environment",
            )
        if branch is not None:
            check_branch(branch)
        if environment is not None:
            check_environment(environment)
    except CiProblem as exc:
        flag = "--repo" if exc.key == "github" else f"--{exc.key}"
        fix = exc.fix.replace("write branch = ", "pass --branch ").replace(
            "write it as", "pass it as"
        )
        raise CiInputError(f"{flag}: {exc.problem}", fix) from None


def settings_from_arguments(
    repo: str, branch: str | None, environment: str | None, previous: CiSettings | None
) -> CiSettings:
    """The [ci] settings the arguments ask for; a previous oidc_provider choice is kept."""
    check_arguments(repo, branch, environment)
    provider = previous.oidc_provider if previous else "create"
    if environment is None and branch is None:
        branch = DEFAULT_BRANCH  # written out, so hakobu.toml says what the role trusts
    return CiSettings(github=repo, branch=branch, environment=environment, oidc_provider=provider)


def repo_from_remote(url: str) -> str | None:
    match = REMOTE_PATTERN.match(url.strip())
    return match.group("repo") if match else None


def record_ci(text: str, env_name: str, ci: CiSettings) -> str:
    """hakobu.toml with `ci` recorded, every other line as it was.

    A file that declares environments gets `[environments.NAME.ci]` (so staging and
    production can trust different branches); a file without gets the top-level `[ci]`.
    """
    document = tomlkit.parse(text)
    values = _ci_table(ci)
    environments = document.get("environments")
    if environments is None:
        _replace_table(document, "ci", values)
        return tomlkit.dumps(document)
    section = environments.get(env_name)
    if section is None:
        section = tomlkit.table()
        environments.append(env_name, section)
    _replace_table(section, "ci", values)
    return tomlkit.dumps(document)


def _ci_table(ci: CiSettings) -> Table:
    table = tomlkit.table()
    table.add(tomlkit.comment("Written by `hakobu ci github`: `hakobu up` creates the role"))
    table.append("github", ci.github)
    if ci.environment is not None:
        table.append("environment", ci.environment)
    else:
        table.append("branch", ci.push_branch)
    if ci.oidc_provider != "create":
        table.append("oidc_provider", ci.oidc_provider)
    return table


def _replace_table(container: Any, key: str, table: Table) -> None:
    if key in container:
        container[key] = table
    else:
        container.append(key, table)


def workflow_name(env: Environment) -> str:
    suffix = "" if env.name == DEFAULT_ENVIRONMENT else f"-{env.name}"
    return f"hakobu-deploy{suffix}.yml"


def _uses(key: str) -> str:
    repository, sha, version = ACTIONS[key]
    return f"{repository}@{sha} # {version}"


def workflow_text(env: Environment, ci: CiSettings, role_arn: str, version: str) -> str:
    """The deploy workflow: on push to the branch, one job, one deploy at a time."""
    platform = env.settings.service.platform
    lines = [
        f"# Written by hakobu {version} (`hakobu ci github`): deploys {env.app} ({env.name})",
        "# on every push. AWS credentials come from OIDC: no key is stored in GitHub.",
        f"name: hakobu deploy ({env.name})",
        "",
        "on:",
        "  push:",
        f"    branches: [{_quote(ci.push_branch)}]",
        "  workflow_dispatch:",
        "",
        "permissions:",
        "  id-token: write  # the OIDC token the role trusts",
        "  contents: read",
        "",
        "# One deploy per environment at a time; a newer push waits, none is cancelled.",
        "concurrency:",
        f"  group: hakobu-deploy-{env.name}",
        "  cancel-in-progress: false",
        "",
        "jobs:",
        "  deploy:",
        "    runs-on: ubuntu-latest",
    ]
    if ci.environment is not None:
        lines.append(f"    environment: {_quote(ci.environment)}")
    lines += [
        "    steps:",
        f"      - uses: {_uses('checkout')}",
        f"      - uses: {_uses('setup-python')}",
        "        with:",
        f'          python-version: "{PYTHON_VERSION}"',
        f"      - uses: {_uses('aws-credentials')}",
        "        with:",
        f"          role-to-assume: {role_arn}",
        f"          aws-region: {env.region}",
    ]
    if platform != RUNNER_PLATFORM:
        lines += [
            f"      # {platform} images are built under emulation on the x86-64 runner.",
            f"      - uses: {_uses('qemu')}",
            "        with:",
            f"          platforms: {platform}",
            f"      - uses: {_uses('buildx')}",
        ]
    lines += [
        f'      - run: python -m pip install "hakobu=={version}"',
        f"      - run: hakobu deploy {env.name}",
    ]
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    """A YAML double-quoted scalar (the values are already checked: no quote or backslash)."""
    return f'"{value}"'


def hakobu_version() -> str:
    try:
        return metadata.version("hakobu")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        from hakobu import __version__  # type: ignore[attr-defined]

        return str(__version__)


# --- executor -----------------------------------------------------------------------------


def read_remote(root: Path) -> str:
    """OWNER/NAME of the git remote `origin`, or `CiInputError` saying to pass --repo."""
    fix = "pass --repo OWNER/NAME (the GitHub repository that deploys)"
    try:
        found = subprocess.run(
            ["git", "remote", "get-url", "origin"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        raise CiInputError("git could not be run to read the repository's remote", fix) from None
    if found.returncode != 0:
        raise CiInputError(f"{root} is not a git repository with a remote named origin", fix)
    repo = repo_from_remote(found.stdout)
    if repo is None:
        raise CiInputError(f"the remote origin ({found.stdout.strip()}) is not on GitHub", fix)
    return repo


def role_arn(env: Environment, target: Target | None, account: str | None = None) -> str:
    """The deploy role's ARN: in `account`, else in the caller's account (STS)."""
    scope = scope_of(env, target, account)
    return f"arn:{scope.partition}:iam::{scope.account}:role/{Names.of(env).github_deploy_role}"


def setup_github(
    env: Environment,
    config_path: Path,
    target: Target | None,
    repo: str | None = None,
    branch: str | None = None,
    environment: str | None = None,
    account: str | None = None,
) -> CiSetup:
    """Record [ci] for `env` and write its workflow; check everything before writing."""
    chosen = repo if repo is not None else read_remote(env.root)
    ci = settings_from_arguments(chosen, branch, environment, env.settings.ci)
    before = config_path.read_text(encoding="utf-8")
    after = record_ci(before, env.name, ci)
    _check_recorded(after, env, ci)
    arn = role_arn(env, target, account)
    workflow = env.root / WORKFLOW_DIR / workflow_name(env)
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(workflow_text(env, ci, arn, hakobu_version()), encoding="utf-8")
    if after != before:
        config_path.write_text(after, encoding="utf-8")
    return CiSetup(chosen, ci.subject, arn, workflow, config_path, after != before)


def _check_recorded(text: str, env: Environment, ci: CiSettings) -> None:
    """The edited file must say exactly `ci` for this environment."""
    project = parse_project(tomllib.loads(text), env.root)
    if project.environment(env.name).settings.ci != ci:
        raise HakobuError(
            "hakobu could not record [ci] in hakobu.toml without it being overridden",
            f"set [environments.{env.name}.ci] github = {ci.github!r} by hand",
        )


__all__ = ["DEFAULT_BRANCH", "CiSetup", "setup_github"]
