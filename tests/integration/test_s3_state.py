"""`state = "s3"` against the sandbox: hakobu creates the state bucket on first use
(versioned, encrypted, public access blocked), Terraform 1.11's S3 backend keeps the state
there with S3 native locking, and a local state left from `state = "local"` is moved into it.

Each test runs hakobu as a separate process against its own emulator (moto server) with the
real Terraform CLI, and checks the bucket through boto3. No test applies the whole stack
(about 100 s): state is written by applying one resource of the rendered document, the log
group, with the same backend block and init settings hakobu uses, so the next `hakobu plan`
proves it reads that state from S3 by planning 44 resources instead of 45.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment, load_project
from hakobu.core.target import Target
from hakobu.core.workspace import environment_dir
from hakobu.provision import blueprint
from hakobu.provision.pipeline import Provisioner
from hakobu.provision.state import (
    LOCAL_STATE,
    MOVED_STATE,
    backend,
    ensure_state_bucket,
    init_settings,
)
from hakobu.provision.terraform import Terraform
from hakobu.sandbox import emulator as sandbox
from tests.conftest import Run, make_rails_app, run_hakobu

pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
BUCKET = f"hakobu-state-123456789012-{REGION}"  # moto's account id
KEY = "hakobu/rails-app/production/terraform.tfstate"
CREATED = f"Created the state bucket s3://{BUCKET}"
ALL_PLANNED = "Plan: 45 to add, 0 to change, 0 to destroy."
LOG_GROUP_IN_STATE = "Plan: 44 to add, 0 to change, 0 to destroy."


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Path]:
    """A Rails app; its sandbox (if any test step started one) is stopped afterwards."""
    root = make_rails_app(tmp_path / "rails-app")
    yield root
    sandbox.stop(root)  # by the pid recorded in .hakobu/sandbox.json


def use_s3_state(root: Path) -> None:
    config = root / "hakobu.toml"
    text = config.read_text()
    assert '\nstate = "local"' in text
    config.write_text(text.replace('\nstate = "local"', '\nstate = "s3"', 1))


def environment(root: Path) -> Environment:
    return load_project(root / "hakobu.toml").environment(None)


def sandbox_target(root: Path) -> Target:
    """What `hakobu --sandbox` uses: the emulator for `root`, started if need be."""
    server, _ = sandbox.start(root)
    return Target(
        region=REGION,
        endpoint_url=server.endpoint,
        variables=sandbox.client_environment(server, REGION),
        masked=sandbox.MASKED_VARIABLES,
    )


def s3(root: Path) -> Any:
    server = sandbox.running(root)
    assert server is not None, "the sandbox emulator is not running"
    return sandbox.client(server, REGION, "s3")


def keys(root: Path) -> list[str]:
    return [o["Key"] for o in s3(root).list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def plan(root: Path) -> Run:
    result = run_hakobu("plan", "--sandbox", cwd=root, timeout=180)
    assert result.code == 0, result.output
    return result


def apply_log_group(root: Path, workdir: Path, bucket: str | None) -> Terraform:
    """Apply only the log group of the rendered document, with hakobu's backend for
    `bucket` (None: local state) and the same init settings and environment as hakobu."""
    env = environment(root)
    target = sandbox_target(root)
    document = blueprint.render(env, backend(env, bucket))
    document["resource"] = {
        "aws_cloudwatch_log_group": {"app": document["resource"]["aws_cloudwatch_log_group"]["app"]}
    }
    for part in ("output", "ephemeral", "data"):
        document.pop(part, None)
    terraform = Terraform(workdir=workdir, environment=target.environment(), unset=target.masked)
    terraform.write_document(document)
    terraform.init(init_settings(env, target) if bucket else None)
    terraform.plan()
    terraform.apply()
    return terraform


def test_first_plan_creates_a_versioned_encrypted_private_bucket(app: Path) -> None:
    use_s3_state(app)
    first = plan(app)
    assert ALL_PLANNED in first.output
    assert f"{CREATED} (versioned, encrypted, public access blocked)." in first.output

    client = s3(app)
    client.head_bucket(Bucket=BUCKET)
    assert client.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert client.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rules = client.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = client.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }

    workdir = environment_dir(environment(app), sandbox=True)
    assert not (workdir / LOCAL_STATE).exists(), "the state went to a local file"
    # Planning took S3's native lock (a .tflock object) and released it.
    assert keys(app) == []
    # The rendered backend is the one a real run gets; sandbox-only settings went to init.
    rendered = json.loads((workdir / "main.tf.json").read_text())["terraform"]["backend"]
    assert rendered == {
        "s3": {
            "bucket": BUCKET,
            "key": KEY,
            "region": REGION,
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    initialized = json.loads((workdir / ".terraform" / "terraform.tfstate").read_text())
    assert initialized["backend"]["type"] == "s3"
    assert initialized["backend"]["config"]["use_path_style"] is True

    second = plan(app)
    assert ALL_PLANNED in second.output
    assert "Created the state bucket" not in second.output


def test_apply_writes_the_state_to_s3_and_plan_reads_it_from_there(
    app: Path, tmp_path: Path
) -> None:
    use_s3_state(app)
    assert CREATED in plan(app).output

    # Another checkout (a teammate, CI) applies the log group into the same S3 state.
    elsewhere = tmp_path / "elsewhere"
    apply_log_group(app, elsewhere, BUCKET)
    assert not (elsewhere / LOCAL_STATE).exists()
    assert keys(app) == [KEY], "state missing, or the .tflock lock object was left behind"
    state = json.loads(s3(app).get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    assert [(r["type"], r["name"]) for r in state["resources"]] == [
        ("aws_cloudwatch_log_group", "app")
    ]

    # hakobu's own workdir sees the log group as created: it read the state from S3.
    again = plan(app)
    assert LOG_GROUP_IN_STATE in again.output
    assert "Created the state bucket" not in again.output
    assert not (environment_dir(environment(app), sandbox=True) / LOCAL_STATE).exists()


def test_switching_to_s3_moves_the_local_state_into_the_bucket(app: Path) -> None:
    # An environment applied with state = "local" (here: its log group) ...
    workdir = environment_dir(environment(app), sandbox=True)
    apply_log_group(app, workdir, bucket=None)
    local = json.loads((workdir / LOCAL_STATE).read_text())
    assert [r["name"] for r in local["resources"]] == ["app"]

    # ... then switched to S3: its state moves, instead of a second, empty state beginning.
    use_s3_state(app)
    moved = plan(app)
    assert f"Moved the Terraform state to s3://{BUCKET}/{KEY}" in moved.output
    assert LOG_GROUP_IN_STATE in moved.output
    assert not (workdir / LOCAL_STATE).exists()
    assert (workdir / MOVED_STATE).is_file()
    assert keys(app) == [KEY]
    remote = json.loads(s3(app).get_object(Bucket=BUCKET, Key=KEY)["Body"].read())
    # Terraform's copy gets a new lineage; the resources are what must carry over.
    assert remote["resources"] == local["resources"]

    again = plan(app)
    assert "Moved the Terraform state" not in again.output
    assert LOG_GROUP_IN_STATE in again.output

    # A local state reappearing beside the S3 one: hakobu refuses to pick one.
    (workdir / MOVED_STATE).rename(workdir / LOCAL_STATE)
    both = run_hakobu("plan", "--sandbox", cwd=app, timeout=180)
    assert both.code == 1, both.output
    assert "Terraform state in two places" in both.output
    assert keys(app) == [KEY]


def test_state_bucket_names_an_existing_bucket_used_as_it_is(app: Path) -> None:
    target = sandbox_target(app)
    assert ensure_state_bucket(target, "team-state") is True
    assert ensure_state_bucket(target, "team-state") is False
    use_s3_state(app)
    config = app / "hakobu.toml"
    config.write_text(
        config.read_text().replace('state = "s3"', 'state = "s3"\nstate_bucket = "team-state"', 1)
    )
    provisioner = Provisioner(environment(app), target)
    provisioner.prepare()  # what every command does before planning: render and init
    assert provisioner.notes == []
    rendered = json.loads((provisioner.workdir / "main.tf.json").read_text())
    assert rendered["terraform"]["backend"]["s3"]["bucket"] == "team-state"
    assert [b["Name"] for b in s3(app).list_buckets()["Buckets"]] == ["team-state"]
    assert provisioner.outputs() == {}  # an S3 state nobody has applied yet
