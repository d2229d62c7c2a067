"""Secret values: read locally, written straight to Secrets Manager, never printed."""

from __future__ import annotations

import os
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.errors import PreflightError

# App secrets (`hakobu secrets set NAME`) are named `<prefix>-app-<NAME>`: one secret per
# variable, so IAM, rotation and CloudTrail see each one; the execution role may read
# `<prefix>-app-*` and nothing of another environment (whose prefix differs).
APP_SECRET_INFIX = "-app-"


def app_secret_prefix(prefix: str) -> str:
    return f"{prefix}{APP_SECRET_INFIX}"


def app_secret_name(prefix: str, variable: str) -> str:
    return f"{app_secret_prefix(prefix)}{variable}"


def master_key_source(env: Environment) -> str:
    """Where the Rails master key will come from, or a `PreflightError` if from nowhere."""
    settings = env.settings.secrets
    path = env.root / settings.master_key_file
    if path.is_file():
        return str(path)
    if os.environ.get(settings.master_key_env):
        return f"${settings.master_key_env}"
    raise PreflightError(
        f"the Rails master key was not found: no {settings.master_key_file} in {env.root} "
        f"and {settings.master_key_env} is not set",
        f"copy config/master.key into the app (it is git-ignored), set "
        f"{settings.master_key_env}, or point secrets.master_key_file at the file",
    )


def read_master_key(env: Environment) -> str:
    source = master_key_source(env)
    if source.startswith("$"):
        return os.environ[source[1:]].strip()
    return (env.root / env.settings.secrets.master_key_file).read_text(encoding="utf-8").strip()


def secret_value(client: Any, secret_id: str, stage: str | None = None) -> str | None:
    """The value (to hand on or compare, never to print); None when the secret has no
    such version (or does not exist)."""
    request = {"SecretId": secret_id, **({"VersionStage": stage} if stage else {})}
    try:
        answer = client.get_secret_value(**request)
    except client.exceptions.ResourceNotFoundException:
        return None
    value = answer.get("SecretString")
    return str(value) if value is not None else None


def secrets_named(
    client: Any, prefix: str, include_planned_deletion: bool = False
) -> list[dict[str, Any]]:
    """Secrets whose name starts with `prefix`, case-insensitively (Secrets Manager's name
    filter): callers check the exact prefix."""
    request: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [prefix]}]}
    if include_planned_deletion:
        request = {"IncludePlannedDeletion": True, **request}
    pages = client.get_paginator("list_secrets").paginate(**request)
    return [secret for page in pages for secret in page.get("SecretList", [])]


def write_secret_if_changed(client: Any, secret_id: str, value: str) -> bool:
    """Put `value` as the secret's current version unless it already is; True if written."""
    current = secret_value(client, secret_id)  # None: the container has no version yet
    if current == value:
        return False
    client.put_secret_value(SecretId=secret_id, SecretString=value)
    return True


# --- requests as data -------------------------------------------------------------------


def create_secret_request(
    name: str, value: str, description: str, tags: dict[str, str]
) -> dict[str, Any]:
    """`create_secret` kwargs: the value goes straight into its first version."""
    return {
        "Name": name,
        "Description": description,
        "SecretString": value,
        "Tags": [{"Key": key, "Value": tag} for key, tag in tags.items()],
    }


def schedule_deletion_request(secret_id: str) -> dict[str, Any]:
    """`delete_secret` kwargs: Secrets Manager's default recovery window (30 days).

    Never `ForceDeleteWithoutRecovery`: a deletion hakobu starts can always be undone with
    `aws secretsmanager restore-secret` (or by setting the secret again).
    """
    return {"SecretId": secret_id}


def random_password_request(length: int = 32) -> dict[str, Any]:
    """`get_random_password` kwargs for a database password.

    Letters and digits only: RDS refuses "/", "@", '"' and spaces, and 32 alphanumeric
    characters still carry 190 bits.
    """
    return {
        "PasswordLength": length,
        "ExcludePunctuation": True,
        "IncludeSpace": False,
        "RequireEachIncludedType": True,
    }


# --- executors --------------------------------------------------------------------------


def describe(client: Any, secret_id: str) -> dict[str, Any] | None:
    """The secret's metadata (never its value), or None if there is no such secret."""
    try:
        return dict(client.describe_secret(SecretId=secret_id))
    except client.exceptions.ResourceNotFoundException:
        return None


def scheduled_for_deletion(description: dict[str, Any] | None) -> bool:
    """True while a deleted secret sits in its recovery window (its name is still taken)."""
    return bool(description and description.get("DeletedDate"))


def restore(client: Any, secret_id: str) -> None:
    """Cancel a scheduled deletion: the secret and all its versions come back as they were.

    The name stays taken for the whole recovery window: creating the secret again fails
    with "already scheduled for deletion" on AWS (moto raises ResourceExistsException).
    """
    client.restore_secret(SecretId=secret_id)


def put_value(
    client: Any, secret_id: str, value: str, description: str, tags: dict[str, str]
) -> tuple[str, bool]:
    """Create the secret or give it a new current version; its ARN and whether it changed.

    A secret scheduled for deletion is restored first (AWS refuses to write to it). An
    unchanged value writes nothing, so setting a secret twice does not roll the app out.
    """
    current = describe(client, secret_id)
    if current is None:
        created = client.create_secret(**create_secret_request(secret_id, value, description, tags))
        return str(created["ARN"]), True
    if scheduled_for_deletion(current):
        restore(client, secret_id)
    changed = write_secret_if_changed(client, secret_id, value)
    return str(current["ARN"]), changed


def schedule_deletion(client: Any, secret_id: str) -> Any:
    """Schedule the secret's deletion; the date it will be gone (None if there was none)."""
    try:
        response = client.delete_secret(**schedule_deletion_request(secret_id))
    except client.exceptions.ResourceNotFoundException:
        return None
    return response.get("DeletionDate")


def put_pending(client: Any, secret_id: str, value: str) -> str:
    """Store `value` as the AWSPENDING version (tasks keep reading AWSCURRENT); its id."""
    response = client.put_secret_value(
        SecretId=secret_id, SecretString=value, VersionStages=["AWSPENDING"]
    )
    return str(response["VersionId"])


def promote_pending(client: Any, secret_id: str, version_id: str) -> None:
    """Make the pending version AWSCURRENT (the old one becomes AWSPREVIOUS)."""
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    current = next((v for v, labels in stages.items() if "AWSCURRENT" in labels), None)
    move: dict[str, Any] = {"MoveToVersionId": version_id}
    if current and current != version_id:
        move["RemoveFromVersionId"] = current
    client.update_secret_version_stage(SecretId=secret_id, VersionStage="AWSCURRENT", **move)
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version_id
    )


def discard_pending(client: Any, secret_id: str, version_id: str) -> None:
    """Drop the AWSPENDING label of a rotation that did not reach the database."""
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version_id
    )


def random_password(client: Any, length: int = 32) -> str:
    return str(client.get_random_password(**random_password_request(length))["RandomPassword"])


def force_delete_all(client: Any, names: list[str], app_prefix: str) -> list[str]:
    """Delete `names` and every app secret under `app_prefix` at once, without recovery.

    Only for `hakobu destroy --force-delete`, when the user asked for it by name: the guide's
    `--force-delete-without-recovery`, which otherwise leaves a name blocked for 30 days.
    """
    found = [name for name in names if describe(client, name) is not None]
    found += [
        s["Name"]
        for s in secrets_named(client, app_prefix, include_planned_deletion=True)
        if s["Name"].startswith(app_prefix) and s["Name"] not in found
    ]
    for name in found:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    return found
