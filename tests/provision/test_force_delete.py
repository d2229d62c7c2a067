"""`hakobu destroy --force-delete` removes the environment's secrets without recovery,
against the emulator (moto server): managed ones, scheduled ones and the app's own, and
nothing of another environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.aws.secrets import app_secret_prefix, force_delete_all
from hakobu.sandbox import emulator as sandbox


@pytest.fixture
def secrets_client(tmp_path: Path) -> Iterator[Any]:
    server, _ = sandbox.start(tmp_path)
    try:
        yield sandbox.client(server, "ap-northeast-1", "secretsmanager")
    finally:
        sandbox.stop(tmp_path)


def test_force_delete_takes_managed_scheduled_and_app_secrets_only(secrets_client: Any) -> None:
    for name in (
        "shop-db-password",
        "shop-rails-master-key",
        f"{app_secret_prefix('shop')}STRIPE",
        "shop-staging-db-password",
        f"{app_secret_prefix('shop-staging')}STRIPE",
    ):
        secrets_client.create_secret(Name=name, SecretString="value")
    secrets_client.delete_secret(SecretId="shop-rails-master-key", RecoveryWindowInDays=7)

    deleted = force_delete_all(
        secrets_client,
        ["shop-db-password", "shop-rails-master-key", "shop-django-secret-key"],
        app_secret_prefix("shop"),
    )

    assert sorted(deleted) == sorted(
        ["shop-db-password", "shop-rails-master-key", f"{app_secret_prefix('shop')}STRIPE"]
    )
    left = {
        s["Name"] for s in secrets_client.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    }
    assert left == {"shop-staging-db-password", f"{app_secret_prefix('shop-staging')}STRIPE"}
