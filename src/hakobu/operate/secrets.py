"""`hakobu secrets`: the app's own secrets, injected into its container, and DB rotation.

Each app secret is its own Secrets Manager secret, `<prefix>-app-<NAME>`, injected as the
environment variable NAME through the container's `secrets` (ECS reads it at task start).
One secret per variable rather than one JSON secret with keys: IAM can grant (and
CloudTrail shows) each secret on its own, a rotation or a `set` touches only that secret,
and setting one value never reads or rewrites the others (two people setting different
secrets at once cannot lose each other's write).

A change registers a new task-definition revision: the running one with only the
container's `secrets` changed (image, sizes, roles and the rest kept), tagged with what
changed, then rolled out like a deploy. When `hakobu up` changed the container definition
since, it is built on Terraform's newer revision instead, as a deploy's is
(ship/config_base.py), so the change is not buried under a newer revision without it.
web's revision is the record of the app secrets; each worker gets a revision of its own
release reading the same ones, every service is rolled out together, and once they all
completed the schedules' family gets them too (ship/processes.py).
Values are read from stdin or a hidden prompt by the CLI, go straight to Secrets Manager
and are never printed (docs/design.md, "Secrets").
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from hakobu.aws import ecs as ecs_ops
from hakobu.aws import rds as rds_ops
from hakobu.aws import secrets as secrets_ops
from hakobu.aws.arn import last_part
from hakobu.aws.errors import error_code
from hakobu.aws.polling import Waiter, poll_until
from hakobu.core.config import Environment
from hakobu.core.config.processes import WEB
from hakobu.core.errors import HakobuError, InvalidArgument
from hakobu.core.managed_secrets import ManagedSecret, managed_secrets
from hakobu.core.names import Names
from hakobu.ship import processes
from hakobu.ship.config_base import base_definition
from hakobu.ship.deploy import (
    TAG_AT,
    TAG_BY,
    DeployEvents,
    DeployResult,
    RolloutFollower,
    deployer_identity,
)

MASK = "••••"
# A POSIX-portable environment variable name.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME_LENGTH = 128
# Set by ECS and the AWS SDKs inside the task (AWS_REGION, AWS_CONTAINER_CREDENTIALS_...,
# ECS_CONTAINER_METADATA_URI...): a secret of that name would break them.
RESERVED_PREFIXES = ("AWS_", "ECS_")
MAX_VALUE_BYTES = 65536  # Secrets Manager's limit for a secret value
TAG_CHANGE = "hakobu:change"  # on a revision: what `hakobu secrets` changed
TAG_APP_SECRET = "hakobu:app-secret"  # on an app secret: the variable it is injected as
DB_WAIT_SECONDS = 900
DB_POLL_SECONDS = 10
# A change to the container's `secrets` list (set, unset, or none for a redeploy).
SecretsEdit = Callable[[list[dict[str, str]]], list[dict[str, str]]]
# process ("web", "worker", ...) -> the revision a secrets change registered for it.
Revisions = dict[str, str]


# --- names and values -------------------------------------------------------------------


def validate_name(name: str) -> str:
    """NAME as an environment variable name; `InvalidArgument` (exit 2) before any call.

    A refused name is not repeated: it may be a value typed where the name goes.
    """
    if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            "NAME must be an environment variable name (the value is never taken from the "
            "command line, where `ps` and shell history show it: pipe it in or type it at "
            "the prompt)",
            f"use letters, digits and underscores, not starting with a digit, at most "
            f"{MAX_NAME_LENGTH} characters: for example STRIPE_API_KEY",
        )
    reserved = next((p for p in RESERVED_PREFIXES if name.upper().startswith(p)), None)
    if reserved:
        raise InvalidArgument(
            f"{name} starts with {reserved}, which ECS and the AWS SDKs use inside the task",
            "choose another name, for example APP_" + name,
        )
    return name


def value_from_input(text: str) -> str:
    """The value as piped in: one trailing newline (from `echo` or a file) is dropped."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def validate_value(name: str, value: str) -> str:
    if not value:
        raise InvalidArgument(
            f"the value of {name} is empty; nothing was changed",
            f'pipe it in (`printf %s "$VALUE" | hakobu secrets set {name}`) or type it at '
            f"the prompt; `hakobu secrets unset {name}` removes a secret",
        )
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise InvalidArgument(
            f"the value of {name} is larger than Secrets Manager's {MAX_VALUE_BYTES} bytes",
            "store a large file elsewhere (S3) and put its location in the secret",
        )
    return value


