"""Which source an image is built from: the git commit, and whether the tree differs from it.

Deploys are immutable (docs/design.md, "Deploys"): an image is tagged with its commit, never
`latest`. A tree with uncommitted changes gets a tag that names those changes too
(`<commit>-dirty-<hash>`), so two different dirty builds never share a tag and the same
dirty tree always gets the same one.

The whole repository counts, not only the app directory: a Dockerfile or a shared library
outside it can change the image as well.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hakobu.core.errors import HakobuError, PreflightError

SHORT_COMMIT = 12  # as long as GitHub and `git log --abbrev=12` show; unique in huge repos
DIFF_HASH = 8
NO_SOURCE_FIX = "commit, or deploy a prebuilt image with --image URI"


@dataclass(frozen=True)
class SourceRevision:
    """The commit at HEAD (40 hex) and, for a dirty tree, the sha256 of its changes."""

    commit: str
    dirty: bool
    diff_hash: str | None

    @property
    def tag(self) -> str:
        """The image tag: `abcdef012345`, or `abcdef012345-dirty-0123abcd`."""
        short = self.commit[:SHORT_COMMIT]
        if not self.dirty or self.diff_hash is None:
            return short
        return f"{short}-dirty-{self.diff_hash[:DIFF_HASH]}"


def source_revision(root: Path) -> SourceRevision:
    """The revision of the git repository that contains `root`."""
    if not root.is_dir():
        raise HakobuError(f"{root} is not a directory", NO_SOURCE_FIX)
    not_repo = f"{root} is not in a git repository, so the image has no commit to be tagged with"
    top = Path(_git(root, "rev-parse", "--show-toplevel", problem=not_repo).strip())
    no_commit = f"the git repository at {top} has no commit yet to tag the image with"
    commit = _git(top, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", problem=no_commit)
    digest = hashlib.sha256()
    diff = _git_bytes(top, *diff_args())
    digest.update(diff)
    untracked = _untracked(top)
    for name in untracked:
        digest.update(_untracked_record(top, name))
    dirty = bool(diff) or bool(untracked)
    return SourceRevision(
        commit=commit.strip(), dirty=dirty, diff_hash=digest.hexdigest() if dirty else None
    )


def diff_args() -> list[str]:
    """`git diff HEAD` that gives the same bytes whatever the user's git config says.

    --binary so a changed image or font changes the hash (not just "Binary files differ");
    no external diff, textconv, colour or rename detection and fixed a/ b/ prefixes, since
    those are user settings that change the bytes while the tree stays the same.
    """
    return [
        "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
        "diff", "HEAD", "--binary", "--full-index", "--no-ext-diff", "--no-textconv",
        "--no-color", "--no-renames",
    ]  # fmt: skip


def _untracked(top: Path) -> list[bytes]:
    """Untracked files that are not ignored: `git diff HEAD` alone would miss them."""
    out = _git_bytes(top, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted(name for name in out.split(b"\0") if name)


def _untracked_record(top: Path, name: bytes) -> bytes:
    """The name and content of one untracked file, delimited so no two files collide."""
    path = top / os.fsdecode(name)
    if path.is_symlink():
        content = b"symlink:" + os.fsencode(os.readlink(path))
    else:
        try:
            content = path.read_bytes()
        except OSError:  # removed since `ls-files` listed it, or unreadable
            content = b""
    size = str(len(content)).encode()
    return b"untracked\0" + name + b"\0" + size + b"\0" + content


def _git(cwd: Path, *args: str, problem: str | None = None) -> str:
    return _git_bytes(cwd, *args, problem=problem).decode("utf-8", errors="replace")


def _git_bytes(cwd: Path, *args: str, problem: str | None = None) -> bytes:
    """Run git in `cwd`; `problem` is what a failure means for the user, when known."""
    git = shutil.which("git")
    if git is None:
        raise PreflightError(
            "git is not installed, so hakobu cannot tag the image with the commit",
            "install git, or deploy a prebuilt image with --image URI",
        )
    # GIT_OPTIONAL_LOCKS=0: a read must not take the index lock (a concurrent `git commit`
    # in the user's editor would fail on it).
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    result = subprocess.run(
        [git, *args], cwd=cwd, env=env, capture_output=True, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", errors="replace").strip()
        if problem is not None:
            raise HakobuError(problem, NO_SOURCE_FIX)
        raise HakobuError(f"`git {' '.join(args)}` failed in {cwd}: {detail}", NO_SOURCE_FIX)
    return result.stdout
