"""`hakobu iam policy` for an app with workers, schedules and storage: deploy and operate
may move and scale every worker's service, register revisions in every family a deploy or
rollback touches (web's, each worker's, the schedules'), run the scheduled task, and read
the schedules; provision may create and delete exactly the schedules, their dead-letter
queue and role, and the storage bucket with its settings (and empty it for
`destroy --delete-data`); an app without them keeps exactly the policy it had. (The
deploy/operate ARNs are matched against the sandbox stack's real ones in
tests/integration/processes_stack.py.)"""

from __future__ import annotations

import json
from typing import Any

from parliament import analyze_policy_string

from hakobu.provision.iam_policies import Scope, policy
from tests.conftest import environment_of

SCOPE = Scope("aws", "ap-northeast-1", "123456789012")
ECS = "arn:aws:ecs:ap-northeast-1:123456789012"
RAW = {
    "app": "rails-app",
    "framework": "rails",
    "processes": {"worker": {"command": ["bin/jobs"]}, "mailer": {"command": ["bin/mail"]}},
    "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}],
}
WITH_STORAGE = {**RAW, "storage": {"bucket": True}}
BUCKET = "arn:aws:s3:::rails-app-123456789012-ap-northeast-1"
ROLE_WRITES = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
]
NEW_SIDS = {
    "Schedules",
    "SchedulesDeadLetterQueue",
    "SchedulerRole",
    "PassSchedulerRoleToScheduler",
    "StorageBucket",
    "EmptyStorageBucketOnDeleteData",
}


def _statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    [found] = [s for s in document["Statement"] if s["Sid"] == sid]
    return found


def test_deploy_covers_every_service_and_family() -> None:
    document = policy(environment_of(RAW), "deploy", SCOPE)
    services = _statement(document, "DescribeAndUpdateService")["Resource"]
    assert services == [
        f"{ECS}:service/rails-app-cluster/rails-app-service",
        f"{ECS}:service/rails-app-cluster/rails-app-worker",
        f"{ECS}:service/rails-app-cluster/rails-app-mailer",
    ]
    families = [
        f"{ECS}:task-definition/rails-app:*",
        f"{ECS}:task-definition/rails-app-worker:*",
        f"{ECS}:task-definition/rails-app-mailer:*",
        f"{ECS}:task-definition/rails-app-schedules:*",
    ]
    for sid in ("RegisterRevisionsOfFamily", "TagNewRevisions", "RunOneOffTasksInCluster"):
        assert _statement(document, sid)["Resource"] == families, sid


def test_operate_scales_every_worker_and_reads_the_schedules() -> None:
    document = policy(environment_of(RAW), "operate", SCOPE)
    assert len(_statement(document, "DescribeAndScaleService")["Resource"]) == 3
    reads = _statement(document, "ReadSchedules")
    assert reads["Action"] == ["scheduler:GetSchedule"]
    assert reads["Resource"] == [
        "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/rails-app-nightly"
    ]
    role = _statement(document, "ReadSchedulerRole")  # doctor's scheduler role check
    assert role["Action"] == ["iam:GetRole", "iam:GetRolePolicy"]
    assert role["Resource"] == "arn:aws:iam::123456789012:role/rails-app-scheduler-role"
    # pause disables the schedules and resume enables them: UpdateSchedule passes the role.
    assert _statement(document, "PauseAndResumeSchedules") == {
        "Sid": "PauseAndResumeSchedules",
        "Effect": "Allow",
        "Action": ["scheduler:UpdateSchedule"],
        "Resource": [
            "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/rails-app-nightly"
        ],
    }
    assert _statement(document, "PassSchedulerRoleToScheduler") == {
        "Sid": "PassSchedulerRoleToScheduler",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": "arn:aws:iam::123456789012:role/rails-app-scheduler-role",
        "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
    }


def test_provision_creates_every_service_and_family_of_the_processes() -> None:
    document = policy(environment_of(RAW), "provision", SCOPE)
    resources = _statement(document, "ClusterServiceTaskDefinitions")["Resource"]
    assert resources == [
        f"{ECS}:cluster/rails-app-cluster",
        f"{ECS}:service/rails-app-cluster/rails-app-service",
        f"{ECS}:service/rails-app-cluster/rails-app-worker",
        f"{ECS}:service/rails-app-cluster/rails-app-mailer",
        f"{ECS}:task-definition/rails-app:*",
        f"{ECS}:task-definition/rails-app-worker:*",
        f"{ECS}:task-definition/rails-app-mailer:*",
        f"{ECS}:task-definition/rails-app-schedules:*",
    ]