# --- revisions as data ------------------------------------------------------------------


def secrets_with(secrets: list[dict[str, str]], name: str, arn: str) -> list[dict[str, str]]:
    """The container's `secrets` with `name` read from `arn` (replaced in place, or added)."""
    entry = {"name": name, "valueFrom": arn}
    if any(s["name"] == name for s in secrets):
        return [entry if s["name"] == name else dict(s) for s in secrets]
    return [*(dict(s) for s in secrets), entry]


def secrets_without(secrets: list[dict[str, str]], name: str) -> list[dict[str, str]]:
    return [dict(s) for s in secrets if s["name"] != name]


def revision_tags(previous: dict[str, str], change: str, by: str, at: str) -> dict[str, str]:
    """The running revision's tags (image, commit: `hakobu releases` still shows them), with
    who registered this one, when, and what changed."""
    return {**previous, TAG_BY: by, TAG_AT: at, TAG_CHANGE: change}


def secrets_revision_request(
    task_definition: dict[str, Any],
    container: str,
    secrets: list[dict[str, str]],
    tags: dict[str, str],
) -> dict[str, Any]:
    """`register_task_definition` kwargs: the current revision with only `container`'s
    `secrets` replaced (its image is kept, so no deploy is undone)."""
    image = _container(task_definition, container).get("image", "")
    request = ecs_ops.revision_request(task_definition, container, image, tags)
    for definition in request["containerDefinitions"]:
        if definition.get("name") == container:
            definition["secrets"] = copy.deepcopy(secrets)
    return request


def master_password_request(db_instance: str, password: str) -> dict[str, Any]:
    """`rds.modify_db_instance` kwargs: the new master password, applied now (not in the
    next maintenance window, which could be days after the secret changed)."""
    return {
        "DBInstanceIdentifier": db_instance,
        "MasterUserPassword": password,
        "ApplyImmediately": True,
    }


def _container(task_definition: dict[str, Any], container: str) -> dict[str, Any]:
    for definition in task_definition.get("containerDefinitions", []):
        if definition.get("name") == container:
            return dict(definition)
    # revision_request raises the readable error for a missing container.
    ecs_ops.revision_request(task_definition, container, "", {})
    return {}


# --- what runs now ----------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """The service's running revision, as the base of a secrets change."""

    task_definition: dict[str, Any]
    tags: dict[str, str]
    container: dict[str, Any]

    @property
    def secrets(self) -> list[dict[str, str]]:
        return list(self.container.get("secrets", []))

    def reference(self, name: str) -> str | None:
        return next((s["valueFrom"] for s in self.secrets if s["name"] == name), None)

    @property
    def environment_names(self) -> set[str]:
        return {e["name"] for e in self.container.get("environment", [])}


@dataclass(frozen=True)
class SecretEntry:
    variable: str
    secret: str
    kind: Literal["managed", "app"]
    last_changed: datetime | None
    injected: bool  # referenced by the revision the service runs
    exists: bool  # present in Secrets Manager (and not scheduled for deletion)
    what: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.variable,
            "secret": self.secret,
            "kind": self.kind,
            "last_changed": self.last_changed.isoformat() if self.last_changed else None,
            "injected": self.injected,
            "exists": self.exists,
        }


# --- the executor -----------------------------------------------------------------------


