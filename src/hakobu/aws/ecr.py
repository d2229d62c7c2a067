"""ECR: the repository's address, its images, and the registry login token."""

from __future__ import annotations

import contextlib
from typing import Any


def repository_uri(ecr: Any, repository: str) -> str | None:
    """Where to push to `repository`, or None if it does not exist."""
    try:
        found = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        return None
    return str(found["repositoryUri"])


def image_details(
    ecr: Any, repository: str, image: dict[str, str], registry_id: str | None = None
) -> list[dict[str, Any]]:
    """The details of one image (`{"imageTag": ...}` or `{"imageDigest": ...}`); empty
    if there is no such image. A missing repository raises RepositoryNotFoundException."""
    request: dict[str, Any] = {"repositoryName": repository, "imageIds": [image]}
    if registry_id is not None:
        request = {"registryId": registry_id, **request}
    try:
        return list(ecr.describe_images(**request)["imageDetails"])
    except ecr.exceptions.ImageNotFoundException:
        return []


def all_images(ecr: Any, repository: str) -> list[dict[str, Any]]:
    """Every image of the repository, as listed (callers sort)."""
    details: list[dict[str, Any]] = []
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository):
        details.extend(page["imageDetails"])
    return details


def authorization(ecr: Any) -> dict[str, Any]:
    """The registry login: `authorizationToken` (base64 user:password), `proxyEndpoint`."""
    return dict(ecr.get_authorization_token()["authorizationData"][0])


def put_manifest(ecr: Any, repository: str, tag: str, manifest: str, digest: str) -> None:
    """Record `manifest` under `tag` (PutImage); an identical manifest already there is fine."""
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(
            repositoryName=repository, imageManifest=manifest, imageTag=tag, imageDigest=digest
        )
