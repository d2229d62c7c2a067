"""`hakobu deploy`: build, push, register, release, roll out, safely and in that order.

The guide's steps 7-10 by hand, made safe by construction (docs/design.md, "Deploys"):
- the image is tagged with the git commit and the service runs its *digest*, never `latest`;
- migrations run as a one-off task of the new revision *before* the service moves, so a
  failed migration leaves the old version serving;
- success means our revision is PRIMARY and its rollout COMPLETED; the circuit breaker
  rolls a failing rollout back and hakobu says why.
No Terraform runs here: redeploying code changes no infrastructure.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.arn import last_part
from hakobu.aws.errors import error_code
from hakobu.aws.logs import LogLine, last_lines
from hakobu.aws.sts import caller_identity
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.ship import processes, tasks
from hakobu.ship.alarm_rollback import alarm_rollback_reason
from hakobu.ship.config_base import base_definition
from hakobu.ship.rollout import RolloutResult, RolloutUpdate, follow_rollout

# Tags on each task-definition revision: the deploy history (`hakobu releases`) reads them.
TAG_COMMIT = "hakobu:git-commit"
TAG_IMAGE = "hakobu:image-tag"
TAG_BY = "hakobu:deployed-by"
TAG_AT = "hakobu:deployed-at"
STARTED_BY = "hakobu-release"
SANDBOX_ROLLOUT_NOTE = (
    "The sandbox runs no containers here (no podman or docker found), so the rollout cannot "
    "be followed: the service now points at the new revision. With podman or docker, the "
    "sandbox runs it and hakobu waits, as on AWS, until the rollout completes or the "
    "circuit breaker rolls it back."
)


class DeployError(HakobuError):
    """A deploy stopped before or during the rollout; the message says what still serves."""

    def __init__(
        self,
        problem: str,
        fix: str,
        log_lines: list[LogLine] | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(problem, fix)
        self.log_lines = log_lines or []
        self.details = details or []


class DeployEvents(Protocol):
    """What a deploy reports while it runs; the CLI renders it, tests record it."""

    def step(self, title: str, detail: str = "") -> None: ...
    def output(self, line: str) -> None: ...
    def rollout(self, update: RolloutUpdate) -> None: ...


@dataclass(frozen=True)
class Release:
    """The image to run and where it came from."""

    image: str  # what the task definition runs: repository@sha256:...
    tag: str  # the immutable tag (git commit) or the tag of a prebuilt image
    commit: str | None


@dataclass
class DeployResult:
    task_definition_arn: str
    release: Release
    rollout: RolloutResult | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Deployer:
    env: Environment
    target: Target
    events: DeployEvents
    # Builds and pushes the image, or resolves a prebuilt one; not needed for a rollback.
    build_image: Callable[[], Release] | None = None
    sleep: Callable[[float], None] = time.sleep  # between status polls; tests pass a no-op

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    @property
    def follower(self) -> RolloutFollower:
        return RolloutFollower(self.env, self.target, self.events)

    def run(self) -> DeployResult:
        ecs = self.target.client("ecs")
        service = ecs_ops.service_description(ecs, self.names.cluster, self.names.service)
        processes.check_worker_services(ecs, self.env)  # before minutes of building
        assert self.build_image is not None, "a deploy needs an image"
        release = self.build_image()
        arn = self._register(ecs, service, release)
        result = DeployResult(task_definition_arn=arn, release=release)
        # A release is one image across every process (ship.processes).
        arns = {WEB: arn} | self._register_workers(ecs, arn, release.image)
        try:
            self._release_task(ecs, service, arn, result)
        except DeployError as failed:
            raise self._withdrawn(ecs, arns, failed) from None
        processes.update_services(ecs, self.env, arns, self.events.step)
        if not self.target.runs_tasks:
            result.notes.append(SANDBOX_ROLLOUT_NOTE)
        else:
            result.rollout = self.follower.follow_all(ecs, arns)
        self._promote_schedules(ecs, arn, release.image, result)
        return result

    def _register(self, ecs: Any, service: dict[str, Any], release: Release) -> str:
        current = ecs_ops.task_definition(ecs, service["taskDefinition"])
        tags = {
            TAG_IMAGE: release.tag,
            TAG_BY: deployer_identity(self.target),
            TAG_AT: datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if release.commit:
            tags[TAG_COMMIT] = release.commit
        if "@sha256:" not in release.image:
            self.events.step(
                "Warning",
                f"{release.image} is not pinned to a digest: if the "
                "tag moves, new tasks run different code. Prefer repo@sha256:...",
            )
        base = base_definition(ecs, current, self.names.container, self.names.prefix)
        self._say_configuration(base, current)
        request = ecs_ops.revision_request(base, self.names.container, release.image, tags)
        arn = ecs_ops.register_revision(ecs, request)
        self.events.step("Registered", f"task definition {_revision(arn)} runs {release.image}")
        return arn

    def _say_configuration(self, base: dict[str, Any], current: dict[str, Any]) -> None:
        if base["revision"] != current["revision"]:
            family = base["family"]
            self.events.step(
                "Configuration",
                f"from {family}:{base['revision']}, which `hakobu up` registered after "
                f"{family}:{current['revision']} (the one running)",
            )

    def _release_task(
        self, ecs: Any, service: dict[str, Any], arn: str, result: DeployResult
    ) -> None:
        command = self.env.release_command
        if not command:
            return
        task_arn = tasks.start(ecs, self.names, service, arn, command, STARTED_BY)
        self.events.step("Release command", f"{' '.join(command)} (task {_task_id(task_arn)})")
        if not self.target.runs_tasks:
            result.notes.append(
                "The release task was started; the sandbox runs no containers here (no "
                "podman or docker found), so its exit code cannot be seen."
            )
            return
        logs = self.target.client("logs")
        outcome, lines = tasks.follow(ecs, logs, self.names, task_arn, self.events, self.sleep)
        if outcome.exit_code != 0:
            raise DeployError(
                f"the release command `{' '.join(command)}` failed "
                f"({tasks.failure(outcome)}); the service was not changed and the previous "
                "version keeps serving",
                "fix the command or the migration, then deploy again; `hakobu logs` shows "
                "the task's full output",
                last_lines(lines),
            )

    def _withdrawn(self, ecs: Any, arns: dict[str, str], failed: DeployError) -> DeployError:
        """The release command failed, so no process runs these revisions: deregister them,
        so `releases` lists no release that never ran and `rollback` never picks one."""
        try:
            for revision in arns.values():
                ecs_ops.deregister_revision(ecs, revision)
        except ClientError as exc:  # informative only: the deploy's own failure is the news
            failed.details.append(
                f"the new revision(s) could not be deregistered ({error_code(exc)}); "
                "`hakobu releases` lists them, though they never ran"
            )
            return failed
        withdrawn = ", ".join(_revision(r) for r in arns.values())
        failed.details.append(f"deregistered {withdrawn}: it never ran")
        return failed

    def roll_back(self, arn: str) -> DeployResult:
        """Move the service to an earlier revision, followed like a deploy."""
        ecs = self.target.client("ecs")
        definition, tags = ecs_ops.tagged_task_definition(ecs, arn)
        image = processes.image_of(definition, self.names.container)
        # Every process goes back to that release's image (and web's secrets) together.
        refs = processes.web_secret_refs(self.env, definition)
        arns = {WEB: arn} | processes.rollback_arns(ecs, self.env, image, tags, refs)
        result = self.follower.move(ecs, arns, "Rolling back")
        self._promote_schedules(ecs, arn, image, result)
        return result

    def _register_workers(self, ecs: Any, arn: str, image: str) -> dict[str, str]:
        if not processes.worker_processes(self.env):
            return {}
        web, tags = ecs_ops.tagged_task_definition(ecs, arn)
        refs = processes.web_secret_refs(self.env, web)  # the app secrets web's reads
        arns = processes.register_workers(ecs, self.env, image, tags, refs)
        for name, worker_arn in arns.items():
            self.events.step("Registered", f"task definition {_revision(worker_arn)} ({name})")
        return arns

    def _promote_schedules(self, ecs: Any, arn: str, image: str, result: DeployResult) -> None:
        """Schedules move to the release only once every process runs it."""
        if not self.env.settings.schedules:
            return
        if result.rollout is not None and not result.rollout.succeeded:
            return
        web, tags = ecs_ops.tagged_task_definition(ecs, arn)
        refs = processes.web_secret_refs(self.env, web)
        promoted = processes.promote_schedules(ecs, self.env, image, tags, refs)
        if promoted:
            count = len(self.env.settings.schedules)
            self.events.step("Schedules", f"{count} schedule(s) now run {_revision(promoted)}")


@dataclass
class RolloutFollower:
    """Points services at revisions and follows their rollouts as ECS reports them (the
    circuit breaker rolls a failing one back): what a deploy, a rollback and a `hakobu
    secrets` change share. `events` prints each step and rollout update."""

    env: Environment
    target: Target
    events: DeployEvents

    @property
    def names(self) -> Names:
        return Names.of(self.env)

    def move(self, ecs: Any, arns: dict[str, str], title: str) -> DeployResult:
        """Point each process at its revision and follow the rollouts (the circuit breaker
        rolls a failing one back); in the sandbox, say they cannot be followed."""
        processes.update_services(ecs, self.env, arns, self.events.step, title)
        shown = arns.get(WEB) or next(iter(arns.values()))  # `up` may move workers alone
        release = Release(image="", tag=_revision(shown), commit=None)
        result = DeployResult(task_definition_arn=shown, release=release)
        if not self.target.runs_tasks:
            result.notes.append(SANDBOX_ROLLOUT_NOTE)
        else:
            result.rollout = self.follow_all(ecs, arns)
        return result

    def follow_all(self, ecs: Any, arns: dict[str, str]) -> RolloutResult:
        """Every process's rollout; a DeployError naming each that ECS rolled back."""
        if list(arns) == [WEB]:
            return self.follow(ecs, arns[WEB])
        shown, failures = processes.follow_all(
            self.env, arns, lambda process, revision: self._follow_process(ecs, process, revision)
        )
        if failures:
            problem, fix = processes.failure_summary(failures, arns)
            logs = [line for _, exc in failures for line in getattr(exc, "log_lines", [])]
            details = [d for _, exc in failures for d in getattr(exc, "details", [])]
            raise DeployError(problem, fix, logs, details)
        assert shown is not None
        return shown

    def _follow_process(self, ecs: Any, process: processes.Process, arn: str) -> RolloutResult:
        # Each worker's tasks log under its own stream prefix (its name); web's under "ecs".
        prefix = "ecs" if process.name == WEB else process.name
        return self.follow(ecs, arn, process.service, prefix)

    def follow(
        self, ecs: Any, arn: str, service: str | None = None, log_prefix: str = "ecs"
    ) -> RolloutResult:
        result = follow_rollout(
            ecs,
            self.target.client("elbv2"),
            self.names.cluster,
            service or self.names.service,
            arn,
            timeout=self.env.settings.deploy.timeout_seconds,
            on_update=self.events.rollout,
        )
        if result.outcome == "FAILED":
            reason = self._alarm_reason(ecs, result) or result.reason
            logs = [
                line
                for task in result.stopped_tasks[:1]
                for line in last_lines(
                    tasks.task_logs(
                        self.target.client("logs"), self.names, _task_id(task.task_arn), log_prefix
                    )
                )
            ]
            raise DeployError(
                f"the rollout of {_revision(arn)} failed and ECS rolled the service back to "
                f"the previous version: {reason or 'no reason given'}",
                "read the stopped tasks' reasons and log lines above; `hakobu status` shows "
                "the service as it is now",
                logs,
                [task.text() for task in result.stopped_tasks],
            )
        return result

    def _alarm_reason(self, ecs: Any, result: RolloutResult) -> str | None:
        """Which deployment alarm made ECS roll back, if one did ([alarms])."""
        if self.env.settings.alarms is None:
            return None  # no deployment alarms: the circuit breaker's reason is the reason
        since = datetime.now(UTC) - timedelta(seconds=result.elapsed)
        cloudwatch = self.target.client("cloudwatch")
        names = self.names
        return alarm_rollback_reason(ecs, cloudwatch, names.cluster, names.service, since)


def deployer_identity(target: Target) -> str:
    """Who is deploying, as a revision's tags record it: the caller's ARN, else the user."""
    try:
        return str(caller_identity(target.client("sts"))["Arn"])
    except Exception:  # who deployed is informative, never a reason to fail a deploy
        return getpass.getuser()


def _revision(arn: str) -> str:
    """`family:revision` from a task-definition ARN."""
    return last_part(arn)


def _task_id(task_arn: str) -> str:
    return last_part(task_arn)
