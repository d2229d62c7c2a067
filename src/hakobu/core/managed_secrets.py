"""The secrets hakobu itself creates and injects into the app's container.

One list serves everyone who must agree on them: the blueprint (which secrets exist, which
the container reads, which the execution role may read), `hakobu up` (restoring one
scheduled for deletion), `hakobu secrets` (names a user may not set) and `hakobu doctor`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hakobu.core.config import Environment
from hakobu.core.names import Names

# Their Terraform addresses in the rendered configuration.
DB_PASSWORD_SECRET = "aws_secretsmanager_secret.db_password"
MASTER_KEY_SECRET = "aws_secretsmanager_secret.rails_master_key"
DJANGO_KEY_SECRET = "aws_secretsmanager_secret.django_secret_key"


def uses_master_key(env: Environment) -> bool:
    return env.framework == "rails"


def uses_django_key(env: Environment) -> bool:
    return env.framework == "django"


@dataclass(frozen=True)
class ManagedSecret:
    """A secret hakobu itself creates and injects (never set by `hakobu secrets set`)."""

    variable: str
    secret: str  # its Secrets Manager name
    address: str  # its Terraform address
    what: str


def managed_secrets(env: Environment) -> list[ManagedSecret]:
    """The secrets the container reads at start, in the order it lists them."""
    names = Names.of(env)
    found = [
        ManagedSecret(
            env.settings.secrets.database_password_env,
            names.db_password_secret,
            DB_PASSWORD_SECRET,
            "DB password",
        )
    ]
    if uses_master_key(env):
        found.append(
            ManagedSecret(
                "RAILS_MASTER_KEY", names.master_key_secret, MASTER_KEY_SECRET, "Rails master key"
            )
        )
    if uses_django_key(env):
        found.append(
            ManagedSecret(
                "DJANGO_SECRET_KEY",
                names.django_secret_key_secret,
                DJANGO_KEY_SECRET,
                "Django secret key",
            )
        )
    return found
