"""What `hakobu plan` says `up` will roll out once it has applied the plan.

`up` ends with the configuration rollout of operate/config_rollout.py: each process whose
service runs a release (or a new worker, once web runs one) moves onto Terraform's newer
revision of its family. Before the apply those revisions do not exist yet, so the plan's
task definitions are shown to that same rule, `pending_changes`, as if registered: a
read-only view of ECS (`_AfterApply`) lists for each family the plan registers anew one
more revision, described from the plan, and describes each service the plan creates as
running its new revision. Nothing is registered or moved: the view refuses every call
that is not a read. What changes in each task definition (the "why") is read from the
plan's before and after; only names are shown, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.core.placeholder import BOOTSTRAP_TAG
from hakobu.core.target import Target
from hakobu.operate.config_rollout import pending_changes
from hakobu.operate.pausing.record import pause_in_effect
from hakobu.provision.terraform import PlanSummary
from hakobu.ship import processes

TASK_DEFINITION = "aws_ecs_task_definition"
SERVICE = "aws_ecs_service"
ALREADY_NEWER = "Terraform's newer task definition, not running yet"
NEW_WORKER = "new: it starts on the release web runs"
# The task definition's arguments a reader recognises, by the name the line gives them.
_ATTRIBUTES = {
    "execution_role_arn": "execution role",
    "task_role_arn": "task role",
    "runtime_platform": "platform",
    "ephemeral_storage": "ephemeral storage",
    "volume": "volumes",
    "network_mode": "network mode",
}
_CONTAINER_DEFAULTS: dict[str, Any] = {"essential": True}  # what AWS fills in unasked


@dataclass(frozen=True)
class RolloutPreview:
    """What `up` does after applying the plan: the processes it rolls out (web first), each
    with why, or why nothing follows."""

    rolled_out: tuple[tuple[str, str], ...] = ()
    paused: bool = False
    applies_nothing: bool = False
    not_deployed: tuple[str, ...] = ()  # processes whose task definition changes, no release
    unknown: str | None = None  # the ECS read that failed: then nothing can be told


def rollout_after_plan(
    env: Environment, target: Target, plan: dict[str, Any] | None, empty: bool
) -> RolloutPreview:
    """`plan`: `terraform show -json` of the saved plan (None: it changes nothing in ECS);
    `empty`: the plan applies nothing, and `up` rolls out only after an apply."""
    if empty:
        return RolloutPreview(applies_nothing=True)
    planned = _planned(plan or {})
    families = {p.service: p.family for p in processes.processes_of(env)}
    view = _AfterApply(target.client("ecs"), planned, families, Names.of(env).container)
    try:
        pending = pending_changes(view, env)
    except (ClientError, BotoCoreError, HakobuError) as exc:
        return RolloutPreview(unknown=str(exc))
    why = {p.process: _reason(env, p.process, planned) for p in pending}
    changed = tuple(p.name for p in processes.processes_of(env) if p.family in planned.definitions)
    rolled = tuple(why.items())
    if rolled and pause_in_effect(env, target.sandbox) is not None:
        return RolloutPreview(rolled_out=rolled, paused=True)
    return RolloutPreview(rolled_out=rolled, not_deployed=tuple(c for c in changed if c not in why))


def touches_ecs(summary: PlanSummary) -> bool:
    """Whether the plan changes a task definition or a service (else its JSON is not needed)."""
    return any(c.resource_type in (TASK_DEFINITION, SERVICE) for c in summary.changes)


def preview_line(preview: RolloutPreview, deploy: str) -> str:
    """The line `hakobu plan` ends with; `deploy`: the command that ships a release."""
    if preview.unknown is not None:
        return f"Could not tell whether `hakobu up` rolls out a service: {preview.unknown}"
    if preview.applies_nothing:
        return "No rollout follows: the plan applies nothing."
    listed = _and([f"{name} ({why})" for name, why in preview.rolled_out] or [""])
    several = len(preview.rolled_out) > 1
    if preview.paused:
        return (
            f"No rollout follows while paused: {listed} {'get' if several else 'gets'} the "
            f"new task definition with the next `{deploy}`."
        )
    if preview.rolled_out:
        return (
            f"After the apply, `hakobu up` rolls out {listed} on the new task definition, "
            f"{'each ' if several else ''}with the release it runs."
        )
    if preview.not_deployed:
        return (
            f"No rollout follows: no release runs {_and(list(preview.not_deployed))} yet; "
            f"the first `{deploy}` ships the new task definition."
        )
    return "No rollout follows: no running service's task definition changes."


def _and(items: list[str]) -> str:
    return items[0] if len(items) < 2 else f"{', '.join(items[:-1])} and {items[-1]}"


# --- the plan, read ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    definitions: dict[str, dict[str, Any]]  # family -> the plan's change of its definition
    services: dict[str, dict[str, Any]]  # service name -> the plan's create of it


def _planned(plan: dict[str, Any]) -> _Planned:
    """The task definitions the plan registers anew (created or replaced: every change but
    tags is a new revision), and the services it creates."""
    definitions, services = {}, {}
    for resource in plan.get("resource_changes", []):
        change = resource.get("change", {})
        actions, after = change.get("actions", []), change.get("after") or {}
        if "create" not in actions:
            continue
        if resource.get("type") == TASK_DEFINITION and after.get("family"):
            definitions[str(after["family"])] = change
        elif resource.get("type") == SERVICE and "delete" not in actions and after.get("name"):
            services[str(after["name"])] = change
    return _Planned(definitions, services)


def _reason(env: Environment, process: str, planned: _Planned) -> str:
    found = next(p for p in processes.processes_of(env) if p.name == process)
    if found.service in planned.services:
        return NEW_WORKER
    change = planned.definitions.get(found.family)
    if change is None:
        return ALREADY_NEWER
    return ", ".join(_changed(change, Names.of(env).container)) or "its task definition"


def _changed(change: dict[str, Any], container: str) -> list[str]:
    """What the plan changes in one task definition, by name only (never a value)."""
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    found, sized = [], set()
    for key, unit in (("cpu", " CPU units"), ("memory", " MiB")):
        if str(before.get(key)) != str(after.get(key)):
            found.append(f"{key} {before.get(key)} → {after.get(key)}{unit}")
            sized.add(key)  # the container's own, set to the task's, says nothing more
    if _unknown(unknown.get("container_definitions")):
        found.append("container definition (known after apply)")
    else:
        found += _container_changes(
            _container(before.get("container_definitions"), container),
            _container(after.get("container_definitions"), container),
            sized,
        )
    found += [
        label
        for key, label in _ATTRIBUTES.items()
        if _unknown(unknown.get(key)) or _value(before.get(key)) != _value(after.get(key))
    ]
    return found


def _unknown(flags: Any) -> bool:
    """after_unknown mirrors a block's shape (`[{}]`: nothing unknown): any True in it."""
    if isinstance(flags, dict):
        return any(_unknown(v) for v in flags.values())
    if isinstance(flags, list):
        return any(_unknown(v) for v in flags)
    return flags is True


