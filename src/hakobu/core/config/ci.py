"""The [ci] section of hakobu.toml: which GitHub repository may deploy, and from where.

`hakobu ci github` writes it; `hakobu up` then creates the OIDC role that trusts exactly
that repository's branch (or GitHub environment). The checks here also guard the command
line, so a bad --repo or --branch fails before anything is written.
"""

from __future__ import annotations

import re
from typing import Literal

from hakobu.core.config.section import KeyProblem, Section

# GitHub: an owner is 1-39 letters, digits and inner hyphens; a repository name is letters,
# digits, ".", "-" and "_" (not "." or ".." alone).
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REPO_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# A branch name as git allows it, minus what would make the trust condition ambiguous:
# no wildcard (the role must trust one branch), no "refs/heads/" prefix (hakobu adds it).
BRANCH_FORBIDDEN = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|//|^/|/$|\.lock$|^\.|/\.|\.$")
# GitHub environment names: we accept the characters that are safe inside the OIDC subject.
ENVIRONMENT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
DEFAULT_BRANCH = "main"
EXAMPLE_REPO = "my-org/my-app"


class CiProblem(ValueError):
    """A bad [ci] value or command-line argument: the key, the problem and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix


def check_repo(repo: str) -> str:
    owner, slash, name = repo.partition("/")
    if (
        not slash
        or not OWNER_PATTERN.match(owner)
        or not REPO_NAME_PATTERN.match(name)
        or name in (".", "..")
    ):
        raise CiProblem(
            "github",
            f"{repo!r} is not a GitHub repository name",
            f'write it as OWNER/NAME, for example "{EXAMPLE_REPO}"',
        )
    return repo


def check_branch(branch: str) -> str:
    if branch.startswith("refs/"):
        short = branch.removeprefix("refs/heads/")
        raise CiProblem(
            "branch",
            f"{branch!r} is a full ref; hakobu wants the branch name",
            f'write branch = "{short}" (hakobu trusts refs/heads/<branch>)',
        )
    if not branch or len(branch) > 255 or BRANCH_FORBIDDEN.search(branch):
        raise CiProblem(
            "branch",
            f"{branch!r} is not one git branch name",
            f'name exactly one branch, for example "{DEFAULT_BRANCH}" (no wildcards, spaces '
            'or "..": the role trusts that one branch only)',
        )
    return branch


def check_environment(name: str) -> str:
    if not ENVIRONMENT_PATTERN.match(name):
        raise CiProblem(
            "environment",
            f"{name!r} is not a GitHub environment name hakobu can trust",
            'use letters, digits, ".", "-" and "_", for example "production"',
        )
    return name


class CiSettings(Section):
    """`[ci] github = "OWNER/NAME"` and either `branch` or `environment`."""

    github: str | None = None
    # The branch whose pushes deploy (default main), or the GitHub environment the deploy
    # job runs in; the role trusts that one subject only.
    branch: str | None = None
    environment: str | None = None
    # An AWS account has one OIDC provider per URL: "existing" uses the one already there
    # (created by another environment or by hand) and never deletes it.
    oidc_provider: Literal["create", "existing"] = "create"

    def __post_init__(self) -> None:
        try:
            if self.github is None:
                raise CiProblem(
                    "github",
                    "[ci] needs the repository that deploys",
                    f'add github = "{EXAMPLE_REPO}" to [ci] (`hakobu ci github` writes it)',
                )
            check_repo(self.github)
            if self.branch is not None and self.environment is not None:
                raise CiProblem(
                    "environment",
                    "[ci] names both a branch and a GitHub environment",
                    "keep one: the role trusts either a branch or an environment",
                )
            if self.branch is not None:
                check_branch(self.branch)
            if self.environment is not None:
                check_environment(self.environment)
        except CiProblem as exc:
            raise KeyProblem(exc.key, exc.problem, exc.fix) from None

    @property
    def subject(self) -> str:
        """The OIDC `sub` claim the role trusts, exactly."""
        if self.environment is not None:
            return f"repo:{self.github}:environment:{self.environment}"
        return f"repo:{self.github}:ref:refs/heads/{self.branch or DEFAULT_BRANCH}"

    @property
    def push_branch(self) -> str:
        return self.branch or DEFAULT_BRANCH
