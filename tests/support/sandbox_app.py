"""What tests of a deployed sandbox app share: git for the app folder (deploys are tagged by
commit), an image recorded in the emulated ECR as `deploy --sandbox` records it, and the
body the sandbox's load balancer serves."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from hakobu.aws import ecr as ecr_ops
from hakobu.sandbox import emulator, images
from hakobu.sandbox.runtime.engine import ContainerEngine


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


def record_in_ecr(
    ecr: Any, engine: ContainerEngine, image: str, repository: str, tag: str
) -> tuple[str, str]:
    """Record the local `image` in the emulated ECR under `repository:tag` as
    `deploy --sandbox` does (a manifest whose config digest is the image ID: nothing is
    pushed); (the repository URI, the manifest digest)."""
    image_id = subprocess.run(
        [engine.executable, "image", "inspect", "--format", "{{.Id}}", image],
        env=engine.environment(), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    image_id = image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
    manifest = images.manifest_for(image_id)
    digest = images.manifest_digest(manifest)
    ecr_ops.put_manifest(ecr, repository, tag, manifest, digest)
    uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    return str(uri["repositoryUri"]), digest


def load_balancer_url(root: Path) -> str | None:
    """The sandbox's load balancer URL for the app in `root`, once the runtime serves one."""
    facts = emulator.runtime_facts(root) or {}
    for balancer in (facts.get("load_balancers") or {}).values():
        return str(balancer["url"])
    return None