def _container(definitions: Any, name: str) -> dict[str, Any]:
    try:
        listed = json.loads(definitions) if isinstance(definitions, str) else []
    except ValueError:
        return {}
    found = [c for c in listed if isinstance(c, dict)]
    return next((c for c in found if c.get("name") == name), found[0] if found else {})


def _container_changes(before: dict[str, Any], after: dict[str, Any], said: set[str]) -> list[str]:
    found = []
    for key in ("environment", "secrets"):
        names = _named_changes(before.get(key), after.get(key))
        if names:
            found.append(f"{key}: {', '.join(names)}")
    shown = {"environment", "secrets", "image", "name", *said}
    for key in sorted((set(before) | set(after)) - shown):
        if key not in after and _value(before[key]) == _value(_CONTAINER_DEFAULTS.get(key)):
            continue  # AWS's default, read back into the state
        if _value(before.get(key)) != _value(after.get(key)):
            found.append(key)
    return found


def _named_changes(before: Any, after: Any) -> list[str]:
    """The names added, removed or given another value in a list of name/value pairs."""

    def pairs(listed: Any) -> dict[str, str]:
        return {
            str(item.get("name")): json.dumps(item, sort_keys=True)
            for item in listed or []
            if isinstance(item, dict)
        }

    old, new = pairs(before), pairs(after)
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def _value(value: Any) -> Any:
    """Empty is empty, whether absent, null, [] or {} (the state spells AWS's omissions)."""
    return None if value in (None, [], {}, "") else json.dumps(value, sort_keys=True)