def test_provision_manages_the_schedules_their_queue_and_role() -> None:
    document = policy(environment_of(RAW), "provision", SCOPE)
    assert _statement(document, "Schedules") == {
        "Sid": "Schedules",
        "Effect": "Allow",
        "Action": [
            "scheduler:CreateSchedule",
            "scheduler:DeleteSchedule",
            "scheduler:GetSchedule",
            "scheduler:UpdateSchedule",
        ],
        "Resource": (
            "arn:aws:scheduler:ap-northeast-1:123456789012:schedule/default/rails-app-nightly"
        ),
    }
    assert _statement(document, "SchedulesDeadLetterQueue") == {
        "Sid": "SchedulesDeadLetterQueue",
        "Effect": "Allow",
        "Action": [
            "sqs:CreateQueue",
            "sqs:DeleteQueue",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ListQueueTags",
            "sqs:SetQueueAttributes",
            "sqs:TagQueue",
            "sqs:UntagQueue",
        ],
        "Resource": "arn:aws:sqs:ap-northeast-1:123456789012:rails-app-schedules-dlq",
    }
    role = "arn:aws:iam::123456789012:role/rails-app-scheduler-role"
    assert _statement(document, "SchedulerRole") == {
        "Sid": "SchedulerRole",
        "Effect": "Allow",
        "Action": ROLE_WRITES,
        "Resource": role,
    }
    # Passed to Scheduler only (a schedule names it), never to ECS or anything else.
    assert _statement(document, "PassSchedulerRoleToScheduler") == {
        "Sid": "PassSchedulerRoleToScheduler",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": role,
        "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
    }
    assert not [s for s in document["Statement"] if s["Sid"].startswith("Storage")]


def test_provision_manages_the_storage_bucket_and_empties_it_on_delete_data() -> None:
    document = policy(environment_of(WITH_STORAGE), "provision", SCOPE)
    assert _statement(document, "StorageBucket") == {
        "Sid": "StorageBucket",
        "Effect": "Allow",
        "Action": [
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:DeleteBucketPolicy",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketLocation",
            "s3:GetBucketLogging",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPolicy",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketTagging",
            "s3:GetBucketVersioning",
            "s3:GetBucketWebsite",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:ListBucket",
            "s3:ListBucketVersions",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketTagging",
            "s3:PutBucketVersioning",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
        ],
        "Resource": BUCKET,
    }
    # Objects: deleted on `destroy --delete-data`, never read or written by provisioning.
    assert _statement(document, "EmptyStorageBucketOnDeleteData") == {
        "Sid": "EmptyStorageBucketOnDeleteData",
        "Effect": "Allow",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": f"{BUCKET}/*",
    }
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert not actions & {"s3:GetObject", "s3:PutObject", "s3:PutBucketCORS", "s3:PutBucketAcl"}


def test_provision_names_a_configured_bucket_and_no_other() -> None:
    raw = {"app": "rails-app", "framework": "rails"}
    env = environment_of({**raw, "storage": {"bucket": True, "name": "shop-uploads"}})
    document = policy(env, "provision", SCOPE)
    assert _statement(document, "StorageBucket")["Resource"] == "arn:aws:s3:::shop-uploads"
    assert _statement(document, "EmptyStorageBucketOnDeleteData")["Resource"] == (
        "arn:aws:s3:::shop-uploads/*"
    )
    assert not [s for s in document["Statement"] if s["Sid"].startswith("Schedule")]


def test_parliament_finds_the_new_statements_arns_well_formed() -> None:
    """Each action's resource is of the type AWS authorizes it on (RESOURCE_MISMATCH), in
    the statements for schedules and storage."""
    document = policy(environment_of(WITH_STORAGE), "provision", SCOPE)
    statements = [s for s in document["Statement"] if s["Sid"] in NEW_SIDS]
    assert {s["Sid"] for s in statements} == NEW_SIDS
    found = analyze_policy_string(json.dumps({**document, "Statement": statements}))
    issues = [(f.issue, f.detail) for f in found.findings]
    # PutBucketPolicy without Get/PutObject: provisioning writes the TLS-only bucket policy,
    # which parliament flags as a way to grant oneself object access. That is the job.
    assert {issue for issue, _ in issues} <= {"RESOURCE_POLICY_PRIVILEGE_ESCALATION"}, issues


def test_an_app_without_workers_keeps_its_policy() -> None:
    plain = environment_of({"app": "rails-app", "framework": "rails"})
    for kind in ("deploy", "operate"):
        document = policy(plain, kind, SCOPE)  # type: ignore[arg-type]
        sids = {s["Sid"] for s in document["Statement"]}
        assert not sids & {"ReadSchedules", "PauseAndResumeSchedules", *NEW_SIDS}
        sid = "DescribeAndUpdateService" if kind == "deploy" else "DescribeAndScaleService"
        assert _statement(document, sid)["Resource"] == (
            f"{ECS}:service/rails-app-cluster/rails-app-service"
        )
    provision = policy(plain, "provision", SCOPE)["Statement"]
    assert not [s for s in provision if s["Sid"] in NEW_SIDS]
