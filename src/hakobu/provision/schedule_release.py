"""After `hakobu up`: the schedules keep running the deployed release.

Schedules run the newest revision of `{prefix}-schedules` (blueprint/schedules.py). A
Terraform apply that changes that family's definition (an environment variable, a secret,
the task size) registers a new revision with the never-pushed :bootstrap image, which is
then the newest: every scheduled run would fail to pull it until the next deploy. So once
the apply is done, such a placeholder revision gets the release web runs (its image and
the deploy's tags) and the app secrets web reads (which Terraform never holds), keeping
Terraform's new definition. Before the first deploy there is no release yet, and nothing
is registered.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws import ecs as ecs_ops
from hakobu.aws.app_secret_refs import app_secret_refs, with_app_secrets
from hakobu.aws.errors import error_code
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.names import Names
from hakobu.provision.blueprint.service import runs_placeholder

MISSING = ("ClientException", "ServiceNotFoundException", "ResourceNotFoundException")


def reinstate_release(ecs: Any, env: Environment) -> str | None:
    """The schedules' new revision running web's release, or None when none was needed:
    no schedules, the newest revision already runs a release, or nothing is deployed."""
    if not env.settings.schedules:
        return None
    names = Names.of(env)
    newest = _described(ecs, names.schedule_family)
    if newest is None or not runs_placeholder(newest):
        return None
    try:
        service = ecs_ops.service_description(ecs, names.cluster, names.service)
    except HakobuError:  # no service (deleted by hand): no release to follow
        return None
    web, tags = ecs_ops.tagged_task_definition(ecs, service["taskDefinition"])
    if runs_placeholder(web):
        return None
    containers = web["containerDefinitions"]
    image = next((c["image"] for c in containers if c["name"] == names.container), None)
    if image is None:
        return None
    refs = app_secret_refs(web, names.container, names.prefix)
    newest = with_app_secrets(newest, names.container, names.prefix, refs)
    request = ecs_ops.revision_request(newest, names.container, image, tags)
    return ecs_ops.register_revision(ecs, request)


def _described(ecs: Any, family: str) -> dict[str, Any] | None:
    try:
        return ecs_ops.task_definition(ecs, family)
    except ClientError as exc:
        if error_code(exc) in MISSING:
            return None
        raise
