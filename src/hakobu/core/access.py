"""AccessDenied, said as what to grant: the action, the resource, and the policy to attach.

AWS names the action and the resource in its message; the emulator names only the action.
So each AWS client made through `Target.client` records its last call's parameters
(`watch`), and the resource is rebuilt from them when the message lacks it. Parameters are
kept in memory only, for the one message, and never printed except as the ARN.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnauthorizedAccess",
    }
)
_ACTION = re.compile(r"not authorized to perform:? (?P<action>[a-z0-9-]+:[A-Za-z0-9]+)")
_RESOURCE = re.compile(r" on resource:? (?P<resource>\S+?)(?:\s|$)")
_ACCOUNT = re.compile(r"arn:[a-z-]+:(?:iam|sts)::(?P<account>[0-9]{12}):")

# Commands whose policy is `hakobu iam policy deploy` / `provision`; the rest are operate's.
DEPLOY_COMMANDS = frozenset({"deploy", "releases", "rollback", "images"})
PROVISION_COMMANDS = frozenset({"up", "destroy", "plan", "eject", "init"})

# The last call of each operation, by name: a dict, not a context variable, because some
# commands (status) make their calls from worker threads.
_LAST_CALLS: dict[str, tuple[str, dict[str, Any]]] = {}


def watch(client: Any) -> Any:
    """Record each call's operation and parameters, so a refusal can name its resource."""
    region = str(client.meta.region_name or "")
    client.meta.events.register(
        "provide-client-params.*.*", functools.partial(_record, region=region)
    )
    return client


def _record(params: dict[str, Any], model: Any, region: str, **_: Any) -> None:
    _LAST_CALLS[model.name] = (region, dict(params))


def is_denied(response: dict[str, Any]) -> bool:
    """AWS's AccessDenied codes; or the emulator's, which answers JSON services with an XML
    body that botocore cannot parse (the code is then the HTTP status)."""
    error = response.get("Error", {})
    if error.get("Code") in DENIED_CODES:
        return True
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 403 and "<Code>AccessDenied</Code>" in str(error.get("Message", ""))


def denied_action(message: str) -> str | None:
    found = _ACTION.search(message)
    return found.group("action") if found else None


def denied_resource(message: str, action: str | None, operation: str) -> str | None:
    """The resource AWS names, else the one the refused call was about."""
    found = _RESOURCE.search(message)
    if found:
        return found.group("resource").rstrip(".")
    last = _LAST_CALLS.get(operation)
    account = _ACCOUNT.search(message)
    if last is None or action is None or account is None:
        return None
    region, params = last
    service = action.split(":")[0]
    build = _BUILDERS.get(service)
    resource = build(operation, params) if build else None
    if resource is None or resource == "*" or resource.startswith("arn:"):
        return resource
    return f"arn:aws:{service}:{region}:{account.group('account')}:{resource}"


def policy_kind(argv: Sequence[str] | None = None) -> str:
    """Which `hakobu iam policy KIND` grants what the running command needs."""
    args = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in args if not arg.startswith("-")), "")
    if command in DEPLOY_COMMANDS:
        return "deploy"
    return "provision" if command in PROVISION_COMMANDS else "operate"


# --- the resource of a refused call, per service ----------------------------------------


def _name(value: str) -> str:
    """The name at the end of an ARN (or the name itself)."""
    return value.rsplit("/", 1)[-1]


def _first(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value) if value is not None else None


def _ecs(operation: str, params: dict[str, Any]) -> str | None:
    cluster = _name(params.get("cluster", "default"))
    if operation in ("ListTaskDefinitions", "DescribeTaskDefinition"):
        return "*"  # no resource-level permission: the policy grants these on "*"
    if operation == "RegisterTaskDefinition":
        # Authorized on the family's revisions, as `hakobu iam policy` grants it.
        return f"task-definition/{params.get('family', '*')}:*"
    if operation in ("RunTask", "DeregisterTaskDefinition"):
        revision = str(params.get("taskDefinition", ""))
        return revision if revision.startswith("arn:") else f"task-definition/{revision}"
    if operation in ("DescribeServices", "UpdateService"):
        service = _first(params, "services") or _first(params, "service")
        return f"service/{cluster}/{_name(service or '*')}"
    if operation == "ListTasks":
        # AWS authorizes ListTasks on the cluster's container instances (Fargate has none
        # to name), which is what `hakobu iam policy` grants, with an ecs:cluster condition.
        return f"container-instance/{cluster}/*"
    if operation in ("DescribeTasks", "StopTask", "ExecuteCommand"):
        task = _first(params, "tasks") or _first(params, "task")
        return f"task/{cluster}/{_name(task or '*')}"
    return f"cluster/{cluster}"


def _ecr(operation: str, params: dict[str, Any]) -> str | None:
    if operation == "GetAuthorizationToken":
        return "*"
    repository = _first(params, "repositoryName") or _first(params, "repositoryNames")
    return f"repository/{repository}" if repository else None


def _logs(operation: str, params: dict[str, Any]) -> str | None:
    group = params.get("logGroupName") or params.get("logGroupIdentifier")
    if operation == "DescribeLogGroups" or not group:
        return "log-group:*"
    return str(group) if str(group).startswith("arn:") else f"log-group:{group}:*"


def _secrets(operation: str, params: dict[str, Any]) -> str | None:
    if operation in ("ListSecrets", "GetRandomPassword"):
        return "*"
    secret = params.get("SecretId") or params.get("Name")
    if not secret:
        return None
    return str(secret) if str(secret).startswith("arn:") else f"secret:{secret}-??????"


def _rds(operation: str, params: dict[str, Any]) -> str | None:
    instance = params.get("DBInstanceIdentifier")
    return f"db:{instance}" if instance else "db:*"


_BUILDERS: dict[str, Callable[[str, dict[str, Any]], str | None]] = {
    "ecs": _ecs,
    "ecr": _ecr,
    "logs": _logs,
    "secretsmanager": _secrets,
    "rds": _rds,
    "elasticloadbalancing": lambda operation, params: "*",
}
