"""Secret values: read locally, written straight to Secrets Manager, never printed."""

from __future__ import annotations

import os
from typing import Any

from hakobu.config import Environment
from hakobu.errors import PreflightError


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


def write_secret_if_changed(client: Any, secret_id: str, value: str) -> bool:
    """Put `value` as the secret's current version unless it already is; True if written."""
    try:
        current = client.get_secret_value(SecretId=secret_id).get("SecretString")
    except client.exceptions.ResourceNotFoundException:
        current = None  # the container exists but has no version yet
    if current == value:
        return False
    client.put_secret_value(SecretId=secret_id, SecretString=value)
    return True
