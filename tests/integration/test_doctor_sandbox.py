"""`hakobu doctor --sandbox` as a separate process against the shared sandbox stack: a
passing run on the healthy stack, then each failure the emulator can show, made on purpose
and undone afterwards (other tests run after these on the same stack):

- a secret scheduled for deletion (undone with restore_secret);
- the DB security group without its 3306 rule (revoked with boto3, put back by `hakobu up`:
  a rule re-authorized by hand gets a new rule id, so Terraform's state would no longer
  know it and the next `hakobu up` would fail with InvalidPermission.Duplicate);
- the service running an image that is not in ECR (a new task-definition revision pointing
  at an unknown digest; undone by moving the service back and deregistering the revision);
- a master key in Secrets Manager that differs from config/master.key (undone by putting the
  original back).

On the healthy stack some checks are warnings before the first deploy: `service image` (the
placeholder `:bootstrap` tag, which nothing pushes), `service` (its tasks cannot start) and
`target health` (no task, no target); after tests/integration/test_deploy_sandbox.py deployed
a real image they are ok where the sandbox runtime runs containers. On this
machine `session-manager-plugin` and `mysql client` are warnings too when they are not
installed. Stopped tasks, unhealthy targets, missing NAT routes and MySQL 8.0 are tested
with botocore's Stubber in tests/test_doctor.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from hakobu.aws.ecs import revision_request
from tests.conftest import MASTER_KEY, Run, SandboxStack, run_hakobu

pytestmark = pytest.mark.integration
APP = "rails-app"
CLUSTER, SERVICE = f"{APP}-cluster", f"{APP}-service"
# Checks the emulator leaves at a warning on a healthy stack, and why (see the docstring).
SANDBOX_WARNINGS = {"service", "target health", "service image"}
MACHINE_WARNINGS = {"session-manager-plugin", "mysql client"}


def doctor(stack: SandboxStack, *args: str) -> Run:
    """`hakobu doctor --sandbox` in a separate process (through the module, so it runs
    whether or not hakobu.cli registers the command yet)."""
    code = "import hakobu.cli.doctor_commands; from hakobu.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "doctor", "--sandbox", *args],
        cwd=stack.root,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def checks(stack: SandboxStack) -> tuple[int, dict[str, dict[str, Any]]]:
    result = doctor(stack, "--json")
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == 1 and report["sandbox"] is True
    return result.code, {c["name"]: c for c in report["checks"]}


@pytest.mark.fresh_stack
def test_the_healthy_stack_passes_with_only_the_emulators_warnings(
    sandbox_stack: SandboxStack,
) -> None:
    code, found = checks(sandbox_stack)

    assert code == 0, json.dumps(found, indent=2)
    for name, check in found.items():
        allowed = {"ok", "warning"} if name in SANDBOX_WARNINGS | MACHINE_WARNINGS else {"ok"}
        assert check["status"] in allowed, (name, check)
    image = found["service image"]
    if image["status"] == "warning":
        # Before any deploy the service runs the never-pushed placeholder: its tasks cannot
        # start (the sandbox runtime tries, as ECS does), and doctor says "no deploy yet"
        # instead of diagnosing those stopped tasks as failures.
        assert image["message"].startswith("no deploy yet"), image
        assert "no deploy yet" in found["service"]["message"], found["service"]
        assert found["stopped tasks"]["status"] == "ok", found["stopped tasks"]
    else:
        assert image["status"] == "ok", image
    assert found["credentials"]["message"] == (
        "account 123456789012 (the sandbox emulator's) as arn:aws:sts::123456789012:user/moto"
    )
    assert found["master key"]["message"] == (
        f"{APP}-rails-master-key holds the same key as config/master.key (compared by digest, "
        "not shown)"
    )
    assert found["security groups"]["message"].startswith(f"{APP}-db-sg (sg-")
    assert found["routes"]["message"] == (
        "private tasks (no public IP) leave through a NAT Gateway: every subnet routes "
        "0.0.0.0/0 there"
    )
    assert found["engine version"]["message"].startswith("MySQL 8.4")


@pytest.mark.fresh_stack
def test_the_text_report_is_a_tree_and_says_it_is_the_sandbox(
    sandbox_stack: SandboxStack,
) -> None:
    result = doctor(sandbox_stack)

    assert result.code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0] == f"hakobu doctor: {APP} (production, ap-northeast-1)"
    for group in ("local machine", "AWS account", "secrets", "service", "network", "database"):
        assert group in lines
    assert "├── [OK] credentials: account 123456789012 (the sandbox emulator's)" in result.stdout
    # The guide's `aws sts get-caller-identity` output, under the check.
    assert '│           "Account": "123456789012",' in lines
    assert "└── [WARNING] target health: no targets registered" in result.stdout
    assert "SANDBOX: this ran against the local AWS emulator" in result.stdout


@pytest.fixture
def db_password_deleted(sandbox_stack: SandboxStack) -> Iterator[str]:
    secrets = sandbox_stack.client("secretsmanager")
    name = f"{APP}-db-password"
    secrets.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    try:
        yield name
    finally:
        secrets.restore_secret(SecretId=name)
        assert "DeletedDate" not in secrets.describe_secret(SecretId=name)


def test_a_secret_scheduled_for_deletion_is_a_problem(
    sandbox_stack: SandboxStack, db_password_deleted: str
) -> None:
    code, found = checks(sandbox_stack)

    assert code == 1
    secret = found[db_password_deleted]
    assert secret["status"] == "problem"
    assert secret["message"].startswith(
        "the DB password secret is scheduled for deletion (deleted 20"
    )
    assert "Terraform fails on its name" in secret["message"]
    assert secret["fix"].startswith(
        "run `hakobu up`: it restores the secret with its value (or `aws secretsmanager "
        f"restore-secret --secret-id {db_password_deleted}`). Do not force-delete it"
    )
    # The password's own check needs the secret: skipped, saying why.
    assert found["db password"]["status"] == "skipped"
    assert found["db password"]["message"].startswith(
        f"needs secrets › {db_password_deleted}: the DB password secret is scheduled"
    )


@pytest.fixture
def db_rule_revoked(sandbox_stack: SandboxStack) -> Iterator[dict[str, Any]]:
    """The DB security group without its 3306 rule; `hakobu up` puts it back (see the
    module docstring for why not authorize_security_group_ingress)."""
    ec2 = sandbox_stack.client("ec2")
    group = _db_group(sandbox_stack)
    before = group["IpPermissions"]
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=before)
    try:
        yield group
    finally:
        up = run_hakobu("up", "--sandbox", "--yes", cwd=sandbox_stack.root)
        assert up.code == 0, up.output
        assert _rules(_db_group(sandbox_stack)["IpPermissions"]) == _rules(before)


def _db_group(stack: SandboxStack) -> dict[str, Any]:
    found = stack.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{APP}-db-sg"]}]
    )["SecurityGroups"]
    return dict(found[0])


def _rules(permissions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A rule as it was: protocol, ports, the peer group and its description."""
    return sorted(
        (
            p["IpProtocol"],
            p.get("FromPort"),
            p.get("ToPort"),
            pair["GroupId"],
            pair.get("Description"),
        )
        for p in permissions
        for pair in p.get("UserIdGroupPairs", [])
    )


