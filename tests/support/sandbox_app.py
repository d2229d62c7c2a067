"""What tests of a deployed sandbox app share: git for the app folder (deploys are tagged by
commit), and the body the sandbox's load balancer serves."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from hakobu.sandbox import emulator


def git(repo: Path, *args: str) -> str:
    """`git ARGS` in `repo` with a fixed identity and no signing; its stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=hakobu", "-c", "user.email=hakobu@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def served_body(root: Path, path: str, expected: str) -> str | None:
    """`expected` once the sandbox's load balancer answers `path` with it, else None (no
    load balancer yet, no healthy target, or the previous release still serving)."""
    facts = emulator.runtime_facts(root) or {}
    for balancer in (facts.get("load_balancers") or {}).values():
        try:
            with urllib.request.urlopen(balancer["url"] + path, timeout=2) as answer:
                text = answer.read().decode().strip()
        except OSError:
            return None
        return text if text == expected else None
    return None
