"""What a process's next revision is built on: Terraform's newest configuration of its family.

The services ignore `task_definition` (blueprint/service.py: a later apply must not undo a
deploy), so when `hakobu up` changes a container definition (an environment variable, a
secret reference, the task size, the command), Terraform registers a new revision that runs
the :bootstrap placeholder and the service keeps the one it runs. Every revision hakobu
registers afterwards (a deploy, a `hakobu secrets` change, `up`'s own rollout) is therefore
built on the newest placeholder revision newer than the running one, when there is one, so
the change reaches the app; otherwise on the running revision, as before.

Built on Terraform's revision, the running revision still gives two things Terraform does
not hold: its image (the caller replaces it for a new release) and the app secrets
`hakobu secrets set` added to it (they live in revisions only, never in Terraform).
"""

from __future__ import annotations

import copy
from typing import Any

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.app_secret_refs import app_secret_refs, with_app_secrets
from hakobu.core.placeholder import runs_placeholder


def base_definition(
    ecs: Any, running: dict[str, Any], container: str, prefix: str
) -> dict[str, Any]:
    """The described revision to build on: `running`, or Terraform's newer one carrying
    `running`'s image and app secrets (`prefix`: the environment's, naming its app secrets)."""
    newer = newer_configuration(ecs, running["family"], int(running["revision"]))
    if newer is None:
        return running
    return carried_over(newer, running, container, prefix)


def newer_configuration(ecs: Any, family: str, revision: int) -> dict[str, Any] | None:
    """The newest ACTIVE revision of `family` after `revision` that runs the placeholder.

    Not simply the newest: a deploy whose rollout ECS rolled back leaves its own revision
    (a release, built on Terraform's) newest, and Terraform's is still the config to use.
    """
    for number in ecs_ops.revisions_after(ecs, family, revision):
        described = ecs_ops.task_definition(ecs, f"{family}:{number}")
        if runs_placeholder(described):
            return described
    return None


def carried_over(
    configuration: dict[str, Any], running: dict[str, Any], container: str, prefix: str
) -> dict[str, Any]:
    """`configuration` (Terraform's revision) with `container` running `running`'s image and
    also reading the app secrets `running` injects that it does not name itself."""
    built = copy.deepcopy(configuration)
    source = _container(running, container)
    for definition in built.get("containerDefinitions", []):
        if definition.get("name") == container:
            definition["image"] = source.get("image", definition.get("image"))
    return with_app_secrets(built, container, prefix, app_secret_refs(running, container, prefix))


def _container(definition: dict[str, Any], container: str) -> dict[str, Any]:
    containers = definition.get("containerDefinitions", [])
    return next((c for c in containers if c.get("name") == container), {})
