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
from hakobu.sandbox import emulator, images
from hakobu.ship.deploy import DeployEvents, Release
from hakobu.ship.git import SourceRevision, source_revision
from hakobu.ship.image import Builder, build_and_push, build_local, ecr_login, find_builder

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
    preferred = builder_name or settings.builder
    if preferred is None and target.sandbox:
        # Build where the sandbox runtime runs containers from: its engine's own store.
        preferred = emulator.runtime_engine(env.root)
    builder = find_builder(preferred)
    tags = [revision.tag] + ([LATEST] if settings.tag_latest else [])
    events.step(
        "Building",
        f"{repository}:{revision.tag} for {env.settings.service.platform} with {builder.name}",
    )
    if target.sandbox and ".dkr.ecr." in registry:
        return _sandbox_release(env, target, events, builder, repository, tags, revision)
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


def _sandbox_release(
    env: Environment,
    target: Target,
    events: DeployEvents,
    builder: Builder,
    repository: str,
    tags: list[str],
    revision: SourceRevision,
) -> Release:
    """Build into the local store and record the image in the emulated ECR (see
    sandbox/images.py): no registry login, no push, nothing leaves the machine."""
    settings = env.settings.deploy
    image_id = build_local(
        builder,
        env.root / settings.context,
        repository,
        tags,
        env.settings.service.platform,
        dockerfile=env.root / settings.dockerfile,
        on_line=events.output,
    )
    manifest = images.manifest_for(image_id)
    digest = images.manifest_digest(manifest)
    ecr = target.client("ecr")
    name = repository.split("/", 1)[1]
    for tag in tags:
        ecr_ops.put_manifest(ecr, name, tag, manifest, digest)
    events.step(
        "Recorded",
        f"{repository}@{digest} in the sandbox's ECR (the image stays in {builder.name}'s "
        "local store: nothing is pushed)",
    )
    return Release(image=f"{repository}@{digest}", tag=revision.tag, commit=revision.commit)


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