def test_a_db_security_group_without_the_3306_rule_is_a_problem(
    sandbox_stack: SandboxStack, db_rule_revoked: dict[str, Any]
) -> None:
    code, found = checks(sandbox_stack)

    assert code == 1
    path = found["security groups"]
    assert path["status"] == "problem"
    db_group = f"{APP}-db-sg ({db_rule_revoked['GroupId']})"
    assert path["message"].startswith(
        f"the DB's security group {db_group} has no inbound rule for MySQL (3306) from the "
        f"tasks' security group {APP}-ecs-sg (sg-"
    )
    assert path["message"].endswith("the app cannot connect")
    assert path["fix"].startswith("run `hakobu up`: Terraform puts the rule back.")


@pytest.fixture
def image_missing(sandbox_stack: SandboxStack) -> Iterator[str]:
    """The service on a new revision whose image digest is not in ECR; afterwards the
    service is back on its revision and the new one deregistered (so `hakobu releases`
    and `rollback` never see it)."""
    ecs = sandbox_stack.client("ecs")
    service = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    before = service["taskDefinition"]
    current = ecs.describe_task_definition(taskDefinition=before)["taskDefinition"]
    repository = current["containerDefinitions"][0]["image"].split("@")[0].rsplit(":", 1)[0]
    digest = "sha256:" + hashlib.sha256(b"an image nobody pushed").hexdigest()
    missing = f"{repository}@{digest}"
    request = revision_request(current, APP, missing, tags={})
    registered = ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=registered)
    try:
        yield digest
    finally:
        ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=before)
        ecs.deregister_task_definition(taskDefinition=registered)
        now = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        assert now["taskDefinition"] == before


def test_an_image_missing_from_ecr_is_a_problem(
    sandbox_stack: SandboxStack, image_missing: str
) -> None:
    code, found = checks(sandbox_stack)

    assert code == 1
    image = found["service image"]
    assert image["status"] == "problem"
    assert image["message"] == (
        f"the image the service runs, {APP}@{image_missing[:19]}…, is not in ECR (deleted, or "
        "expired: the repository keeps the newest 30): new tasks cannot start"
    )
    assert image["fix"].startswith("run `hakobu deploy` to push and roll out a new image")


@pytest.fixture
def master_key_changed(sandbox_stack: SandboxStack) -> Iterator[str]:
    secrets = sandbox_stack.client("secretsmanager")
    name = f"{APP}-rails-master-key"
    original = secrets.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"]
    assert original == MASTER_KEY
    other = "f" * 32
    secrets.put_secret_value(SecretId=name, SecretString=other)
    try:
        yield other
    finally:
        secrets.put_secret_value(SecretId=name, SecretString=original)
        assert secrets.get_secret_value(SecretId=name)["SecretString"] == original


def test_a_master_key_that_differs_is_a_problem_and_neither_key_is_shown(
    sandbox_stack: SandboxStack, master_key_changed: str
) -> None:
    code, found = checks(sandbox_stack)
    text = doctor(sandbox_stack)

    assert code == 1 and text.code == 1
    key = found["master key"]
    assert key["status"] == "problem"
    assert key["message"] == (
        f"{APP}-rails-master-key holds a different key than config/master.key: the app cannot "
        "decrypt config/credentials.yml.enc with it (compared by digest, neither shown)"
    )
    assert "[PROBLEM] master key:" in text.stdout
    shown = json.dumps(found) + text.output
    for value in (master_key_changed, MASTER_KEY):
        assert value not in shown
        assert hashlib.sha256(value.encode()).hexdigest()[:8] not in shown
