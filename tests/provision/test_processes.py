"""Workers, schedules and the storage bucket in the rendered Terraform: exact values.

Render tests are pure (no AWS); `test_rendered_processes_are_valid_terraform` runs the
real `terraform init` + `validate` with the real provider, offline (as
tests/provision/test_terraform_validate.py does), about 15 s. checkov scans this config in
tests/provision/test_checkov.py ("processes").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hakobu.provision.blueprint import render
from tests.conftest import environment_of

RAW: dict[str, Any] = {
    "app": "shop",
    "framework": "rails",
    "processes": {
        "worker": {"command": ["bin/jobs"], "cpu": 512, "memory": 1024, "desired_count": 2},
        "mailer": {"command": ["bundle", "exec", "sidekiq"], "spot": True, "desired_count": 0},
    },
    "schedules": [
        {
            "name": "nightly-cleanup",
            "cron": "0 3 * * *",
            "timezone": "Asia/Tokyo",
            "command": ["bin/rails", "runner", "Cleanup.run"],
        },
        {"name": "hourly", "rate": "1 hour", "command": ["bin/rails", "runner", "Tick.run"]},
    ],
    "storage": {"bucket": True},
}


def rendered(raw: dict[str, Any] | None = None) -> dict[str, Any]:
    return render(environment_of(raw or RAW))["resource"]


def containers(resources: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return json.loads(resources["aws_ecs_task_definition"][key]["container_definitions"])


def test_each_process_is_a_service_without_load_balancer() -> None:
    services = rendered()["aws_ecs_service"]
    assert sorted(services) == ["app", "process_mailer", "process_worker"]
    worker = services["process_worker"]
    assert worker["name"] == "shop-worker"
    assert worker["cluster"] == "${aws_ecs_cluster.main.id}"
    assert worker["task_definition"] == "${aws_ecs_task_definition.process_worker.arn}"
    assert worker["desired_count"] == 2
    assert worker["launch_type"] == "FARGATE"
    assert worker["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert worker["enable_execute_command"] is True
    assert "load_balancer" not in worker and "health_check_grace_period_seconds" not in worker
    assert worker["network_configuration"] == {
        "subnets": ["${aws_subnet.private_a.id}", "${aws_subnet.private_c.id}"],
        "security_groups": ["${aws_security_group.ecs.id}"],
        "assign_public_ip": False,
    }
    assert worker["lifecycle"] == {"ignore_changes": ["task_definition"]}


def test_a_spot_worker_gets_the_spot_provider_even_when_web_is_not_on_spot() -> None:
    resources = rendered()
    mailer = resources["aws_ecs_service"]["process_mailer"]
    assert mailer["capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE_SPOT", "weight": 1}
    ]
    assert "launch_type" not in mailer and mailer["desired_count"] == 0
    assert mailer["depends_on"] == ["aws_ecs_cluster_capacity_providers.main"]
    assert resources["aws_ecs_cluster_capacity_providers"]["main"]["capacity_providers"] == [
        "FARGATE",
        "FARGATE_SPOT",
    ]
    # web on Spot too: one declaration of the providers, from web's part.
    both = rendered({**RAW, "service": {"spot": True}})
    assert list(both["aws_ecs_cluster_capacity_providers"]) == ["main"]


def test_a_worker_runs_webs_image_environment_and_secrets_with_its_own_command_and_size() -> None:
    resources = rendered()
    [web] = containers(resources, "app")
    [worker] = containers(resources, "process_worker")
    definition = resources["aws_ecs_task_definition"]["process_worker"]
    assert definition["family"] == "shop-worker"
    assert (definition["cpu"], definition["memory"]) == ("512", "1024")
    assert worker["command"] == ["bin/jobs"] and "command" not in web
    assert worker["memory"] == 1024 and "portMappings" not in worker
    assert worker["logConfiguration"]["options"]["awslogs-stream-prefix"] == "worker"
    assert web["logConfiguration"]["options"]["awslogs-stream-prefix"] == "ecs"
    for same in ("name", "image", "environment", "secrets"):
        assert worker[same] == web[same], same
    for role in ("execution_role_arn", "task_role_arn"):
        assert definition[role] == resources["aws_ecs_task_definition"]["app"][role]


def test_every_process_and_the_schedules_read_secrets_as_the_one_execution_role() -> None:
    """The managed secrets are in every container Terraform renders; the app secrets (added
    to revisions by `hakobu secrets set`, never to Terraform) can be read by every process
    because every task definition names the one execution role that may read `shop-app-*`."""
    resources = rendered()
    definitions = resources["aws_ecs_task_definition"]
    assert sorted(definitions) == ["app", "process_mailer", "process_worker", "schedules"]
    [web] = containers(resources, "app")
    for key, definition in definitions.items():
        assert definition["execution_role_arn"] == "${aws_iam_role.execution.arn}", key
        [container] = containers(resources, key)
        assert container["secrets"] == web["secrets"], key
    policy = json.loads(resources["aws_iam_role_policy"]["execution_secrets"]["policy"])
    [app_secrets] = [s for s in policy["Statement"] if s["Sid"] == "AppSecrets"]
    assert app_secrets["Action"] == "secretsmanager:GetSecretValue"
    assert app_secrets["Resource"].endswith(":secret:shop-app-*")


def test_a_shells_dollar_brace_in_a_command_reaches_the_task_not_terraforms_templates() -> None:
    """`sh -c '... ${VAR} ...'` is the shell's: unescaped, Terraform's plan fails on it
    ("Missing expression") or substitutes it. Doubled, Terraform registers it as written."""
    shell = ["/bin/sh", "-c", "echo ${#API_KEY} %{x}"]
    raw = {
        **RAW,
        "processes": {"web": {"command": shell}, "worker": {"command": shell}},
        "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": shell}],
    }
    resources = rendered(raw)
    escaped = ["/bin/sh", "-c", "echo $${#API_KEY} %%{x}"]
    assert containers(resources, "app")[0]["command"] == escaped
    assert containers(resources, "process_worker")[0]["command"] == escaped
    target = resources["aws_scheduler_schedule"]["schedule_nightly"]["target"]
    assert json.loads(target["input"])["containerOverrides"][0]["command"] == escaped


def test_webs_command_from_processes_web_replaces_the_image_cmd() -> None:
    raw = {**RAW, "processes": {"web": {"command": ["bin/thrust", "bin/rails", "server"]}}}
    [web] = containers(rendered(raw), "app")
    assert web["command"] == ["bin/thrust", "bin/rails", "server"]


def test_schedules_run_the_newest_revision_of_the_schedule_family() -> None:
    resources = rendered()
    schedules = resources["aws_scheduler_schedule"]
    assert sorted(schedules) == ["schedule_hourly", "schedule_nightly_cleanup"]
    nightly = schedules["schedule_nightly_cleanup"]
    assert nightly["name"] == "shop-nightly-cleanup"
    assert nightly["schedule_expression"] == "cron(0 3 * * ? *)"
    assert nightly["schedule_expression_timezone"] == "Asia/Tokyo"
    assert schedules["schedule_hourly"]["schedule_expression"] == "rate(1 hour)"
    assert schedules["schedule_hourly"]["schedule_expression_timezone"] == "UTC"
    target = nightly["target"]
    assert target["arn"] == "${aws_ecs_cluster.main.arn}"
    assert target["role_arn"] == "${aws_iam_role.scheduler.arn}"
    assert json.loads(target["input"]) == {
        "containerOverrides": [{"name": "shop", "command": ["bin/rails", "runner", "Cleanup.run"]}]
    }
    ecs = target["ecs_parameters"]
    # No revision: RunTask takes the family's newest, which only deploy and rollback add.
    assert ecs["task_definition_arn"] == (
        "${aws_ecs_task_definition.schedules.arn_without_revision}"
    )
    assert ecs["group"] == "schedule:nightly-cleanup"
    assert ecs["launch_type"] == "FARGATE" and ecs["task_count"] == 1
    assert target["retry_policy"] == {
        "maximum_event_age_in_seconds": 3600,
        "maximum_retry_attempts": 3,
    }
    assert target["dead_letter_config"] == {"arn": "${aws_sqs_queue.schedules_dlq.arn}"}
    queue = resources["aws_sqs_queue"]["schedules_dlq"]
    assert queue == {
        "name": "shop-schedules-dlq",
        "message_retention_seconds": 1209600,
        "sqs_managed_sse_enabled": True,
    }
    family = resources["aws_ecs_task_definition"]["schedules"]
    assert family["family"] == "shop-schedules"
    [container] = json.loads(family["container_definitions"])
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "ecs"


def test_the_scheduler_role_may_run_only_the_schedule_family_in_this_cluster() -> None:
    resources = rendered()
    role = resources["aws_iam_role"]["scheduler"]
    assert role["name"] == "shop-scheduler-role"
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "${data.aws_arn.db_password_secret.account}"}
            },
        }
    ]
    policy = resources["aws_iam_role_policy"]["scheduler"]
    assert policy["role"] == "${aws_iam_role.scheduler.id}"
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    family = "${aws_ecs_task_definition.schedules.arn_without_revision}"
    assert statements["RunScheduledTask"]["Action"] == "ecs:RunTask"
    assert statements["RunScheduledTask"]["Resource"] == [family, f"{family}:*"]
    assert statements["RunScheduledTask"]["Condition"] == {
        "ArnEquals": {"ecs:cluster": "${aws_ecs_cluster.main.arn}"}
    }
    assert statements["PassTaskRoles"]["Resource"] == [
        "${aws_iam_role.execution.arn}",
        "${aws_iam_role.task.arn}",
    ]
    assert statements["RecordFailures"] == {
        "Sid": "RecordFailures",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": "${aws_sqs_queue.schedules_dlq.arn}",
    }


def test_the_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    resources = rendered()
    assert resources["aws_s3_bucket"]["storage"] == {
        "bucket": "shop-${data.aws_arn.db_password_secret.account}-ap-northeast-1"
    }
    assert "force_destroy" not in resources["aws_s3_bucket"]["storage"]
    block = resources["aws_s3_bucket_public_access_block"]["storage"]
    assert [block[k] for k in sorted(block) if k != "bucket"] == [True] * 4
    assert resources["aws_s3_bucket_ownership_controls"]["storage"]["rule"] == {
        "object_ownership": "BucketOwnerEnforced"
    }
    encryption = resources["aws_s3_bucket_server_side_encryption_configuration"]["storage"]
    assert encryption["rule"] == [
        {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    ]
    versioning = resources["aws_s3_bucket_versioning"]["storage"]
    assert versioning["versioning_configuration"] == {"status": "Enabled"}
    [statement] = json.loads(resources["aws_s3_bucket_policy"]["storage"]["policy"])["Statement"]
    assert statement == {
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["${aws_s3_bucket.storage.arn}", "${aws_s3_bucket.storage.arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_the_task_role_may_use_exactly_that_bucket_and_the_app_is_told_its_name() -> None:
    resources = rendered()
    policy = resources["aws_iam_role_policy"]["task_storage"]
    assert policy["role"] == "${aws_iam_role.task.id}"
    statements = json.loads(policy["policy"])["Statement"]
    assert {s["Sid"]: s["Resource"] for s in statements} == {
        "ListBucket": "${aws_s3_bucket.storage.arn}",
        "Objects": "${aws_s3_bucket.storage.arn}/*",
    }
    assert all(s["Effect"] == "Allow" for s in statements)
    assert "s3:*" not in json.dumps(statements)
    for key in ("app", "process_worker", "schedules"):
        [container] = containers(resources, key)
        environment = {e["name"]: e["value"] for e in container["environment"]}
        assert environment["STORAGE_BUCKET"] == "${aws_s3_bucket.storage.bucket}", key
        assert environment["STORAGE_REGION"] == "ap-northeast-1", key


def test_a_named_bucket_keeps_its_name() -> None:
    raw = {**RAW, "storage": {"bucket": True, "name": "shop-uploads-example"}}
    assert rendered(raw)["aws_s3_bucket"]["storage"] == {"bucket": "shop-uploads-example"}


def test_without_the_sections_nothing_of_them_is_rendered() -> None:
    resources = rendered({"app": "shop", "framework": "rails"})
    assert list(resources["aws_ecs_service"]) == ["app"]
    for kind in ("aws_scheduler_schedule", "aws_sqs_queue", "aws_s3_bucket"):
        assert kind not in resources
    [web] = containers(resources, "app")
    assert not {"STORAGE_BUCKET", "STORAGE_REGION"} & {e["name"] for e in web["environment"]}


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("terraform") is None, reason="the terraform CLI is not on PATH")
def test_rendered_processes_are_valid_terraform(tmp_path: Path) -> None:
    from tests.provision.test_terraform_validate import errors, initialized

    terraform = initialized(tmp_path / "terraform", render(environment_of(RAW)))
    assert errors(terraform.validate()) == []
