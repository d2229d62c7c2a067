"""A release is one image across every process: web, each worker, and the schedules.

`hakobu deploy` registers the new image in every process's family (each keeps its own
command and size), points every service at its new revision at once, and follows every
rollout: it succeeds only when all complete. ECS's circuit breaker rolls a failing service
back on its own; the deploy names each process that failed and the ones that moved.
Only then does the schedule family get the new image, so scheduled tasks never run a
release that is not fully out. A rollback moves every process (and the schedules) back to
the image of the chosen release together. Every revision registered here also injects the
app secrets of web's revision (aws/app_secret_refs.py): `hakobu secrets set` records them
there only, and a worker or a scheduled task needs them as much as web.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.app_secret_refs import SecretRefs, app_secret_refs, with_app_secrets
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB, workers
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.placeholder import runs_placeholder
from hakobu.ship.config_base import base_definition
from hakobu.ship.rollout import RolloutResult

# As many revisions as `hakobu releases` shows: a rollback goes back at most that far.
REVISIONS_SEARCHED = 20


@dataclass(frozen=True)
class Process:
    name: str  # "web", "worker", ...
    service: str  # its ECS service
    family: str  # its task-definition family


def processes_of(env: Environment) -> list[Process]:
    """web first, then the workers in the file's order."""
    names = Names.of(env)
    listed = [Process(WEB, names.service, names.task_family)]
    return listed + [
        Process(name, names.process(name), names.process(name)) for name in workers(env)
    ]


def worker_processes(env: Environment) -> list[Process]:
    return processes_of(env)[1:]


# describe_services names at most 10 services a call.
_DESCRIBE_BATCH = 10


def check_worker_services(ecs: Any, env: Environment) -> None:
    """Every worker hakobu.toml names has its ECS service. Checked before a deploy builds or
    a secrets change stores anything: a worker added to the file but not yet created by
    `hakobu up` would otherwise stop either halfway, after web's new revision (and the
    secret's value) were written. No call without workers."""
    names = Names.of(env)
    workers = worker_processes(env)
    for start in range(0, len(workers), _DESCRIBE_BATCH):
        batch = workers[start : start + _DESCRIBE_BATCH]
        response = ecs.describe_services(
            cluster=names.cluster, services=[p.service for p in batch]
        )
        described = response.get("services", [])
        active = {s.get("serviceName") for s in described if s.get("status") == "ACTIVE"}
        missing = [p for p in batch if p.service not in active]
        if missing:
            listed = ", ".join(f"{p.name!r} ({p.service})" for p in missing)
            raise HakobuError(
                f"hakobu.toml runs {listed} beside web, but ECS has no such service yet; "
                "nothing was changed",
                "run `hakobu up` to create it (it starts on web's release), then run this again",
            )


def image_of(definition: dict[str, Any], container: str) -> str:
    """The image `container` runs in a described revision."""
    containers = definition["containerDefinitions"]
    return next((c["image"] for c in containers if c["name"] == container), containers[0]["image"])


def web_secret_refs(env: Environment, web: dict[str, Any]) -> SecretRefs:
    """The app secrets web's revision `web` (described) injects: every process's."""
    names = Names.of(env)
    return app_secret_refs(web, names.container, names.prefix)


def register_workers(
    ecs: Any, env: Environment, image: str | None, tags: dict[str, str], refs: SecretRefs
) -> dict[str, str]:
    """A revision of each worker running `image` (None: the one it runs) and reading the
    app secrets `refs`, built on the revision its service runs now, or on Terraform's newer
    one (ship/config_base.py)."""
    return {p.name: register_for(ecs, env, p, image, tags, refs) for p in worker_processes(env)}


def register_for(
    ecs: Any,
    env: Environment,
    process: Process,
    image: str | None,
    tags: dict[str, str],
    refs: SecretRefs,
) -> str:
    names = Names.of(env)
    service = ecs_ops.service_description(ecs, names.cluster, process.service)
    current = ecs_ops.task_definition(ecs, service["taskDefinition"])
    # Terraform's newer definition of the family, if `hakobu up` changed it since.
    base = base_definition(ecs, current, names.container, names.prefix)
    base = with_app_secrets(base, names.container, names.prefix, refs)
    running = image or image_of(base, names.container)
    request = ecs_ops.revision_request(base, names.container, running, tags)
    return ecs_ops.register_revision(ecs, request)


def update_services(
    ecs: Any,
    env: Environment,
    arns: dict[str, str],
    step: Callable[[str, str], None],
    title: str = "Rolling out",
) -> None:
    """Point each process's service at its revision (`arns`: process name -> revision)."""
    names = Names.of(env)
    for process in processes_of(env):
        if process.name in arns:
            step(title, f"{process.service} -> {_revision(arns[process.name])}")
            ecs_ops.update_service(ecs, names.cluster, process.service, arns[process.name])


def promote_schedules(
    ecs: Any, env: Environment, image: str, tags: dict[str, str], refs: SecretRefs
) -> str | None:
    """The schedule family's new newest revision, running `image` and reading the app
    secrets `refs`; None without schedules.

    Schedules target the family without a revision, so from now on they run this one.
    """
    if not env.settings.schedules:
        return None
    names = Names.of(env)
    newest = ecs_ops.task_definition(ecs, names.schedule_family)
    newest = with_app_secrets(newest, names.container, names.prefix, refs)
    request = ecs_ops.revision_request(newest, names.container, image, tags)
    return ecs_ops.register_revision(ecs, request)


