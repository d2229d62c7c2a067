"""Checks of the registry: the image the service runs is in ECR."""

from __future__ import annotations

import re

from hakobu.aws import ecr as ecr_ops
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, Skip, ok, problem, utc_minute, warning
from hakobu.provision.blueprint.service import BOOTSTRAP_TAG

ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def check_image(facts: Facts) -> Finding:
    """The image the service runs is still in ECR (a lifecycle rule may have expired it)."""
    definition = facts.task_definition
    containers = definition.get("containerDefinitions") or [{}]
    named = [c for c in containers if c.get("name") == facts.names.container]
    image = str((named or containers)[0].get("image", ""))
    found = ECR_IMAGE.match(image)
    if found is None:
        raise Skip(f"the service runs {image or 'no image'}, not an ECR image")
    if found["region"] != facts.env.region:
        raise Skip(f"the service runs an image from ECR in {found['region']}: {image}")
    repository, tag, digest = found["repository"], found["tag"], found["digest"]
    ecr = facts.client("ecr")
    image = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
    try:
        details = ecr_ops.image_details(ecr, repository, image, registry_id=found["account"])
    except ecr.exceptions.RepositoryNotFoundException:
        return problem(f"the ECR repository {repository} does not exist", "run `hakobu up`")
    short = f"{repository}@{digest[:19]}…" if digest else f"{repository}:{tag or 'latest'}"
    if details:
        tags = ", ".join(details[0].get("imageTags", [])) or "untagged"
        pushed = details[0].get("imagePushedAt")
        when = f"; pushed {utc_minute(pushed)}" if pushed else ""
        return ok(f"{short} is in ECR (tags: {tags}{when})")
    if tag == BOOTSTRAP_TAG and not digest:
        return warning(
            f"no deploy yet: the service runs the placeholder {repository}:{BOOTSTRAP_TAG}, "
            "which nothing pushes, so no task can start",
            "run `hakobu deploy`: it builds, pushes and rolls out the app",
        )
    return problem(
        f"the image the service runs, {short}, is not in ECR (deleted, or expired: the "
        f"repository keeps the newest {facts.env.settings.registry.keep_images}): new tasks "
        "cannot start",
        "run `hakobu deploy` to push and roll out a new image, or `hakobu rollback --to "
        "REVISION` to one whose image is still there (`hakobu images` lists them)",
    )