# --- ECS after the apply, read only ------------------------------------------------------


class _AfterApply:
    """The ECS client as `pending_changes` will find ECS once the plan is applied."""

    def __init__(
        self, ecs: Any, planned: _Planned, families: dict[str, str], container: str
    ) -> None:
        self._ecs, self._planned, self._container = ecs, planned, container
        self._families = families  # service -> its task-definition family
        self._numbers: dict[str, int] = {}  # family -> the revision the apply registers

    def __getattr__(self, name: str) -> Any:
        if not name.startswith(("describe_", "list_", "get_")):
            raise AttributeError(f"the rollout preview only reads ECS, not {name}")
        return getattr(self._ecs, name)

    def get_paginator(self, name: str) -> Any:
        real = self._ecs.get_paginator(name)
        return _Listing(self, real) if name == "list_task_definitions" else real

    def describe_task_definition(self, taskDefinition: str, **kwargs: Any) -> dict[str, Any]:
        family, _, number = taskDefinition.rsplit("/", 1)[-1].partition(":")
        if family in self._planned.definitions and number == str(self.number(family)):
            return {"taskDefinition": self._definition(family), "tags": []}
        return dict(self._ecs.describe_task_definition(taskDefinition=taskDefinition, **kwargs))

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        created = [self._service(s) for s in services if s in self._planned.services]
        try:
            found = dict(self._ecs.describe_services(cluster=cluster, services=services))
        except ClientError as exc:
            if not created or exc.response["Error"]["Code"] != "ClusterNotFoundException":
                raise
            found = {"services": []}  # the plan creates the cluster too
        return {**found, "services": [*found.get("services", []), *created]}

    def registers(self, family: str) -> bool:
        return family in self._planned.definitions

    def number(self, family: str) -> int:
        """The revision the apply registers for a planned family: one above its newest."""
        if family not in self._numbers:
            listed = []
            paginator = self._ecs.get_paginator("list_task_definitions")
            for page in paginator.paginate(familyPrefix=family, sort="DESC"):
                listed += [arn.rsplit("/", 1)[-1] for arn in page["taskDefinitionArns"]]
            numbers = [int(n) for f, _, n in (a.rpartition(":") for a in listed) if f == family]
            self._numbers[family] = max(numbers, default=0) + 1
        return self._numbers[family]

    def _definition(self, family: str) -> dict[str, Any]:
        after = self._planned.definitions[family].get("after") or {}
        number = self.number(family)
        return {
            "family": family,
            "revision": number,
            "taskDefinitionArn": _arn(family, number),
            "cpu": str(after.get("cpu")),
            "memory": str(after.get("memory")),
            "containerDefinitions": _containers(after, self._container),
        }

    def _service(self, name: str) -> dict[str, Any]:
        family = self._families.get(name, name)
        if family in self._planned.definitions:
            revision = _arn(family, self.number(family))
        else:
            revision = str((self._planned.services[name].get("after") or {}).get("task_definition"))
        return {"serviceName": name, "status": "ACTIVE", "taskDefinition": revision}


def _arn(family: str, number: int) -> str:
    return f"arn:aws:ecs:::task-definition/{family}:{number}"  # what the apply will register


def _containers(after: dict[str, Any], container: str) -> list[dict[str, Any]]:
    """The plan's containers; when unknown until the apply, the app's, running the
    placeholder (what every revision Terraform registers runs)."""
    try:
        listed = json.loads(after.get("container_definitions") or "null")
    except (TypeError, ValueError):
        listed = None
    if isinstance(listed, list) and listed:
        return [c for c in listed if isinstance(c, dict)]
    return [{"name": container, "image": f"unknown:{BOOTSTRAP_TAG}"}]


class _Listing:
    """list_task_definitions' paginator with the revision the apply registers on top."""

    def __init__(self, view: _AfterApply, real: Any) -> None:
        self._view, self._real = view, real

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        family = str(kwargs.get("familyPrefix", ""))
        if self._view.registers(family):
            yield {"taskDefinitionArns": [_arn(family, self._view.number(family))]}
        yield from self._real.paginate(**kwargs)
