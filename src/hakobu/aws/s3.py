"""S3 for the Terraform state: the bucket (created versioned, encrypted, never public) and
whether a state object is already there."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.errors import error_code

MISSING_BUCKET = ("404", "NoSuchBucket", "NotFound")
MISSING_KEY = ("404", "NoSuchKey", "NotFound")


def object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in MISSING_KEY:
            return False
        raise
    return True


def bucket_exists(s3: Any, bucket: str) -> bool:
    """True if the bucket exists and this account may use it; any refusal but "no such
    bucket" raises the ClientError."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in MISSING_BUCKET:
            return False
        raise
    return True


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)


def secure_bucket(s3: Any, bucket: str) -> None:
    """Never public, every version kept (a bad apply can be undone by hand), encrypted."""
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
        },
    )


def delete_bucket(s3: Any, bucket: str) -> None:
    s3.delete_bucket(Bucket=bucket)
