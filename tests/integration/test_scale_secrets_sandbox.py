"""`hakobu scale`, `hakobu secrets` and the restore step of `hakobu up`, as separate processes
against the shared sandbox stack. Each test puts back what it changed (the count, hakobu.toml,
the app secrets); the rotation test leaves a new, consistent DB password.

What the emulator cannot show (an RDS password change still pending, a refused one, a
rollout that completes) is tested with botocore's Stubber in tests/test_app_secrets.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import MASTER_KEY, SandboxStack, run_hakobu

pytestmark = pytest.mark.integration
APP = "rails-app"
CLUSTER, SERVICE = f"{APP}-cluster", f"{APP}-service"
VALUE = "sk_test_integration-value-7f3a"


def _service(stack: SandboxStack) -> dict[str, Any]:
    ecs = stack.client("ecs")
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]


def _container(stack: SandboxStack, arn: str) -> dict[str, Any]:
    definition = stack.client("ecs").describe_task_definition(taskDefinition=arn)
    return definition["taskDefinition"]["containerDefinitions"][0]


def _planned_changes(stack: SandboxStack) -> dict[str, Any]:
    """`terraform show -json` of the plan `hakobu plan` saved, by resource address."""
    workdir = stack.root / ".hakobu" / "sandbox" / "production"
    shown = subprocess.run(
        ["terraform", "show", "-json", "tfplan"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "terraform.rc")},
    )
    (workdir / "tfplan").unlink()  # never left for a later `hakobu up` to apply
    plan = json.loads(shown.stdout)
    return {c["address"]: c["change"] for c in plan["resource_changes"]}


@pytest.fixture
def config_kept(sandbox_stack: SandboxStack) -> Iterator[str]:
    """hakobu.toml as it was, written back (and the service at 1 task) afterwards."""
    path = sandbox_stack.root / "hakobu.toml"
    before = path.read_text()
    yield before
    path.write_text(before)
    sandbox_stack.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, desiredCount=1)


def test_scale_sets_the_count_records_it_and_the_next_plan_agrees(
    sandbox_stack: SandboxStack, config_kept: str
) -> None:
    result = run_hakobu("scale", "3", "--sandbox", cwd=sandbox_stack.root)
    assert result.code == 0, result.output
    assert "desired count 1 → 3" in result.stdout
    assert _service(sandbox_stack)["desiredCount"] == 3
    after = (sandbox_stack.root / "hakobu.toml").read_text()
    # Every line (comments included) is kept; one is added under [environments.production].
    lines = config_kept.splitlines()
    header = lines.index("[environments.production]") + 1
    assert after.splitlines() == [*lines[:header], "service.desired_count = 3", *lines[header:]]

    planned = run_hakobu("plan", "--sandbox", cwd=sandbox_stack.root)
    assert planned.code == 0, planned.output
    service = _planned_changes(sandbox_stack)["aws_ecs_service.app"]
    # moto drops enableExecuteCommand on create, so the service may show that update; the
    # count must not be part of it.
    assert service["before"]["desired_count"] == service["after"]["desired_count"] == 3


def test_scale_refuses_a_bad_count_before_any_call(
    sandbox_stack: SandboxStack, config_kept: str
) -> None:
    result = run_hakobu("scale", "101", "--sandbox", cwd=sandbox_stack.root)
    assert result.code == 2, result.output
    assert "0 to 100" in result.stderr
    assert _service(sandbox_stack)["desiredCount"] == 1
    assert (sandbox_stack.root / "hakobu.toml").read_text() == config_kept


def test_secrets_set_list_unset(sandbox_stack: SandboxStack) -> None:
    before = _service(sandbox_stack)["taskDefinition"]
    secret = f"{APP}-app-TEST_API_KEY"
    try:
        added = run_hakobu(
            "secrets", "set", "TEST_API_KEY", "--sandbox",
            cwd=sandbox_stack.root, input_text=VALUE + "\n",
        )  # fmt: skip
        assert added.code == 0, added.output
        assert "Rolled out rails-app:" in added.output, added.output
        assert VALUE not in added.output
        sm = sandbox_stack.client("secretsmanager")
        assert sm.get_secret_value(SecretId=secret)["SecretString"] == VALUE
        with_secret = _service(sandbox_stack)["taskDefinition"]
        assert with_secret != before
        old, new = _container(sandbox_stack, before), _container(sandbox_stack, with_secret)
        arn = sm.describe_secret(SecretId=secret)["ARN"]
        assert new["secrets"] == [*old["secrets"], {"name": "TEST_API_KEY", "valueFrom": arn}]
        assert {k: v for k, v in new.items() if k != "secrets"} == {
            k: v for k, v in old.items() if k != "secrets"
        }

        listed = run_hakobu("secrets", "list", "--sandbox", cwd=sandbox_stack.root)
        assert listed.code == 0, listed.output
        row = next(line for line in listed.stdout.splitlines() if "TEST_API_KEY" in line)
        assert row.split()[:3] == ["TEST_API_KEY", "••••", "app"]
        assert "RAILS_MASTER_KEY" in listed.stdout and "managed" in listed.stdout
        assert VALUE not in listed.output and MASTER_KEY not in listed.output
        as_json = run_hakobu("secrets", "list", "--sandbox", "--json", cwd=sandbox_stack.root)
        entries = {e["name"]: e for e in json.loads(as_json.stdout)["secrets"]}
        assert entries["TEST_API_KEY"]["injected"] and entries["TEST_API_KEY"]["kind"] == "app"
        assert entries["RAILS_MASTER_KEY"]["kind"] == "managed"

        removed = run_hakobu(
            "secrets", "unset", "TEST_API_KEY", "--sandbox", cwd=sandbox_stack.root
        )
        assert removed.code == 0, removed.output
        assert "Scheduled the deletion" in removed.stdout
        without = _service(sandbox_stack)["taskDefinition"]
        assert _container(sandbox_stack, without)["secrets"] == old["secrets"]
        assert sm.describe_secret(SecretId=secret).get("DeletedDate")
    finally:
        run_hakobu("secrets", "unset", "TEST_API_KEY", "--sandbox", cwd=sandbox_stack.root)


def test_up_restores_a_secret_scheduled_for_deletion(sandbox_stack: SandboxStack) -> None:
    sm = sandbox_stack.client("secretsmanager")
    secret = f"{APP}-rails-master-key"
    sm.delete_secret(SecretId=secret)  # what `terraform destroy` or a console click does
    assert sm.describe_secret(SecretId=secret).get("DeletedDate")

    result = run_hakobu("up", "--sandbox", "--yes", cwd=sandbox_stack.root)

    assert result.code == 0, result.output
    assert f"Restored the secret {secret}" in result.stdout
    described = sm.describe_secret(SecretId=secret)
    assert "DeletedDate" not in described
    # Restored, not recreated: the same secret with its value.
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == MASTER_KEY
    assert MASTER_KEY not in result.output


def test_rotate_db_changes_the_password_and_terraform_leaves_it(
    sandbox_stack: SandboxStack,
) -> None:
    sm = sandbox_stack.client("secretsmanager")
    secret = f"{APP}-db-password"
    # By stage: moto's GetSecretValue without one keeps returning the version a secret had
    # before UpdateSecretVersionStage moved AWSCURRENT (AWS returns the new AWSCURRENT).
    old = sm.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["SecretString"]
    before = _service(sandbox_stack)["taskDefinition"]

    result = run_hakobu("secrets", "rotate-db", "--sandbox", "--yes", cwd=sandbox_stack.root)

    assert result.code == 0, result.output
    new = sm.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")["SecretString"]
    assert new != old and len(new) == 32 and new.isalnum()
    assert old not in result.output and new not in result.output
    stages = sm.describe_secret(SecretId=secret)["VersionIdsToStages"]
    assert sorted(label for labels in stages.values() for label in labels) == [
        "AWSCURRENT",
        "AWSPREVIOUS",
    ]
    now = _service(sandbox_stack)["taskDefinition"]
    assert now != before  # rolled out: new tasks read the new password
    assert _container(sandbox_stack, now)["secrets"] == _container(sandbox_stack, before)["secrets"]

    planned = run_hakobu("plan", "--sandbox", cwd=sandbox_stack.root)
    assert planned.code == 0, planned.output
    changes = _planned_changes(sandbox_stack)
    for address in ("aws_db_instance.main", "aws_secretsmanager_secret_version.db_password"):
        assert changes[address]["actions"] == ["no-op"], address
