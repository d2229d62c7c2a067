"""The app secrets a task-definition revision injects, and a revision made to inject others.

`hakobu secrets set` records an app secret only as a reference in the container's `secrets`
(`valueFrom` naming `<prefix>-app-NAME`), never in Terraform. web's revision is the record:
every other process's revision, and the schedules', is given web's references whenever
hakobu registers one (a deploy, a rollback, a secrets change, `up`'s rollout), so a worker,
a scheduled task and web always read the same app secrets (docs/design.md, "Processes").
"""

from __future__ import annotations

import copy
from typing import Any

from hakobu.aws.secrets import app_secret_prefix

SecretRefs = list[dict[str, str]]


def is_app_secret(value_from: str, prefix: str) -> bool:
    """Whether a `valueFrom` names one of this environment's app secrets."""
    return f":secret:{app_secret_prefix(prefix)}" in value_from


def app_secret_refs(definition: dict[str, Any], container: str, prefix: str) -> SecretRefs:
    """The app-secret entries of `container`'s `secrets`, in their order."""
    return [
        dict(s)
        for s in _container(definition, container).get("secrets", [])
        if is_app_secret(s["valueFrom"], prefix)
    ]


def with_app_secrets(
    definition: dict[str, Any], container: str, prefix: str, refs: SecretRefs
) -> dict[str, Any]:
    """A copy of `definition` whose `container` injects exactly the app secrets `refs`
    after its own other secrets. A name the container already takes from elsewhere (a
    managed secret, a plain variable) keeps its own source: ECS refuses a name twice."""
    built = copy.deepcopy(definition)
    for found in built.get("containerDefinitions", []):
        if found.get("name") != container:
            continue
        own = [
            dict(s) for s in found.get("secrets", []) if not is_app_secret(s["valueFrom"], prefix)
        ]
        taken = {s["name"] for s in own} | {e["name"] for e in found.get("environment", [])}
        added = [dict(r) for r in refs if r["name"] not in taken]
        if own or added or "secrets" in found:
            found["secrets"] = own + added
    return built


def _container(definition: dict[str, Any], container: str) -> dict[str, Any]:
    containers = definition.get("containerDefinitions", [])
    return next((c for c in containers if c.get("name") == container), {})
