"""Images in the sandbox: built into the local engine's store, recorded in the emulated ECR,
never pushed anywhere (nothing leaves the machine, and no registry login happens).

The emulated ECR holds a manifest whose config digest is the local image's ID. That is the
rule of every registry (an image's ID is the digest of its config), so the sandbox runtime
resolves a task definition's `repository@sha256:...` through ECR to the image to run, as
ECS resolves it to what it pulls. `hakobu images`, `releases`, `rollback` and doctor's image
check read ECR as they do on AWS.
"""

from __future__ import annotations

import hashlib
import json

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"


def manifest_for(image_id: str) -> str:
    """A Docker v2 manifest naming the local image's config; no layers (nothing is pushed)."""
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": 0, "digest": image_id},
        "layers": [],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def manifest_digest(manifest: str) -> str:
    """What a registry reports for a manifest: the sha256 of its bytes."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def config_digest(manifest: str) -> str | None:
    """The image ID a manifest stands for (its config digest), or None if it names none."""
    try:
        digest = json.loads(manifest)["config"]["digest"]
    except (ValueError, KeyError, TypeError):
        return None
    return digest if isinstance(digest, str) and digest.startswith("sha256:") else None
