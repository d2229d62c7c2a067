"""Where the app answers in the sandbox, for `hakobu up` and `hakobu outputs`.

The sandbox runtime serves each load balancer on 127.0.0.1 from the moment its listener
exists (`emulator.served_url`). Before the first deploy the service runs the revision `up`
registers, whose placeholder image runs no app: the URL is known, but nothing answers
there yet but the load balancer's 503. On AWS, and in a sandbox without a container
engine, there is no local URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.core.target import Target
from hakobu.provision.blueprint.service import runs_placeholder
from hakobu.sandbox import emulator

LOCAL_URL = "local_url"  # the key `outputs --json` adds


@dataclass(frozen=True)
class LocalAddress:
    url: str | None  # None: the runtime serves no load balancer for the app (yet)
    deployed: bool  # False: the service runs the placeholder revision of `hakobu up`


def local_url(env: Environment, target: Target) -> str | None:
    """The runtime's load balancer URL, where the sandbox runs tasks; else None."""
    if not (target.sandbox and target.runs_tasks):
        return None
    return emulator.served_url(env.root, Names.of(env).load_balancer)


def local_address(env: Environment, target: Target) -> LocalAddress | None:
    """Where the app answers and whether anything is deployed; None where nothing runs
    locally (AWS, or a sandbox without a container engine)."""
    if not (target.sandbox and target.runs_tasks):
        return None
    names = Names.of(env)
    ecs = target.client("ecs")
    service = ecs_ops.service_description(ecs, names.cluster, names.service)
    definition = ecs_ops.task_definition(ecs, str(service.get("taskDefinition", "")))
    return LocalAddress(local_url(env, target), deployed=not runs_placeholder(definition))


def with_local_url(env: Environment, target: Target, outputs: dict[str, Any]) -> dict[str, Any]:
    """Terraform's outputs plus `local_url` where the sandbox runs tasks (None while the
    runtime serves no load balancer); unchanged elsewhere, or when nothing is applied."""
    if not outputs or not (target.sandbox and target.runs_tasks):
        return outputs
    return {**outputs, LOCAL_URL: local_url(env, target)}
