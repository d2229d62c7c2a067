"""Which image a deploy runs: built from the app's git tree and pushed, or given.

Either way the result is pinned to a digest: a tag can move, a digest cannot, so the
service runs exactly what was built and tested (the guide's `:latest` can change under a
running service).
"""

from __future__ import annotations

from hakobu.aws import ecr as ecr_ops
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.ship.deploy import DeployEvents, Release
from hakobu.ship.git import source_revision
from hakobu.ship.image import build_and_push, ecr_login, find_builder

LATEST = "latest"


def repository_of(env: Environment, target: Target) -> str:
    """Where to push: `registry.url` if set, else the environment's ECR repository."""
    if env.settings.registry.url:
        return env.settings.registry.url
    repository = Names.of(env).repository
    uri = ecr_ops.repository_uri(target.client("ecr"), repository)
    if uri is None:
        raise HakobuError(
            f"the ECR repository {repository} does not exist",
            "run `hakobu up` first (it creates the repository)",
        )
    return uri


def build_release(
    env: Environment, target: Target, events: DeployEvents, builder_name: str | None = None
) -> Release:
    """Build the app's image for the configured platform and push it, tagged by commit."""
    revision = source_revision(env.root)
    repository = repository_of(env, target)
    registry = repository.split("/", 1)[0]
    settings = env.settings.deploy
    builder = find_builder(builder_name or settings.builder)
    tags = [revision.tag] + ([LATEST] if settings.tag_latest else [])
    events.step(
        "Building",
        f"{repository}:{revision.tag} for {env.settings.service.platform} with {builder.name}",
    )
    login = ecr_login(target.client("ecr"), registry=registry)
    pushed = build_and_push(
        builder,
        env.root / settings.context,
        repository,
        tags,
        env.settings.service.platform,
        login,
        dockerfile=env.root / settings.dockerfile,
        on_line=events.output,
    )
    events.step("Pushed", pushed.uri)
    return Release(image=pushed.uri, tag=revision.tag, commit=revision.commit)


def prebuilt_release(env: Environment, target: Target, uri: str) -> Release:
    """A prebuilt image (`--image`), pinned to its digest when it is in our ECR repository."""
    if "@sha256:" in uri:
        digest = uri.split("@", 1)[1]
        return Release(image=uri, tag=digest[:19], commit=None)
    repository, _, tag = uri.rpartition(":")
    if not repository or "/" in tag:
        raise HakobuError(
            f"--image {uri!r} names no tag or digest",
            "pass repository:tag or repository@sha256:...",
        )
    digest = _ecr_digest(target, repository, tag)
    if digest is None:
        return Release(image=uri, tag=tag, commit=None)
    return Release(image=f"{repository}@{digest}", tag=tag, commit=None)


def _ecr_digest(target: Target, repository: str, tag: str) -> str | None:
    """The digest behind `repository:tag` if the repository is an ECR one we can read."""
    host, _, name = repository.partition("/")
    if ".dkr.ecr." not in host:
        return None
    details = ecr_ops.image_details(target.client("ecr"), name, {"imageTag": tag})
    if not details:
        raise HakobuError(
            f"no image tagged {tag!r} in the ECR repository {name}",
            "push it first, or list what is there with `hakobu images`",
        )
    return str(details[0]["imageDigest"])
