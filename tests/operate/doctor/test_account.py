"""`hakobu doctor`'s AWS account checks: rejected credentials (every AWS check skipped),
the identity shown as the guide shows it, no credentials at all (exit code 1, as a separate
process, with the text tree), a region other than the aws CLI's default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hakobu.core.config import Environment
from hakobu.operate.doctor import default_checks, exit_code, run_checks
from tests.conftest import Run, make_rails_app
from tests.support.doctor_aws import ACCOUNT, run_named, signed_in
from tests.support.stubbed_aws import StubbedAws

# --- credentials and what depends on them -------------------------------------------------


def test_rejected_credentials_are_a_problem_and_every_aws_check_is_skipped(
    env: Environment,
) -> None:
    aws = StubbedAws()
    aws.stub("sts").add_client_error(
        "get_caller_identity",
        service_error_code="InvalidClientTokenId",
        service_message="The security token included in the request is invalid.",
        http_status_code=403,
    )

    results = run_named(
        env, aws, *(c.name for c in default_checks(env) if c.group != "local machine")
    )

    assert results["credentials"].status == "problem"
    assert results["credentials"].message == (
        "AWS rejected the credentials: InvalidClientTokenId: The security token included in "
        "the request is invalid."
    )
    aws_checks = [r for r in results.values() if r.group not in ("local machine", "AWS account")]
    assert aws_checks and all(r.status == "skipped" for r in aws_checks)
    assert aws_checks[0].message == (
        "needs AWS account › credentials: AWS rejected the credentials: InvalidClientTokenId: "
        "The security token included in the request is invalid."
    )
    assert exit_code(results.values()) == 1


def test_the_identity_is_shown_as_the_guide_shows_it(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)

    credentials = run_named(env, aws)["credentials"]

    assert credentials.message == f"account {ACCOUNT} as arn:aws:iam::{ACCOUNT}:user/myname"
    # The guide's step 1 output, byte for byte.
    assert "\n".join(credentials.details) == (
        "{\n"
        '    "UserId": "HAKOBU-TEST-USER-ID",\n'
        '    "Account": "123456789012",\n'
        '    "Arn": "arn:aws:iam::123456789012:user/myname"\n'
        "}"
    )


def _no_credentials(tmp_path: Path) -> dict[str, str]:
    """An environment where botocore finds no credentials and calls nothing: no profile
    files, no key variables, no instance metadata; any request would go to a closed
    loopback port."""
    blank = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **blank,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }


def test_without_credentials_doctor_exits_1_and_skips_everything_in_aws(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    result = _doctor(root, "--json", env=_no_credentials(tmp_path))

    assert result.code == 1, result.output
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["credentials"]["status"] == "problem"
    assert checks["credentials"]["message"] == "no AWS credentials were found"
    assert checks["credentials"]["fix"].startswith("run `aws configure`")
    skipped = [c for c in report["checks"] if c["group"] not in ("local machine", "AWS account")]
    assert len(skipped) == 12
    assert {c["status"] for c in skipped} == {"skipped"}
    assert {c["message"] for c in skipped} == {
        "needs AWS account › credentials: no AWS credentials were found"
    }
    assert report["healthy"] is False and report["counts"]["skipped"] == 12


def test_text_output_is_a_tree_of_groups_with_the_fix(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    result = _doctor(root, env=_no_credentials(tmp_path))

    assert result.code == 1, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0] == "hakobu doctor: rails-app (production, ap-northeast-1)"
    assert "AWS account" in lines
    assert "├── [PROBLEM] credentials: no AWS credentials were found" in lines
    assert any(line.startswith("│   └── fix: run `aws configure`") for line in lines)
    assert "├── [SKIPPED] rails-app-db-password: needs AWS account › credentials: no AWS" in (
        result.stdout
    )
    assert "Traceback" not in result.stderr


def _doctor(root: Path, *args: str, env: dict[str, str]) -> Run:
    """`hakobu doctor` as a separate process (through the module, so this works before
    the command is registered in hakobu.cli)."""
    code = "import hakobu.cli.doctor_commands; from hakobu.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "doctor", *args],
        cwd=root,
        env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def test_a_region_other_than_the_aws_clis_default_is_a_warning(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    region = next(c for c in default_checks(env) if c.name == "region")

    result = run_checks(env, StubbedAws(), checks=[region])[0]

    assert result.status == "warning"
    assert result.message == (
        "hakobu uses ap-northeast-1 (hakobu.toml), but the aws CLI's default region is "
        "us-east-1: the guide's `aws` commands without --region look in us-east-1"
    )
    assert result.fix is not None and result.fix.startswith(
        "`aws configure set region ap-northeast-1`"
    )
