"""The ship commands as library calls: deploy, roll back, list releases and images, and
where the app answers. Each is one call for the CLI, which only renders the result."""

from __future__ import annotations

from functools import partial

from msgspec.structs import replace

from hakobu.aws.ecs import service_description
from hakobu.aws.elbv2 import load_balancer
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.sandbox import emulator
from hakobu.ship import artifact, history, processes
from hakobu.ship.deploy import Deployer, DeployEvents, DeployResult


def with_timeout(env: Environment, timeout: int | None) -> Environment:
    """`env` with deploy.timeout_seconds replaced by `--timeout`, when given."""
    if timeout is None:
        return env
    deploy = replace(env.settings.deploy, timeout_seconds=timeout)
    return replace(env, settings=replace(env.settings, deploy=deploy))


def deployer(
    env: Environment,
    target: Target,
    events: DeployEvents,
    image: str | None = None,
    builder: str | None = None,
) -> Deployer:
    """A deployer that builds the image (with `builder`) or ships the prebuilt `image`."""
    if image:
        build = partial(artifact.prebuilt_release, env, target, image)
    else:
        build = partial(artifact.build_release, env, target, events, builder)
    return Deployer(env, target, events, build)


def deploy(
    env: Environment,
    target: Target,
    events: DeployEvents,
    image: str | None = None,
    builder: str | None = None,
) -> DeployResult:
    return deployer(env, target, events, image, builder).run()


def releases(env: Environment, target: Target) -> list[history.ReleaseRecord]:
    """The deploy history, newest first, the revision the service runs marked current."""
    names = Names.of(env)
    ecs = target.client("ecs")
    current = service_description(ecs, names.cluster, names.service)["taskDefinition"]
    return history.releases(ecs, names.task_family, names.container, current)


def process_revisions(
    env: Environment, target: Target, records: list[history.ReleaseRecord]
) -> list[dict[str, str]]:
    """Per release, each worker's revision running the same image (a release is one image
    across every process); "-" where a worker has none (it did not exist yet)."""
    ecs = target.client("ecs")
    by_image = processes.worker_revisions_by_image(ecs, env)
    return [
        {name: images.get(record.image, "-") for name, images in by_image.items()}
        for record in records
    ]


def roll_back(
    env: Environment, target: Target, events: DeployEvents, to: int | None
) -> DeployResult:
    """Move the service back to revision `to` (default: the one before the current)."""
    names = Names.of(env)
    ecs = target.client("ecs")
    current = service_description(ecs, names.cluster, names.service)["taskDefinition"]
    records = history.releases(ecs, names.task_family, names.container, current)
    chosen = history.rollback_target(records, current, to)
    return deployer(env, target, events).roll_back(chosen.task_definition_arn)


def images(env: Environment, target: Target, count: int) -> list[history.ImageRecord]:
    return history.images(target.client("ecr"), Names.of(env).repository, count)


def app_url(env: Environment, target: Target) -> str:
    """Where the app answers: in the sandbox, its load balancer on 127.0.0.1 (where the
    runtime serves it); on AWS, http:// and the load balancer's DNS name."""
    if target.sandbox:
        served = emulator.served_url(env.root, Names.of(env).load_balancer)
        if served is not None:
            return served
    return f"http://{load_balancer_dns(env, target)}"


def load_balancer_dns(env: Environment, target: Target) -> str:
    """Where the app answers: the load balancer's DNS name (the guide's output)."""
    name = Names.of(env).load_balancer
    balancer = load_balancer(target.client("elbv2"), name)
    if balancer is None:
        raise HakobuError(f"the load balancer {name} does not exist", "run `hakobu up`")
    return str(balancer["DNSName"])
