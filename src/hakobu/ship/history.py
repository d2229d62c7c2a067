"""The deploy history (`hakobu releases`), the images in ECR (`hakobu images`), and the
revision a rollback goes back to."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hakobu.aws import ecr as ecr_ops
from hakobu.aws import ecs as ecs_ops
from hakobu.core.errors import HakobuError
from hakobu.core.placeholder import BOOTSTRAP_TAG
from hakobu.ship.deploy import TAG_AT, TAG_BY, TAG_COMMIT, TAG_IMAGE

HISTORY_LENGTH = 20


@dataclass(frozen=True)
class ReleaseRecord:
    revision: int
    task_definition_arn: str
    image: str
    image_tag: str | None
    digest: str | None
    commit: str | None
    deployed_at: str | None
    deployed_by: str | None
    current: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def placeholder(self) -> bool:
        """Terraform's revision (`hakobu up`), not a release: nothing can run it."""
        return self.image.endswith(f":{BOOTSTRAP_TAG}")


@dataclass(frozen=True)
class ImageRecord:
    tags: tuple[str, ...]
    digest: str
    pushed_at: str
    size_mb: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def releases(
    ecs: Any, family: str, container: str, current_arn: str | None, limit: int = HISTORY_LENGTH
) -> list[ReleaseRecord]:
    """Task-definition revisions of `family`, newest first, with what hakobu tagged them."""
    arns = ecs_ops.task_definition_arns(ecs, family)
    # Sorted here as well: the order of the listing is not something to rely on.
    arns.sort(key=lambda arn: int(arn.rsplit(":", 1)[1]), reverse=True)
    return [release_record(ecs, arn, container, current_arn) for arn in arns[:limit]]


def release_record(ecs: Any, arn: str, container: str, current_arn: str | None) -> ReleaseRecord:
    """One revision with what hakobu tagged it (`releases` and `status` both show it)."""
    definition, tags = ecs_ops.tagged_task_definition(ecs, arn)
    image = next(
        (c["image"] for c in definition["containerDefinitions"] if c["name"] == container),
        definition["containerDefinitions"][0]["image"],
    )
    digest = image.split("@", 1)[1] if "@" in image else None
    registered = definition.get("registeredAt")
    return ReleaseRecord(
        revision=int(definition["revision"]),
        task_definition_arn=arn,
        image=image,
        image_tag=tags.get(TAG_IMAGE) or (image.rsplit(":", 1)[-1] if digest is None else None),
        digest=digest,
        commit=tags.get(TAG_COMMIT),
        deployed_at=tags.get(TAG_AT) or (registered.isoformat() if registered else None),
        deployed_by=tags.get(TAG_BY),
        current=arn == current_arn,
    )


def rollback_target(
    history: list[ReleaseRecord], current_arn: str, to_revision: int | None
) -> ReleaseRecord:
    """The revision to go back to: the one given, or the newest older than the current
    that runs a release (Terraform's revisions run the never-pushed :bootstrap image)."""
    if to_revision is not None:
        for record in history:
            if record.revision == to_revision:
                if record.task_definition_arn == current_arn:
                    raise HakobuError(
                        f"revision {to_revision} is already running",
                        "pick another with `hakobu releases`",
                    )
                if record.placeholder:
                    raise HakobuError(
                        f"revision {to_revision} is one `hakobu up` registered: it runs the "
                        f"never-pushed :{BOOTSTRAP_TAG} image, so its tasks cannot start",
                        "pick a revision that runs a release (`hakobu releases`)",
                    )
                return record
        raise HakobuError(
            f"no revision {to_revision} in the last {len(history)} releases",
            "see `hakobu releases` for the revisions you can roll back to",
        )
    current = next((r.revision for r in history if r.task_definition_arn == current_arn), None)
    older = [
        r for r in history if current is not None and r.revision < current and not r.placeholder
    ]
    if not older:
        raise HakobuError(
            "there is no earlier revision to roll back to",
            "deploy a fixed version instead (`hakobu deploy`)",
        )
    return older[0]


def images(ecr: Any, repository: str, newest: int = 5) -> list[ImageRecord]:
    """ECR images, newest first (the guide's `sort_by(imageDetails,& imagePushedAt)[-5:]`)."""
    details = ecr_ops.all_images(ecr, repository)
    details.sort(key=lambda d: d["imagePushedAt"], reverse=True)
    return [
        ImageRecord(
            tags=tuple(d.get("imageTags", [])),
            digest=d["imageDigest"],
            pushed_at=d["imagePushedAt"].isoformat(),
            size_mb=round(d.get("imageSizeInBytes", 0) / 1_000_000, 1),
        )
        for d in details[:newest]
    ]
