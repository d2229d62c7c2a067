"""`hakobu secrets` and the restore step of `hakobu up`, without AWS: names and values checked
before any call, requests as exact values, and the call sequences with botocore's Stubber
(the emulator cannot show an RDS password change pending, nor a refused one)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from hakobu.aws.secrets import (
    app_secret_name,
    create_secret_request,
    random_password_request,
    schedule_deletion_request,
)
from hakobu.core.errors import HakobuError, InvalidArgument
from hakobu.core.managed_secrets import managed_secrets
from hakobu.operate.secrets import (
    MASK,
    TAG_CHANGE,
    AppSecrets,
    master_password_request,
    revision_tags,
    secrets_revision_request,
    secrets_with,
    secrets_without,
    validate_name,
    validate_value,
    value_from_input,
)
from hakobu.provision.blueprint import render
from hakobu.provision.pipeline import RESTORED_FILE, Provisioner
from hakobu.ship.deploy import (
    SANDBOX_ROLLOUT_NOTE,
    TAG_AT,
    TAG_BY,
    TAG_IMAGE,
    RolloutFollower,
)
from tests.conftest import environment_of
from tests.support.stubbed_aws import (
    ACCOUNT,
    CLUSTER,
    CURRENT,
    NEW,
    OLD,
    SERVICE,
    Recorder,
    StubbedAws,
    no_newer_revision,
    service_response,
)

REGION = "ap-northeast-1"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
DB_ARN = f"{SECRET_ARN}rails-app-db-password-AbCdEf"
KEY_ARN = f"{SECRET_ARN}rails-app-rails-master-key-GhIjKl"
STRIPE_ARN = f"{SECRET_ARN}rails-app-app-STRIPE_KEY-MnOpQr"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app@sha256:" + "c" * 64
VALUE = "sk_live_not-a-real-key"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
V1, V2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
DESCRIBED = {
    "taskDefinitionArn": OLD,
    "family": "rails-app",
    "revision": 4,
    "status": "ACTIVE",
    "cpu": "256",
    "memory": "512",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "compatibilities": ["EC2", "FARGATE"],
    "registeredAt": NOW,
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/rails-app-ecs-task-execution-role",
    "containerDefinitions": [
        {
            "name": "rails-app",
            "image": IMAGE,
            "memory": 512,
            "essential": True,
            "environment": [{"name": "DATABASE_HOST", "value": "db.internal"}],
            "secrets": [
                {"name": "MYAPP_DATABASE_PASSWORD", "valueFrom": DB_ARN},
                {"name": "RAILS_MASTER_KEY", "valueFrom": KEY_ARN},
            ],
        }
    ],
}
TAGS = [
    {"key": TAG_IMAGE, "value": "0a1b2c3d"},
    {"key": TAG_BY, "value": "arn:aws:iam::123456789012:user/someone"},
]


def rails_env() -> Any:
    raw = {"app": "rails-app", "framework": "rails"}
    raw["secrets"] = {"database_password_env": "MYAPP_DATABASE_PASSWORD"}
    return environment_of(raw)


# --- names and values -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["STRIPE_KEY", "_PRIVATE", "sentry_dsn", "A1", "X" * 128])
def test_environment_variable_names_are_accepted(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "1KEY", "STRIPE-KEY", "MY KEY", "KEY=1", "ÄPFEL", "X" * 129, "$KEY", "KEY\n"],
)
def test_other_names_are_refused_with_exit_code_2(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_name(name)
    assert caught.value.exit_code == 2
    assert "STRIPE_API_KEY" in str(caught.value.fix)
    if len(name) > 2:  # it may be a value typed where NAME goes: never repeated
        assert name not in str(caught.value)


@pytest.mark.parametrize("name", ["AWS_REGION", "aws_secret", "ECS_CONTAINER_METADATA_URI"])
def test_names_ecs_and_the_sdks_use_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument, match="ECS and the AWS SDKs"):
        validate_name(name)


@pytest.mark.parametrize(
    "piped, value",
    [
        ("secret\n", "secret"),
        ("secret\r\n", "secret"),
        ("secret", "secret"),
        ("secret\n\n", "secret\n"),
        (
            "-----BEGIN KEY-----\nabc\n-----END KEY-----\n",
            "-----BEGIN KEY-----\nabc\n-----END KEY-----",
        ),
    ],
)
def test_one_trailing_newline_is_dropped_from_piped_values(piped: str, value: str) -> None:
    assert value_from_input(piped) == value


def test_empty_and_oversized_values_are_refused_without_echoing_them() -> None:
    with pytest.raises(InvalidArgument, match="empty"):
        validate_value("KEY", "")
    big = "x" * 65537
    with pytest.raises(InvalidArgument, match="65536 bytes") as caught:
        validate_value("KEY", big)
    assert big not in str(caught.value)
    assert validate_value("KEY", "x" * 65536)


def test_app_secrets_are_named_after_the_prefix_and_the_variable() -> None:
    assert app_secret_name("rails-app", "STRIPE_KEY") == "rails-app-app-STRIPE_KEY"
    assert app_secret_name("rails-app-staging", "X") == "rails-app-staging-app-X"


@pytest.mark.parametrize("framework", ["rails", "django", "container"])
def test_managed_secrets_are_exactly_what_the_blueprint_injects(framework: str) -> None:
    env = environment_of({"app": "blog", "framework": framework})
    definitions = json.loads(
        render(env)["resource"]["aws_ecs_task_definition"]["app"]["container_definitions"]
    )
    injected = {s["name"]: s["valueFrom"] for s in definitions[0]["secrets"]}
    managed = managed_secrets(env)
    assert {m.variable: f"${{{m.address}.arn}}" for m in managed} == injected
    secrets = render(env)["resource"]["aws_secretsmanager_secret"]
    names = {f"aws_secretsmanager_secret.{label}": body["name"] for label, body in secrets.items()}
    assert {m.address: m.secret for m in managed} == names


# --- requests as data -----------------------------------------------------------------------


def test_secrets_with_replaces_in_place_or_appends() -> None:
    current = DESCRIBED["containerDefinitions"][0]["secrets"]
    added = secrets_with(current, "STRIPE_KEY", STRIPE_ARN)
    assert added == [*current, {"name": "STRIPE_KEY", "valueFrom": STRIPE_ARN}]
    replaced = secrets_with(added, "MYAPP_DATABASE_PASSWORD", "arn:other")
    assert [s["valueFrom"] for s in replaced] == ["arn:other", KEY_ARN, STRIPE_ARN]
    assert secrets_without(added, "STRIPE_KEY") == current
    assert secrets_without(current, "MISSING") == current


def test_revision_request_changes_only_the_containers_secrets() -> None:
    secrets = secrets_with(DESCRIBED["containerDefinitions"][0]["secrets"], "K", STRIPE_ARN)
    before = copy.deepcopy(DESCRIBED)
    request = secrets_revision_request(DESCRIBED, "rails-app", secrets, {"a": "1"})
    container = dict(DESCRIBED["containerDefinitions"][0], secrets=secrets)
    assert request == {
        "family": "rails-app",
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": DESCRIBED["executionRoleArn"],
        "containerDefinitions": [container],
        "tags": [{"key": "a", "value": "1"}],
    }
    assert request["containerDefinitions"][0]["image"] == IMAGE  # no deploy is undone
    assert before == DESCRIBED


def test_revision_request_names_a_missing_container() -> None:
    with pytest.raises(HakobuError, match="no container named 'web'"):
        secrets_revision_request(DESCRIBED, "web", [], {})


def test_revision_tags_keep_the_image_and_say_what_changed() -> None:
    previous = {t["key"]: t["value"] for t in TAGS}
    tags = revision_tags(previous, "secrets set K", "arn:me", "2026-11-29T12:00:00+00:00")
    assert tags == {
        TAG_IMAGE: "0a1b2c3d",
        TAG_BY: "arn:me",
        TAG_AT: "2026-11-29T12:00:00+00:00",
        TAG_CHANGE: "secrets set K",
    }


def test_other_requests() -> None:
    assert master_password_request("rails-app-db", "p4ss") == {
        "DBInstanceIdentifier": "rails-app-db",
        "MasterUserPassword": "p4ss",
        "ApplyImmediately": True,
    }
    assert random_password_request() == {
        "PasswordLength": 32,
        "ExcludePunctuation": True,
        "IncludeSpace": False,
        "RequireEachIncludedType": True,
    }
    # The default recovery window, never a forced deletion.
    assert schedule_deletion_request("rails-app-app-K") == {"SecretId": "rails-app-app-K"}
    assert create_secret_request("n", "v", "d", {"k": "t"}) == {
        "Name": "n",
        "Description": "d",
        "SecretString": "v",
        "Tags": [{"Key": "k", "Value": "t"}],
    }


# --- the executor, with the Stubber --------------------------------------------------------


class Calls:
    """Every AWS operation, in order across clients (a Stubber only orders its own)."""

    def __init__(self, aws: StubbedAws) -> None:
        self.aws = aws
        self.names: list[str] = []

    def watch(self, *services: str) -> None:
        for service in services:
            self.aws.client(service).meta.events.register(
                "before-parameter-build", lambda model, **_: self.names.append(model.name)
            )


@pytest.fixture
def aws() -> StubbedAws:
    return StubbedAws()


def secrets_of(aws: StubbedAws) -> AppSecrets:
    follower = RolloutFollower(rails_env(), aws, Recorder())  # type: ignore[arg-type]
    return AppSecrets(follower, sleep=lambda _: None)


def expect_current(aws: StubbedAws, described: dict[str, Any] = DESCRIBED) -> None:
    ecs = aws.stub("ecs")
    ecs.add_response(
        "describe_services", service_response(CURRENT), {"cluster": CLUSTER, "services": [SERVICE]}
    )
    ecs.add_response(
        "describe_task_definition",
        {"taskDefinition": described, "tags": TAGS},
        {"taskDefinition": OLD, "include": ["TAGS"]},
    )


def expect_register(aws: StubbedAws, secrets: list[dict[str, str]], change: str) -> None:
    aws.stub("sts").add_response(
        "get_caller_identity",
        {
            "UserId": "HAKOBU-TEST-USER-ID",
            "Account": ACCOUNT,
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/ops",
        },
    )
    request = secrets_revision_request(DESCRIBED, "rails-app", secrets, {})
    request["tags"] = [
        {"key": TAG_IMAGE, "value": "0a1b2c3d"},
        {"key": TAG_BY, "value": f"arn:aws:iam::{ACCOUNT}:user/ops"},
        {"key": TAG_AT, "value": ANY},
        {"key": TAG_CHANGE, "value": change},
    ]
    registered = dict(DESCRIBED, taskDefinitionArn=NEW, revision=5)
    no_newer_revision(aws.stub("ecs"))
    aws.stub("ecs").add_response(
        "register_task_definition", {"taskDefinition": registered}, request
    )


def not_found(aws: StubbedAws, operation: str, params: dict[str, Any]) -> None:
    aws.stub("secretsmanager").add_client_error(
        operation, "ResourceNotFoundException", "not found", 400, expected_params=params
    )


def test_set_creates_the_secret_then_registers_a_revision_reading_it(aws: StubbedAws) -> None:
    expect_current(aws)
    name = "rails-app-app-STRIPE_KEY"
    sm = aws.stub("secretsmanager")
    not_found(aws, "describe_secret", {"SecretId": name})
    sm.add_response(
        "create_secret",
        {"ARN": STRIPE_ARN, "Name": name},
        {
            "Name": name,
            "SecretString": VALUE,
            "Description": "STRIPE_KEY for rails-app-service, set with `hakobu secrets set`",
            "Tags": [{"Key": "hakobu:app-secret", "Value": "STRIPE_KEY"}],
        },
    )
    current_secrets = DESCRIBED["containerDefinitions"][0]["secrets"]
    expect_register(
        aws, secrets_with(current_secrets, "STRIPE_KEY", STRIPE_ARN), "secrets set STRIPE_KEY"
    )
    editor = secrets_of(aws)
    assert editor.set("STRIPE_KEY", VALUE, editor.current()) == {"web": NEW}
    aws.verify()
    assert VALUE not in "\n".join(editor.events.lines)  # type: ignore[attr-defined]


def test_an_unchanged_value_already_injected_rolls_nothing_out(aws: StubbedAws) -> None:
    described = copy.deepcopy(DESCRIBED)
    described["containerDefinitions"][0]["secrets"].append(
        {"name": "STRIPE_KEY", "valueFrom": STRIPE_ARN}
    )
    expect_current(aws, described)
    sm = aws.stub("secretsmanager")
    sm.add_response("describe_secret", {"ARN": STRIPE_ARN, "Name": "rails-app-app-STRIPE_KEY"})
    sm.add_response("get_secret_value", {"SecretString": VALUE})
    editor = secrets_of(aws)
    assert editor.set("STRIPE_KEY", VALUE, editor.current()) is None
    aws.verify()  # no put_secret_value, no register_task_definition


def test_setting_a_secret_scheduled_for_deletion_restores_it_first(aws: StubbedAws) -> None:
    expect_current(aws)
    name = "rails-app-app-STRIPE_KEY"
    sm = aws.stub("secretsmanager")
    sm.add_response("describe_secret", {"ARN": STRIPE_ARN, "Name": name, "DeletedDate": NOW})
    sm.add_response("restore_secret", {"ARN": STRIPE_ARN}, {"SecretId": name})
    sm.add_response("get_secret_value", {"SecretString": "old"})
    sm.add_response(
        "put_secret_value", {"ARN": STRIPE_ARN}, {"SecretId": name, "SecretString": VALUE}
    )
    current_secrets = DESCRIBED["containerDefinitions"][0]["secrets"]
    expect_register(
        aws, secrets_with(current_secrets, "STRIPE_KEY", STRIPE_ARN), "secrets set STRIPE_KEY"
    )
    editor = secrets_of(aws)
    assert editor.set("STRIPE_KEY", VALUE, editor.current()) == {"web": NEW}
    aws.verify()


@pytest.mark.parametrize(
    "name, problem",
    [
        ("MYAPP_DATABASE_PASSWORD", "managed by hakobu"),
        ("RAILS_MASTER_KEY", "managed by hakobu"),
        ("DATABASE_HOST", "plain environment variable"),
    ],
)
def test_names_the_task_already_uses_are_refused_before_any_write(
    aws: StubbedAws, name: str, problem: str
) -> None:
    expect_current(aws)
    aws.stub("secretsmanager")  # nothing expected: a write would fail the Stubber
    editor = secrets_of(aws)
    with pytest.raises(InvalidArgument, match=problem):
        editor.check_settable(name, editor.current())
    aws.verify()


def test_unset_registers_a_revision_without_the_reference(aws: StubbedAws) -> None:
    described = copy.deepcopy(DESCRIBED)
    described["containerDefinitions"][0]["secrets"].append(
        {"name": "STRIPE_KEY", "valueFrom": STRIPE_ARN}
    )
    expect_current(aws, described)
    aws.stub("secretsmanager").add_response("describe_secret", {"ARN": STRIPE_ARN})
    expect_register(
        aws, DESCRIBED["containerDefinitions"][0]["secrets"], "secrets unset STRIPE_KEY"
    )
    aws.stub("secretsmanager").add_response(
        "delete_secret",
        {"ARN": STRIPE_ARN, "DeletionDate": NOW},
        {"SecretId": "rails-app-app-STRIPE_KEY"},  # no ForceDeleteWithoutRecovery
    )
    editor = secrets_of(aws)
    assert editor.remove_reference("STRIPE_KEY", editor.current()) == {"web": NEW}
    assert editor.schedule_deletion("STRIPE_KEY") == NOW
    aws.verify()


def test_unset_of_an_unknown_secret_says_so(aws: StubbedAws) -> None:
    expect_current(aws)
    not_found(aws, "describe_secret", {"SecretId": "rails-app-app-NOPE"})
    editor = secrets_of(aws)
    with pytest.raises(HakobuError, match="no app secret NOPE"):
        editor.remove_reference("NOPE", editor.current())


def test_unset_refuses_a_managed_secret(aws: StubbedAws) -> None:
    expect_current(aws)
    editor = secrets_of(aws)
    with pytest.raises(InvalidArgument, match="not an app secret"):
        editor.remove_reference("RAILS_MASTER_KEY", editor.current())


def test_list_masks_nothing_because_it_never_reads_a_value(aws: StubbedAws) -> None:
    described = copy.deepcopy(DESCRIBED)
    described["containerDefinitions"][0]["secrets"].append(
        {"name": "GONE", "valueFrom": f"{SECRET_ARN}rails-app-app-GONE-XyZaBc"}
    )
    expect_current(aws, described)
    sm = aws.stub("secretsmanager")
    sm.add_response("describe_secret", {"ARN": DB_ARN, "LastChangedDate": NOW})
    not_found(aws, "describe_secret", {"SecretId": "rails-app-rails-master-key"})
    listed = [
        {"Name": "rails-app-app-STRIPE_KEY", "ARN": STRIPE_ARN, "LastChangedDate": NOW},
        # A case-insensitive prefix match, or another app named "rails-app-app":
        {"Name": "Rails-App-App-X", "ARN": f"{SECRET_ARN}Rails-App-App-X-AbCdEf"},
        {
            "Name": "rails-app-app-db-password",
            "ARN": f"{SECRET_ARN}rails-app-app-db-password-AbCdEf",
        },
    ]
    sm.add_response(
        "list_secrets",
        {"SecretList": listed},
        {"Filters": [{"Key": "name", "Values": ["rails-app-app-"]}]},
    )
    editor = secrets_of(aws)
    entries = [e.as_json() for e in editor.entries(editor.current())]
    aws.verify()  # describe_secret and list_secrets only: no get_secret_value
    assert [(e["name"], e["kind"], e["injected"], e["exists"]) for e in entries] == [
        ("MYAPP_DATABASE_PASSWORD", "managed", True, True),
        ("RAILS_MASTER_KEY", "managed", True, False),
        ("GONE", "app", True, False),
        ("STRIPE_KEY", "app", False, True),
    ]
    assert entries[0]["last_changed"] == "2026-11-29T12:00:00+00:00"
    assert MASK == "••••"


def _db(status: str, pending: dict[str, str] | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {"DBInstanceIdentifier": "rails-app-db", "DBInstanceStatus": status}
    if pending is not None:
        instance["PendingModifiedValues"] = pending
    return {"DBInstances": [instance]}


def expect_rotation_start(aws: StubbedAws) -> None:
    rds, sm = aws.stub("rds"), aws.stub("secretsmanager")
    rds.add_response(
        "describe_db_instances", _db("available"), {"DBInstanceIdentifier": "rails-app-db"}
    )
    sm.add_response(
        "get_random_password", {"RandomPassword": "N3wPassw0rd"}, random_password_request()
    )
    sm.add_response(
        "put_secret_value",
        {"ARN": DB_ARN, "VersionId": V2, "VersionStages": ["AWSPENDING"]},
        {
            "SecretId": "rails-app-db-password",
            "SecretString": "N3wPassw0rd",
            "VersionStages": ["AWSPENDING"],
        },
    )


def test_rotation_stores_pending_then_changes_rds_then_promotes(aws: StubbedAws) -> None:
    calls = Calls(aws)
    calls.watch("rds", "secretsmanager")
    expect_rotation_start(aws)
    rds, sm = aws.stub("rds"), aws.stub("secretsmanager")
    rds.add_response(
        "modify_db_instance",
        {"DBInstance": _db("available", {"MasterUserPassword": "****"})["DBInstances"][0]},
        master_password_request("rails-app-db", "N3wPassw0rd"),
    )
    rds.add_response(
        "describe_db_instances", _db("resetting-master-credentials", {"MasterUserPassword": "****"})
    )
    rds.add_response("describe_db_instances", _db("available", {}))
    sm.add_response(
        "describe_secret", {"VersionIdsToStages": {V1: ["AWSCURRENT"], V2: ["AWSPENDING"]}}
    )
    sm.add_response(
        "update_secret_version_stage",
        {},
        {
            "SecretId": "rails-app-db-password",
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": V2,
            "RemoveFromVersionId": V1,
        },
    )
    sm.add_response(
        "update_secret_version_stage",
        {},
        {
            "SecretId": "rails-app-db-password",
            "VersionStage": "AWSPENDING",
            "RemoveFromVersionId": V2,
        },
    )
    editor = secrets_of(aws)
    editor.rotate_db_password()
    aws.verify()
    assert calls.names == [
        "DescribeDBInstances",
        "GetRandomPassword",
        "PutSecretValue",  # stored before RDS gets it: never a password that exists nowhere
        "ModifyDBInstance",
        "DescribeDBInstances",  # waits until RDS applied it...
        "DescribeDBInstances",
        "DescribeSecret",
        "UpdateSecretVersionStage",  # ...before tasks are given it (AWSCURRENT)
        "UpdateSecretVersionStage",
    ]
    assert "N3wPassw0rd" not in "\n".join(editor.events.lines)  # type: ignore[attr-defined]


def test_a_refused_rds_change_leaves_the_current_password_alone(aws: StubbedAws) -> None:
    expect_rotation_start(aws)
    aws.stub("rds").add_client_error(
        "modify_db_instance", "InvalidDBInstanceState", "Instance is not available", 400
    )
    aws.stub("secretsmanager").add_response(
        "update_secret_version_stage",
        {},
        {
            "SecretId": "rails-app-db-password",
            "VersionStage": "AWSPENDING",
            "RemoveFromVersionId": V2,
        },
    )
    with pytest.raises(HakobuError, match="nothing was changed") as caught:
        secrets_of(aws).rotate_db_password()
    aws.verify()  # no AWSCURRENT move
    assert "N3wPassw0rd" not in str(caught.value)


def test_rotation_refuses_a_database_that_is_not_available(aws: StubbedAws) -> None:
    aws.stub("rds").add_response("describe_db_instances", _db("modifying"))
    aws.stub("secretsmanager")
    with pytest.raises(HakobuError, match="modifying, not available"):
        secrets_of(aws).rotate_db_password()
    aws.verify()


class SandboxAws(StubbedAws):
    """The sandbox without a container engine: nothing runs, so nothing is followed."""

    sandbox = True
    runs_tasks = False


def test_roll_out_in_the_sandbox_updates_the_service_and_says_it_is_not_followed() -> None:
    aws = SandboxAws()
    primary = {"service": {"deployments": [{"id": "ecs-svc/2", "status": "PRIMARY"}]}}
    aws.stub("ecs").add_response(
        "update_service", primary, {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": NEW}
    )
    result = secrets_of(aws).roll_out({"web": NEW})
    aws.verify()
    assert (result.rollout, result.notes) == (None, [SANDBOX_ROLLOUT_NOTE])


# --- the restore step of `hakobu up` --------------------------------------------------------


class ProvisionAws(StubbedAws):
    variables: dict[str, str] = {}  # noqa: RUF012
    masked: tuple[str, ...] = ()
    stopped = None  # Target.stopped: no emulator to watch

    def environment(self) -> dict[str, str]:
        return {}


def test_up_restores_a_managed_secret_scheduled_for_deletion(tmp_path: Path) -> None:
    env = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    aws = ProvisionAws()
    sm = aws.stub("secretsmanager")
    sm.add_response("describe_secret", {"ARN": DB_ARN}, {"SecretId": "rails-app-db-password"})
    sm.add_response(
        "describe_secret",
        {"ARN": KEY_ARN, "DeletedDate": NOW},
        {"SecretId": "rails-app-rails-master-key"},
    )
    sm.add_response("restore_secret", {"ARN": KEY_ARN}, {"SecretId": "rails-app-rails-master-key"})
    provisioner = Provisioner(env, aws)  # type: ignore[arg-type]
    assert provisioner.restore_secrets() == ["rails-app-rails-master-key"]
    aws.verify()  # never delete_secret, let alone a forced one
    assert "Restored the secret rails-app-rails-master-key" in provisioner.notes[0]
    remembered = provisioner.workdir / RESTORED_FILE
    assert json.loads(remembered.read_text()) == ["rails-app-rails-master-key"]
    # The next run's document imports it, in case Terraform's state no longer has it.
    sm.add_response("describe_secret", {"ARN": DB_ARN})
    sm.add_response("describe_secret", {"ARN": KEY_ARN})
    assert provisioner._secret_imports() == [
        {"to": "aws_secretsmanager_secret.rails_master_key", "id": KEY_ARN}
    ]


def test_existing_secrets_are_never_imported(tmp_path: Path) -> None:
    # Adopting the DB password secret of a stack whose state is elsewhere would overwrite
    # the password its database uses.
    env = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    aws = ProvisionAws()
    sm = aws.stub("secretsmanager")
    sm.add_response("describe_secret", {"ARN": DB_ARN})
    not_found(aws, "describe_secret", {"SecretId": "rails-app-rails-master-key"})
    assert Provisioner(env, aws)._secret_imports() == []  # type: ignore[arg-type]
    aws.verify()


def test_a_secret_that_cannot_be_looked_at_leaves_the_error_to_terraform(tmp_path: Path) -> None:
    env = environment_of({"app": "rails-app", "framework": "container"}, root=tmp_path)
    aws = ProvisionAws()
    aws.stub("secretsmanager").add_client_error("describe_secret", "AccessDeniedException", "no")
    assert Provisioner(env, aws).restore_secrets() == []  # type: ignore[arg-type]


# --- the CLI's reading of NAME and the value ------------------------------------------------


class Stdin:
    def __init__(self, text: str, tty: bool) -> None:
        self.text, self.tty = text, tty

    def isatty(self) -> bool:
        return self.tty

    def read(self) -> str:
        return self.text


def test_the_value_is_read_from_piped_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    from hakobu.cli import secrets_commands as config_commands

    monkeypatch.setattr("sys.stdin", Stdin(VALUE + "\n", tty=False))
    assert config_commands._read_value("KEY") == VALUE


def test_a_typed_value_must_be_typed_twice_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from hakobu.cli import secrets_commands as config_commands

    monkeypatch.setattr("sys.stdin", Stdin("", tty=True))
    answers = iter([VALUE, VALUE + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(InvalidArgument, match="differ") as caught:
        config_commands._read_value("KEY")
    assert VALUE not in str(caught.value)
    answers = iter([VALUE, VALUE])
    assert config_commands._read_value("KEY") == VALUE


def test_env_comes_first_and_a_third_word_is_refused() -> None:
    from hakobu.cli.common import env_and as _env_and

    assert _env_and(["KEY"], "NAME") == (None, "KEY")
    assert _env_and(["staging", "KEY"], "NAME") == ("staging", "KEY")
    with pytest.raises(InvalidArgument, match="got 3 arguments") as caught:
        _env_and(["staging", "KEY", VALUE], "NAME")  # a value after NAME
    assert VALUE not in str(caught.value)
