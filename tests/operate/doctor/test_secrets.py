"""`hakobu doctor`'s secrets checks with botocore's Stubber: the master key compared
without being shown, a missing secret, a DB password secret without a value. The failures
the emulator can show are made on the shared sandbox stack in
tests/integration/test_doctor_sandbox.py."""

from __future__ import annotations

import hashlib
import json

import pytest

from hakobu.core.config import Environment
from hakobu.operate.doctor import default_checks, exit_code, run_checks
from tests.conftest import MASTER_KEY
from tests.support.doctor_aws import ACCOUNT, REGION, checks_named, run_named, signed_in
from tests.support.stubbed_aws import StubbedAws

# --- secrets: the master key is compared without being shown ----------------------------


def test_a_different_master_key_is_a_problem_and_nothing_of_either_key_is_shown(
    env: Environment,
) -> None:
    deployed = "0" * 32
    aws = StubbedAws()
    signed_in(aws)
    sm = aws.stub("secretsmanager")
    for name in ("rails-app-db-password", "rails-app-rails-master-key"):
        sm.add_response("describe_secret", {"ARN": f"arn:{name}", "Name": name}, {"SecretId": name})
    sm.add_response(
        "get_secret_value",
        {"Name": "rails-app-rails-master-key", "SecretString": deployed},
        {"SecretId": "rails-app-rails-master-key", "VersionStage": "AWSCURRENT"},
    )

    results = run_checks(env, aws, checks=checks_named(env, *_secret_checks(env)))

    key = {r.name: r for r in results}["master key"]
    assert key.status == "problem"
    assert key.message == (
        "rails-app-rails-master-key holds a different key than config/master.key: the app "
        "cannot decrypt config/credentials.yml.enc with it (compared by digest, neither shown)"
    )
    shown = json.dumps([r.as_json() for r in results])
    for value in (deployed, MASTER_KEY):
        digest = hashlib.sha256(value.encode()).hexdigest()
        assert value not in shown and digest[:8] not in shown
    assert exit_code(results) == 1


def _secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"


def _secret_checks(env: Environment) -> list[str]:
    return [c.name for c in default_checks(env) if c.group == "secrets"]


def test_the_master_key_from_the_environment_is_compared_when_there_is_no_file(
    env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    (env.root / "config" / "master.key").unlink()
    monkeypatch.setenv("RAILS_MASTER_KEY", MASTER_KEY)
    aws = StubbedAws()
    signed_in(aws)
    sm = aws.stub("secretsmanager")
    for name in ("rails-app-db-password", "rails-app-rails-master-key"):
        sm.add_response("describe_secret", {"ARN": _secret_arn(name), "Name": name}, None)
    sm.add_response("get_secret_value", {"SecretString": MASTER_KEY + "\n"}, None)

    key = run_named(env, aws, *_secret_checks(env))["master key"]

    assert (key.status, key.message) == (
        "ok",
        "rails-app-rails-master-key holds the same key as $RAILS_MASTER_KEY (compared by "
        "digest, not shown)",
    )


def test_a_missing_secret_is_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    aws.stub("secretsmanager").add_client_error(
        "describe_secret",
        service_error_code="ResourceNotFoundException",
        service_message="Secrets Manager can't find the specified secret.",
        http_status_code=400,
        expected_params={"SecretId": "rails-app-db-password"},
    )
    aws.stub("secretsmanager").add_response(
        "describe_secret",
        {"ARN": _secret_arn("rails-app-rails-master-key"), "Name": "rails-app-rails-master-key"},
        {"SecretId": "rails-app-rails-master-key"},
    )

    results = run_named(env, aws, "rails-app-db-password", "db password")

    assert results["rails-app-db-password"].status == "problem"
    assert results["rails-app-db-password"].message == (
        "the DB password secret does not exist: tasks cannot start without it"
    )
    assert results["db password"].message.startswith(
        "needs secrets › rails-app-db-password: the DB password secret does not exist"
    )


def test_a_db_password_secret_without_a_value_is_a_problem(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    sm = aws.stub("secretsmanager")
    for name in ("rails-app-db-password", "rails-app-rails-master-key"):
        sm.add_response("describe_secret", {"ARN": _secret_arn(name), "Name": name}, None)
    sm.add_client_error(
        "get_secret_value",
        service_error_code="ResourceNotFoundException",
        service_message="Secrets Manager can't find the specified secret value for staging "
        "label: AWSCURRENT",
        http_status_code=400,
        expected_params={"SecretId": "rails-app-db-password", "VersionStage": "AWSCURRENT"},
    )

    results = run_named(env, aws, "rails-app-db-password", "db password")

    password = results["db password"]
    assert (password.status, password.message) == (
        "problem",
        "rails-app-db-password has no value: tasks start without DATABASE_PASSWORD and "
        "cannot log in to MySQL",
    )
    assert password.fix is not None and password.fix.startswith("run `hakobu secrets rotate-db`")
    assert exit_code(results.values()) == 1
