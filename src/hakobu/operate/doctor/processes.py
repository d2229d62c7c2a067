"""Checks of the processes beside web and of the schedules: each worker's service (its
tasks, its rollout, why its tasks stopped) and the role EventBridge Scheduler runs the
scheduled task with (trusted by Scheduler, allowed to run exactly the schedules' family,
used by every schedule). None of them without [processes.NAME] or [[schedules]]."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.arn import last_part
from hakobu.aws.iam import role, role_policy
from hakobu.aws.scheduler import schedule
from hakobu.core.config import Environment
from hakobu.core.config.processes import workers
from hakobu.core.errors import HakobuError
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, ok, problem, warning
from hakobu.operate.doctor.service import failed_task, stop_fix
from hakobu.provision.blueprint.service import BOOTSTRAP_TAG, runs_placeholder
from hakobu.ship.rollout import stopped_task

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
SCHEDULER_POLICY = "run-scheduled-tasks"  # the role's inline policy (blueprint/schedules.py)
FIX_UP = "run `hakobu up`: it creates and corrects what hakobu.toml describes"


def process_checks(env: Environment) -> list[tuple[str, Callable[[Facts], Finding]]]:
    """(name, check) per worker, and the scheduler's role when there are schedules."""
    checks: list[tuple[str, Callable[[Facts], Finding]]] = [
        (f"process {name}", functools.partial(check_process, process=name)) for name in workers(env)
    ]
    if env.settings.schedules:
        checks.append(("scheduler role", check_scheduler_role))
    return checks


def check_process(facts: Facts, process: str) -> Finding:
    names, ecs = facts.names, facts.client("ecs")
    service_name = names.process(process)
    try:
        found = ecs_ops.service_description(ecs, names.cluster, service_name)
    except HakobuError as missing:
        return problem(missing.problem, FIX_UP)
    desired, running = found.get("desiredCount", 0), found.get("runningCount", 0)
    revision = last_part(found.get("taskDefinition", "?"))
    line = f"{service_name}: running {running} of {desired}, {revision}"
    primary = next((d for d in found.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    if primary.get("rolloutState") == "FAILED":
        return problem(
            f"{line}: its last rollout failed ({primary.get('rolloutStateReason', '?')})",
            "ECS rolled it back to the previous revision; `hakobu logs --process "
            f"{process}` shows why its tasks stopped, then `hakobu deploy` again",
        )
    failed = [
        t
        for t in ecs_ops.stopped_tasks(ecs, names.cluster, service_name)
        if failed_task(t) and not runs_placeholder(t)
    ]
    if running >= desired and not failed:
        return ok(line)
    if failed:
        newest = stopped_task(failed[0])
        return problem(
            f"{line}; {len(failed)} of its tasks failed recently, the newest: {newest.text()}",
            f"{stop_fix(failed[0])}; `hakobu logs --process {process}` shows its output",
        )
    definition = ecs_ops.task_definition(ecs, found["taskDefinition"])
    if runs_placeholder(definition):
        return warning(
            f"{line}: no deploy yet (its first revision runs the placeholder :{BOOTSTRAP_TAG})",
            "run `hakobu deploy`: it moves web and every worker to the new image",
        )
    return warning(f"{line}: not every task is running yet", "`hakobu status` follows it")


def check_scheduler_role(facts: Facts) -> Finding:
    names, iam = facts.names, facts.client("iam")
    found = role(iam, names.scheduler_role)
    if found is None:
        return problem(f"the role {names.scheduler_role} does not exist", FIX_UP)
    trusted = _principals(found.get("AssumeRolePolicyDocument") or {})
    if SCHEDULER_PRINCIPAL not in trusted:
        return problem(
            f"{names.scheduler_role} does not trust {SCHEDULER_PRINCIPAL} (it trusts "
            f"{', '.join(sorted(trusted)) or 'nobody'}): no schedule can run its task",
            FIX_UP,
        )
    document = role_policy(iam, names.scheduler_role, SCHEDULER_POLICY)
    family = f":task-definition/{names.schedule_family}"
    if document is None or not _allows_run_task(document, family):
        return problem(
            f"{names.scheduler_role} may not run tasks of {names.schedule_family} "
            f"(its policy {SCHEDULER_POLICY} is missing or changed)",
            FIX_UP,
        )
    wrong = _schedules_not_using(facts, found["Arn"])
    if wrong:
        return problem(f"schedule(s) not set up as hakobu.toml says: {'; '.join(wrong)}", FIX_UP)
    count = len(facts.env.settings.schedules)
    return ok(
        f"{names.scheduler_role}: trusted by Scheduler, runs {names.schedule_family}; "
        f"{count} schedule(s) use it"
    )


def _principals(trust: dict[str, Any]) -> set[str]:
    services: set[str] = set()
    for statement in _statements(trust):
        if statement.get("Effect") != "Allow":
            continue
        given = (statement.get("Principal") or {}).get("Service", [])
        services |= {given} if isinstance(given, str) else set(given)
    return services


def _allows_run_task(document: dict[str, Any], family: str) -> bool:
    for statement in _statements(document):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        runs = statement.get("Effect") == "Allow" and "ecs:RunTask" in actions
        if runs and any(r.endswith((family, f"{family}:*")) for r in resources):
            return True
    return False


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _schedules_not_using(facts: Facts, role_arn: str) -> list[str]:
    names, scheduler = facts.names, facts.client("scheduler")
    wrong = []
    for settings in facts.env.settings.schedules:
        found = schedule(scheduler, names.schedule(settings.name))
        if found is None:
            wrong.append(f"{names.schedule(settings.name)} does not exist")
            continue
        target = found.get("Target", {})
        if target.get("RoleArn") != role_arn:
            wrong.append(f"{settings.name} runs as {target.get('RoleArn')}, not {role_arn}")
        elif found.get("ScheduleExpression") != settings.expression:
            wrong.append(
                f"{settings.name} runs at {found.get('ScheduleExpression')}, hakobu.toml says "
                f"{settings.expression}"
            )
    return wrong