def resecret_schedules(
    ecs: Any, env: Environment, tags: dict[str, str], refs: SecretRefs
) -> str | None:
    """After a secrets change: the schedule family's new newest revision, its release as it
    is but reading the app secrets `refs`; None when it already reads exactly those (a
    rotation changes a value, not a reference), runs no release yet, or there are no
    schedules."""
    if not env.settings.schedules:
        return None
    names = Names.of(env)
    newest = ecs_ops.task_definition(ecs, names.schedule_family)
    if runs_placeholder(newest) or app_secret_refs(newest, names.container, names.prefix) == refs:
        return None
    return promote_schedules(ecs, env, image_of(newest, names.container), tags, refs)


def follow_all(
    env: Environment,
    arns: dict[str, str],
    follow: Callable[[Process, str], RolloutResult],
) -> tuple[RolloutResult | None, list[tuple[str, HakobuError]]]:
    """Follow every rollout (web first); the first unfinished result and the failures.

    `follow(process, arn)` raises a HakobuError when ECS rolled that service back; the others
    are still followed, so the deploy can say which moved and which did not.
    """
    failures: list[tuple[str, HakobuError]] = []
    shown: RolloutResult | None = None
    for process in processes_of(env):
        if process.name not in arns:
            continue
        try:
            result = follow(process, arns[process.name])
        except HakobuError as exc:
            failures.append((process.name, exc))
            continue
        if shown is None or (shown.succeeded and not result.succeeded):
            shown = result
    return shown, failures


def failure_summary(
    failures: list[tuple[str, HakobuError]], arns: dict[str, str]
) -> tuple[str, str]:
    """(problem, fix) naming each process whose rollout failed and those that moved."""
    failed = {name for name, _ in failures}
    problems = "; ".join(f"{name}: {exc.problem}" for name, exc in failures)
    moved = [f"{name} ({_revision(arn)})" for name, arn in arns.items() if name not in failed]
    problem = f"the rollout of {', '.join(sorted(failed))} failed ({problems})"
    if moved:
        problem += f"; {', '.join(moved)} completed on the new release"
    fix = (
        "ECS rolled the failed process back to its previous revision; fix it and deploy "
        "again (the schedules still run the previous release), or `hakobu rollback` to move "
        "every process back together"
    )
    return problem, fix


def rollback_arns(
    ecs: Any, env: Environment, image: str, tags: dict[str, str], refs: SecretRefs
) -> dict[str, str]:
    """For each worker, a revision running `image` and reading the app secrets `refs` (those
    of web's revision it goes back to): its newest such, or a new one."""
    arns = {}
    for process in worker_processes(env):
        found = _revision_running(ecs, env, process.family, image, refs)
        # A worker added after that release (or since given other secrets) gets one now.
        arns[process.name] = found or register_for(ecs, env, process, image, tags, refs)
    return arns


def _revision_running(
    ecs: Any, env: Environment, family: str, image: str, refs: SecretRefs
) -> str | None:
    """The newest of `family`'s last revisions running `image` and reading exactly `refs`."""
    names = Names.of(env)
    arns = ecs_ops.task_definition_arns(ecs, family)
    arns.sort(key=lambda arn: int(arn.rsplit(":", 1)[1]), reverse=True)
    for arn in arns[:REVISIONS_SEARCHED]:
        described = ecs_ops.task_definition(ecs, arn)
        if image_of(described, names.container) != image:
            continue
        if app_secret_refs(described, names.container, names.prefix) == refs:
            return arn
    return None


def revisions_by_image(
    ecs: Any, family: str, container: str, limit: int = REVISIONS_SEARCHED
) -> dict[str, str]:
    """image -> the newest of `family`'s last `limit` revisions that runs it."""
    arns = ecs_ops.task_definition_arns(ecs, family)
    arns.sort(key=lambda arn: int(arn.rsplit(":", 1)[1]), reverse=True)
    found: dict[str, str] = {}
    for arn in arns[:limit]:
        found.setdefault(image_of(ecs_ops.task_definition(ecs, arn), container), arn)
    return found


def worker_revisions_by_image(ecs: Any, env: Environment) -> dict[str, dict[str, str]]:
    """For `releases`: per worker, image -> its revision (`family:N`) running it."""
    names = Names.of(env)
    return {
        p.name: {
            image: _revision(arn)
            for image, arn in revisions_by_image(ecs, p.family, names.container).items()
        }
        for p in worker_processes(env)
    }


def current_revisions(ecs: Any, env: Environment) -> dict[str, str]:
    """What each worker's service runs now."""
    names = Names.of(env)
    return {
        p.name: ecs_ops.service_description(ecs, names.cluster, p.service)["taskDefinition"]
        for p in worker_processes(env)
    }


def _revision(arn: str) -> str:
    """`family:revision` from a task-definition ARN."""
    return arn.rsplit("/", 1)[-1]