@dataclass
class AppSecrets:
    """Secrets changes for one environment; a change rolls out as a deploy's does, through
    `follower` (which also prints each step)."""

    follower: RolloutFollower
    sleep: Callable[[float], None] = time.sleep  # between RDS polls; tests pass a no-op
    clock: Callable[[], float] = time.monotonic

    @property
    def env(self) -> Environment:
        return self.follower.env

    @property
    def names(self) -> Names:
        return self.follower.names

    @property
    def events(self) -> DeployEvents:
        return self.follower.events

    def _client(self, service: str) -> Any:
        return self.follower.target.client(service)

    def secret_name(self, variable: str) -> str:
        return secrets_ops.app_secret_name(self.names.prefix, variable)

    def current(self) -> Current:
        ecs = self._client("ecs")
        service = ecs_ops.service_description(ecs, self.names.cluster, self.names.service)
        # Every change rolls the workers out too: they must exist before anything is stored.
        processes.check_worker_services(ecs, self.env)
        definition, tags = ecs_ops.tagged_task_definition(ecs, service["taskDefinition"])
        return Current(definition, tags, _container(definition, self.names.container))

    def check_settable(self, variable: str, current: Current) -> None:
        """Refuse names hakobu or the task already uses, before the value is asked for."""
        managed = {m.variable: m for m in managed_secrets(self.env)}
        if variable in managed:
            raise InvalidArgument(
                f"{variable} is managed by hakobu (the {managed[variable].what}, secret "
                f"{managed[variable].secret})",
                "`hakobu secrets rotate-db` rotates the DB password; the master key comes "
                "from config/master.key at `hakobu up`",
            )
        if variable in current.environment_names:
            raise InvalidArgument(
                f"{variable} is already a plain environment variable of the task",
                "choose another name: ECS would have to pick between the two values",
            )
        reference = current.reference(variable)
        if reference and not self._is_app_reference(reference):
            raise InvalidArgument(
                f"{variable} is already injected from {reference}, which hakobu did not set",
                "choose another name, or remove that reference first",
            )

    def _is_app_reference(self, value_from: str) -> bool:
        return f":secret:{secrets_ops.app_secret_prefix(self.names.prefix)}" in value_from

    # --- set / unset ---------------------------------------------------------------------

    def set(self, variable: str, value: str, current: Current) -> Revisions | None:
        """Write the value, then register a revision of each process that reads it; their
        ARNs, or None when the value and the reference were already as asked."""
        variable = validate_name(variable)
        value = validate_value(variable, value)
        self.check_settable(variable, current)
        secret = self.secret_name(variable)
        arn, changed = secrets_ops.put_value(
            self._client("secretsmanager"),
            secret,
            value,
            f"{variable} for {self.names.service}, set with `hakobu secrets set`",
            {TAG_APP_SECRET: variable},
        )
        self.events.step(
            "Stored" if changed else "Unchanged", f"{variable} in Secrets Manager ({secret})"
        )
        if not changed and current.reference(variable) == arn:
            return None
        return self._register(
            current, lambda secrets: secrets_with(secrets, variable, arn), f"secrets set {variable}"
        )

    def remove_reference(self, variable: str, current: Current) -> Revisions | None:
        """Register a revision of each process without `variable`; their ARNs, or None if
        web's revision did not reference it."""
        variable = validate_name(variable)
        reference = current.reference(variable)
        if reference is not None and not self._is_app_reference(reference):
            raise InvalidArgument(
                f"{variable} is not an app secret (it is injected from {reference})",
                "`hakobu secrets list` shows the app secrets",
            )
        exists = secrets_ops.describe(self._client("secretsmanager"), self.secret_name(variable))
        if reference is None and (exists is None or secrets_ops.scheduled_for_deletion(exists)):
            raise HakobuError(
                f"there is no app secret {variable} in {self.env.name}",
                "`hakobu secrets list` shows the app secrets",
            )
        if reference is None:
            return None
        return self._register(
            current, lambda secrets: secrets_without(secrets, variable), f"secrets unset {variable}"
        )

    def schedule_deletion(self, variable: str) -> datetime | None:
        """Schedule the secret's deletion (30-day recovery window); the date it goes."""
        secret = self.secret_name(variable)
        when = secrets_ops.schedule_deletion(self._client("secretsmanager"), secret)
        return when if isinstance(when, datetime) else None

    def roll_out(self, arns: Revisions) -> DeployResult:
        """Point every service at its revision and follow the rollouts as a deploy does (the
        circuit breaker rolls a failing one back; the DeployError names it); in the sandbox,
        say they cannot be followed. Then the schedules read what web's revision reads."""
        ecs = self._client("ecs")
        result = self.follower.move(ecs, arns, "Rolling out")
        done = result.rollout is None or result.rollout.succeeded
        if done and self.env.settings.schedules:
            self._resecret_schedules(ecs, arns[WEB])
        return result

    def redeploy(self, current: Current, change: str) -> Revisions:
        """A revision of each process like the running one (new tasks read the secrets
        afresh)."""
        return self._register(current, lambda secrets: secrets, change)

    def _register(self, current: Current, edit: SecretsEdit, change: str) -> Revisions:
        """web's revision with `edit` applied to the container's secrets, built on what a
        deploy builds on (ship/config_base.py): Terraform's newer definition, if `hakobu up`
        changed it since the running revision, with the running image and app secrets; else
        the running revision. Then each worker's, reading the app secrets web's reads."""
        ecs = self._client("ecs")
        container = self.names.container
        base = base_definition(ecs, current.task_definition, container, self.names.prefix)
        tags = revision_tags(
            current.tags,
            change,
            deployer_identity(self.follower.target),  # who: as a deploy records it
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        secrets = edit(list(_container(base, container).get("secrets", [])))
        request = secrets_revision_request(base, container, secrets, tags)
        arn = ecs_ops.register_revision(ecs, request)
        self.events.step("Registered", f"task definition {_revision(arn)} ({change})")
        refs = processes.web_secret_refs(self.env, request)
        workers = processes.register_workers(ecs, self.env, None, tags, refs)
        for name, worker in workers.items():
            self.events.step("Registered", f"task definition {_revision(worker)} ({name})")
        return {WEB: arn} | workers

    def _resecret_schedules(self, ecs: Any, web_arn: str) -> None:
        web, tags = ecs_ops.tagged_task_definition(ecs, web_arn)
        refs = processes.web_secret_refs(self.env, web)
        promoted = processes.resecret_schedules(ecs, self.env, tags, refs)
        if promoted:
            count = len(self.env.settings.schedules)
            self.events.step(
                "Schedules",
                f"{count} schedule(s) now run {_revision(promoted)}, reading the same secrets",
            )

    # --- listing -------------------------------------------------------------------------

    def entries(self, current: Current) -> list[SecretEntry]:
        """The managed secrets, then the app secrets by name; values are never read."""
        client = self._client("secretsmanager")
        found = [self._managed_entry(client, m, current) for m in managed_secrets(self.env)]
        listed = self._listed_app_secrets(client)
        referenced = {s["name"] for s in current.secrets if self._is_app_reference(s["valueFrom"])}
        for variable in sorted(set(listed) | referenced):
            described = listed.get(variable, {})
            found.append(
                SecretEntry(
                    variable,
                    self.secret_name(variable),
                    "app",
                    described.get("LastChangedDate"),
                    variable in referenced,
                    bool(described),
                )
            )
        return found

    def _managed_entry(self, client: Any, managed: ManagedSecret, current: Current) -> SecretEntry:
        described = secrets_ops.describe(client, managed.secret) or {}
        reference = current.reference(managed.variable) or ""
        return SecretEntry(
            managed.variable,
            managed.secret,
            "managed",
            described.get("LastChangedDate"),
            f":secret:{managed.secret}-" in reference or reference == managed.secret,
            bool(described) and not secrets_ops.scheduled_for_deletion(described),
            managed.what,
        )

    def _listed_app_secrets(self, client: Any) -> dict[str, dict[str, Any]]:
        """App secrets by variable; the name filter is a case-insensitive prefix match, so
        the exact prefix and a valid variable name are checked here."""
        prefix = secrets_ops.app_secret_prefix(self.names.prefix)
        found: dict[str, dict[str, Any]] = {}
        for secret in secrets_ops.secrets_named(client, prefix):
            variable = str(secret.get("Name", "")).removeprefix(prefix)
            if secret["Name"].startswith(prefix) and NAME_PATTERN.fullmatch(variable):
                found[variable] = secret
        return found

    # --- DB password rotation ------------------------------------------------------------

    def rotate_db_password(self) -> None:
        """New DB password: stored as AWSPENDING, given to RDS, then made AWSCURRENT.

        In that order because each step leaves something that works: until RDS has the
        new password the secret's AWSCURRENT is still the one RDS accepts (tasks starting
        meanwhile connect); the new one is stored before RDS gets it, so an interruption
        never leaves the database with a password that exists nowhere. Running tasks keep
        their open connections (MySQL checks the password only at login); new connections
        from old tasks fail between the RDS change and the rollout that follows, which is
        why the caller rolls out right after.
        """
        secrets = self._client("secretsmanager")
        rds = self._client("rds")
        secret = self.names.db_password_secret
        self._check_database_available(rds)
        password = secrets_ops.random_password(secrets)
        version = secrets_ops.put_pending(secrets, secret, password)
        self.events.step("Stored", f"a new password in {secret} as AWSPENDING")
        try:
            rds_ops.modify(rds, master_password_request(self.names.db_instance, password))
        except ClientError as exc:
            secrets_ops.discard_pending(secrets, secret, version)
            raise HakobuError(
                f"RDS refused the new password of {self.names.db_instance} "
                f"({error_code(exc) or '?'}); nothing was changed",
                "check the instance with `hakobu status` and run the command again",
            ) from None
        self.events.step("Database", f"{self.names.db_instance} is applying it")
        self._wait_for_password(rds)
        secrets_ops.promote_pending(secrets, secret, version)
        self.events.step("Promoted", f"the new password to AWSCURRENT in {secret}")

    def _describe_db(self, rds: Any) -> dict[str, Any]:
        found = rds_ops.db_instance(rds, self.names.db_instance)
        if found is None:
            raise HakobuError(
                f"the database {self.names.db_instance} does not exist; nothing was changed",
                "run `hakobu up`",
            )
        return found

    def _check_database_available(self, rds: Any) -> None:
        status = self._describe_db(rds).get("DBInstanceStatus")
        if status != "available":
            raise HakobuError(
                f"the database {self.names.db_instance} is {status}, not available; "
                "nothing was changed",
                "wait until it is available (`hakobu status`), then run the command again",
            )

    def _wait_for_password(self, rds: Any) -> None:
        """Until RDS has applied the password: tasks started earlier would be refused."""
        waiter = Waiter(DB_WAIT_SECONDS, DB_POLL_SECONDS, sleep=self.sleep, clock=self.clock)
        seen: list[dict[str, Any]] = []

        def applied() -> dict[str, Any] | None:
            instance = self._describe_db(rds)
            seen[:] = [instance]
            pending = instance.get("PendingModifiedValues", {})
            done = instance.get("DBInstanceStatus") == "available"
            return instance if done and "MasterUserPassword" not in pending else None

        if poll_until(applied, waiter) is None:
            raise HakobuError(
                f"RDS has not applied the new password of {self.names.db_instance} "
                f"after {DB_WAIT_SECONDS} s (status "
                f"{seen[-1].get('DBInstanceStatus')}); the secret still serves the old "
                "one and holds the new one as AWSPENDING",
                "run `hakobu secrets rotate-db` again once the instance is available: "
                "it sets a fresh password in both",
            )


def _revision(arn: str) -> str:
    return last_part(arn)
