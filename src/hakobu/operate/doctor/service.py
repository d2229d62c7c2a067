"""Checks of the ECS service: its tasks, why they stopped, its targets' health."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.aws.arn import last_part
from hakobu.core.errors import HakobuError, aws_error
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, Skip, ok, problem, warning
from hakobu.provision.blueprint.service import BOOTSTRAP_TAG, runs_placeholder
from hakobu.ship.rollout import StoppedTask, stopped_task, target_line

# ECS's stop codes for a task that never started or whose app exited; the others
# (ServiceSchedulerInitiated, UserInitiated, SpotInterruption, TerminationNotice) are
# deployments, scaling and Spot, which stop healthy tasks too.
FAILED_STOP_CODES = frozenset({"TaskFailedToStart", "EssentialContainerExited"})
# The one failure ECS reports only in words: a task stopped by the scheduler because the
# load balancer's (or the container's) health checks failed. AWS's fixed phrase.
HEALTH_CHECK_WORDS = "health check"
# Error names ECS puts in stoppedReason / container reason (documented in "Amazon ECS
# stopped task error messages"), with what they mean for this stack.
STOP_HINTS = (
    (
        "CannotPullContainerError",
        "the image could not be pulled: see registry › service image, and network › routes "
        "(private tasks pull through the NAT Gateway)",
    ),
    (
        "ResourceInitializationError",
        "the task could not read its secrets or set up logging before starting: see "
        "secrets, and network › routes (private tasks reach Secrets Manager and CloudWatch "
        "Logs through the NAT Gateway)",
    ),
    (
        "OutOfMemoryError",
        "the container ran out of memory: raise service.memory in hakobu.toml and run hakobu up",
    ),
    (
        HEALTH_CHECK_WORDS,
        "the load balancer's health checks failed: see service › target health; the app "
        "must answer service.health_check_path with 200 on service.port",
    ),
)


def check_service(facts: Facts) -> Finding:
    found, why = facts.service_lookup
    if found is None:
        error = why or HakobuError("the service was not found", "run hakobu up")
        return problem(error.problem, error.fix)
    desired, running = found.get("desiredCount", 0), found.get("runningCount", 0)
    line = (
        f"{found.get('serviceName', facts.names.service)} {found.get('status', '?')}: "
        f"running {running} of {desired} ({found.get('pendingCount', 0)} pending), "
        f"{last_part(found['taskDefinition'])}"
    )
    if running >= desired:
        return ok(line)
    if runs_placeholder(facts.task_definition):
        return warning(
            f"{line}: no deploy yet, so no task can start (the first revision runs the "
            f"placeholder :{BOOTSTRAP_TAG} image, which nothing pushes)",
            "run `hakobu deploy`: it builds, pushes and rolls out the app",
        )
    return warning(
        f"{line}: not every task is running",
        "see service › stopped tasks for why tasks stop; `hakobu status --watch` follows "
        "the service",
    )


def check_stopped_tasks(facts: Facts) -> Finding:
    """The guide's "タスクが起動しない": stopped reasons, exit codes, the last log lines."""
    tasks = facts.stopped_tasks
    failed = [t for t in tasks if failed_task(t) and not runs_placeholder(t)]
    if not tasks:
        return ok("no task of the service stopped recently (ECS keeps stopped tasks ~1 hour)")
    if not failed:
        placeholders = sum(1 for t in tasks if runs_placeholder(t))
        if placeholders:
            return ok(
                f"{len(tasks)} task(s) stopped recently; {placeholders} of them ran the "
                f"placeholder :{BOOTSTRAP_TAG} image before the first deploy (expected)"
            )
        return ok(f"{len(tasks)} task(s) stopped recently, by deployments or scaling; none failed")
    newest = stopped_task(failed[0])
    details = [stopped_task(t).text() for t in failed[:5]]
    details += _log_details(facts, newest)
    return problem(
        f"{len(failed)} recently stopped task(s) failed; the newest: {newest.text()}",
        stop_fix(failed[0]),
        details,
    )


def failed_task(task: Mapping[str, Any]) -> bool:
    """A task that did not start or whose app exited, not one a deployment replaced."""
    if task.get("stopCode") in FAILED_STOP_CODES:
        return True
    if any(c.get("exitCode") not in (None, 0) for c in task.get("containers", [])):
        return True
    return HEALTH_CHECK_WORDS in (task.get("stoppedReason") or "").lower()


def stop_fix(task: Mapping[str, Any]) -> str:
    """What to do about a failed task, from ECS's error names and the exit code."""
    containers = task.get("containers", [])
    said = " ".join([task.get("stoppedReason") or "", *(c.get("reason") or "" for c in containers)])
    hints = [hint for needle, hint in STOP_HINTS if needle.lower() in said.lower()]
    codes = [c["exitCode"] for c in containers if c.get("exitCode") not in (None, 0)]
    if 137 in codes:
        hints.append(
            "exit code 137: the container was killed (out of memory: raise service.memory; "
            "or it ignored SIGTERM)"
        )
    elif codes:
        hints.append(
            f"the app exited with code {codes[0]}: the log lines say why; `hakobu logs` shows more"
        )
    return "; ".join(hints) or "read the log lines and `hakobu logs`"


def _log_details(facts: Facts, task: StoppedTask) -> list[str]:
    task_id = last_part(task.task_arn)
    try:
        lines = facts.log_lines(task.task_arn)
    except (ClientError, BotoCoreError) as exc:
        return [f"its log lines could not be read: {aws_error(exc).problem}"]
    if not lines:
        return [f"task {task_id} wrote no log lines (it stopped before the app started)"]
    return [f"last log lines of task {task_id}:", *(f"  {line}" for line in lines)]


def check_targets(facts: Facts) -> Finding:
    """Target health in the load balancer, each reason code in words (TARGET_REASONS)."""
    groups = facts.target_health
    if not groups:
        raise Skip("the service has no load balancer target group")
    targets = [target_line(d) for _, found in groups for d in found]
    lines = [t.text() for t in targets]
    if not targets:
        if facts.service().get("desiredCount", 0) == 0:
            return ok("no targets: the service is scaled to zero")
        return warning(
            "no targets registered: no task of the service runs yet (ECS registers each "
            "task once it runs)",
            "see service › stopped tasks; `hakobu status --watch` shows tasks as they start",
        )
    sick = [t for t in targets if t.state in ("unhealthy", "unavailable")]
    if sick:
        first = sick[0]
        said = f" ({first.description})" if first.description else ""
        return problem(
            f"{len(sick)} of {len(targets)} target(s) unhealthy; {first.target}: "
            f"{first.reason or first.state}{said}",
            first.explanation or "check the app's logs (`hakobu logs`)",
            lines,
        )
    waiting = [t for t in targets if t.state != "healthy"]
    if waiting:
        return warning(
            f"{len(waiting)} of {len(targets)} target(s) not healthy yet ({waiting[0].state})",
            waiting[0].explanation,
            lines,
        )
    return ok(f"{len(targets)} of {len(targets)} target(s) healthy", lines)
