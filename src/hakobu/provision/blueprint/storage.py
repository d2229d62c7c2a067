"""[storage] bucket = true: a private S3 bucket for the app's uploads, and only that bucket.

Private (public access blocked, ACLs disabled), encrypted at rest (SSE-S3), versioned (an
overwritten or deleted upload can be recovered; old versions expire after a while so they
do not cost forever), reachable only over TLS. The task role may read, write and delete
objects of exactly this bucket; the app finds it in STORAGE_BUCKET and STORAGE_REGION.
Terraform does not empty it on destroy (no force_destroy): uploads are data.
"""

from __future__ import annotations

import json

from hakobu.core.config import Environment
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.iam import SECRET_ARN_PARTS, TASK_ROLE

BUCKET = "aws_s3_bucket.storage"
# Overwritten or deleted uploads stay recoverable this long, then their old versions go.
NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7
OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]


def bucket_name(env: Environment) -> str:
    """The bucket's name as rendered: the account is known only at apply time."""
    return bucket_name_in(env, ref(SECRET_ARN_PARTS, "account"))


def bucket_name_in(env: Environment, account: str) -> str:
    """The bucket's name: the configured one, or `{prefix}-{account}-{region}` (global)."""
    return env.settings.storage.name or f"{env.prefix}-{account}-{env.region}"


def storage_environment(env: Environment) -> dict[str, str]:
    """What the app reads to find its bucket (Active Storage's and django-storages' config)."""
    if not env.settings.storage.bucket:
        return {}
    return {"STORAGE_BUCKET": ref(BUCKET, "bucket"), "STORAGE_REGION": env.region}


def storage(env: Environment) -> Fragment:
    part = Fragment("storage")
    if not env.settings.storage.bucket:
        return part
    bucket = ref(BUCKET, "id")
    part.resource("aws_s3_bucket", "storage", {"bucket": bucket_name(env)})
    part.resource(
        "aws_s3_bucket_public_access_block",
        "storage",
        {
            "bucket": bucket,
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )
    part.resource(
        "aws_s3_bucket_ownership_controls",
        "storage",
        {"bucket": bucket, "rule": {"object_ownership": "BucketOwnerEnforced"}},
    )
    part.resource(
        "aws_s3_bucket_server_side_encryption_configuration",
        "storage",
        {
            "bucket": bucket,
            "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        },
    )
    part.resource(
        "aws_s3_bucket_versioning",
        "storage",
        {"bucket": bucket, "versioning_configuration": {"status": "Enabled"}},
    )
    _lifecycle(part, bucket)
    _policies(part)
    return part


def _lifecycle(part: Fragment, bucket: str) -> None:
    part.resource(
        "aws_s3_bucket_lifecycle_configuration",
        "storage",
        {
            "bucket": bucket,
            "rule": [
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                    "abort_incomplete_multipart_upload": {
                        "days_after_initiation": ABORT_MULTIPART_DAYS
                    },
                }
            ],
            # Versioning must be on before a rule about noncurrent versions means anything.
            "depends_on": ["aws_s3_bucket_versioning.storage"],
        },
    )


def _policies(part: Fragment) -> None:
    arn = ref(BUCKET, "arn")
    tls_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    part.resource(
        "aws_s3_bucket_policy",
        "storage",
        {
            "bucket": ref(BUCKET, "id"),
            "policy": json.dumps(tls_only),
            # S3 refuses a bucket policy while the public access block is being written.
            "depends_on": ["aws_s3_bucket_public_access_block.storage"],
        },
    )
    task_access = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
            {"Sid": "Objects", "Effect": "Allow", "Action": OBJECT_ACTIONS, "Resource": f"{arn}/*"},
        ],
    }
    part.resource(
        "aws_iam_role_policy",
        "task_storage",
        {"name": "app-storage", "role": ref(TASK_ROLE, "id"), "policy": json.dumps(task_access)},
    )
