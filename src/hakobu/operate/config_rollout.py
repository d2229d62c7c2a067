"""After `hakobu up`: a configuration change reaches the release that runs.

The services ignore `task_definition`, so an apply that changes a container definition (an
environment variable, a secret reference, the task size, a worker's command) only
registers Terraform's new revision, running the :bootstrap placeholder; the services keep
theirs. Once the apply is done, each process that runs a release and has such a newer
revision gets a revision of it running the release it runs now (its image and tags, and
the app secrets `hakobu secrets set` gave it: ship/config_base.py), and every such
service is moved and followed as a deploy's are. ECS's circuit breaker rolls a failing
one back, so the last good version keeps serving; the next deploy still builds on
Terraform's revision. Before the first deploy there is no release, and nothing moves.

A worker added to hakobu.toml after the first deploy is a new service Terraform started on
its first revision, the placeholder: it gets a revision of that definition running the
release web runs (the same image digest and tags), and moves to it with the others. Every
worker's revision reads the app secrets web's reads (aws/app_secret_refs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.app_secret_refs import SecretRefs, with_app_secrets
from hakobu.aws.arn import last_part
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.placeholder import runs_placeholder
from hakobu.core.target import Target
from hakobu.operate.pausing.record import pause_in_effect
from hakobu.operate.secrets import revision_tags
from hakobu.ship import processes
from hakobu.ship.config_base import base_definition
from hakobu.ship.deploy import DeployEvents, DeployResult, RolloutFollower, deployer_identity

CHANGE = "up: configuration"  # the hakobu:change tag of the revisions registered here


@dataclass(frozen=True)
class Pending:
    """A process whose service runs a release older than Terraform's configuration."""

    process: str
    running: str  # `family:N` its service runs
    base: dict[str, Any]  # Terraform's newer revision, with the release's image and app secrets
    tags: dict[str, str]  # the release's (which release it is)
    what: str  # for the "Registered" line: what the revision is


@dataclass(frozen=True)
class AfterApply:
    """What `up` did with the configuration change once its apply was done."""

    changed: tuple[str, ...]  # the processes whose container definition changed
    paused: bool  # paused now: nothing runs to move, the next deploy takes it
    result: DeployResult | None  # the rollout, when one was made


def roll_out_after_apply(env: Environment, target: Target, events: DeployEvents) -> AfterApply:
    """Roll each changed process out on its new configuration, unless the environment is
    paused. A failed rollout raises the DeployError that names it (ECS rolled it back)."""
    pending = pending_changes(target.client("ecs"), env)
    changed = tuple(p.process for p in pending)
    if not pending:
        return AfterApply(changed, paused=False, result=None)
    if pause_in_effect(env, target.sandbox) is not None:
        return AfterApply(changed, paused=True, result=None)
    follower = RolloutFollower(env, target, events)
    return AfterApply(changed, paused=False, result=roll_out_configuration(follower, pending))


@dataclass(frozen=True)
class _Running:
    """What a process's service runs now: its revision, described, and its tags."""

    definition: dict[str, Any]
    tags: dict[str, str]

    @property
    def revision(self) -> str:
        return last_part(self.definition["taskDefinitionArn"])


def pending_changes(ecs: Any, env: Environment) -> list[Pending]:
    """Each process (web first) whose next revision would carry a configuration change, and
    each worker that still runs the placeholder while web runs a release."""
    running = _running(ecs, env)
    web = running.get(WEB)
    if web is not None and runs_placeholder(web.definition):
        web = None  # never deployed: the first deploy takes it all
    refs = processes.web_secret_refs(env, web.definition) if web else []
    found = []
    for process in processes.processes_of(env):
        now = running.get(process.name)
        if now is None:
            continue
        change = _pending(ecs, env, process.name, now, web, refs)
        if change is not None:
            found.append(change)
    return found


def _running(ecs: Any, env: Environment) -> dict[str, _Running]:
    """process -> what its service runs, for each service that exists."""
    names = Names.of(env)
    found = {}
    for process in processes.processes_of(env):
        try:
            service = ecs_ops.service_description(ecs, names.cluster, process.service)
        except HakobuError:  # not created (or deleted by hand): nothing runs to update
            continue
        found[process.name] = _Running(
            *ecs_ops.tagged_task_definition(ecs, service["taskDefinition"])
        )
    return found


def _pending(
    ecs: Any,
    env: Environment,
    process: str,
    now: _Running,
    web: _Running | None,
    refs: SecretRefs,
) -> Pending | None:
    names = Names.of(env)
    base = base_definition(ecs, now.definition, names.container, names.prefix)
    if process != WEB and web is not None:  # web's app secrets are every process's
        base = with_app_secrets(base, names.container, names.prefix, refs)
    if not runs_placeholder(now.definition):
        if base["revision"] == now.definition["revision"]:
            return None  # nothing newer from Terraform
        what = f"{process}: {now.revision}'s release on the new configuration"
        return Pending(process, now.revision, base, now.tags, what)
    if web is None or process == WEB:
        return None  # nothing deployed yet: the first deploy starts it
    # A worker Terraform just created (or one that never got a release): web's release.
    image = processes.image_of(web.definition, names.container)
    started = ecs_ops.revision_request(base, names.container, image, {})  # the definition
    what = f"{process}: {web.revision}'s release, which web runs"
    return Pending(process, now.revision, started, web.tags, what)


def roll_out_configuration(follower: RolloutFollower, pending: list[Pending]) -> DeployResult:
    """Register each pending process's revision and move its service, followed like a
    deploy (a DeployError names each one ECS rolled back to what it ran)."""
    env, ecs = follower.env, follower.target.client("ecs")
    container = Names.of(env).container
    by = deployer_identity(follower.target)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    arns = {}
    for change in pending:
        image = processes.image_of(change.base, container)
        tags = revision_tags(change.tags, CHANGE, by, at)
        request = ecs_ops.revision_request(change.base, container, image, tags)
        arns[change.process] = ecs_ops.register_revision(ecs, request)
        follower.events.step(
            "Registered", f"task definition {last_part(arns[change.process])} ({change.what})"
        )
    return follower.move(ecs, arns, "Rolling out")
