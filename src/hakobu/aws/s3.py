"""S3 for the Terraform state: the bucket (created versioned, encrypted, never public) and
whether a state object is already there."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.errors import error_code
from hakobu.core.errors import HakobuError

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


def holds_objects(s3: Any, bucket: str) -> bool:
    """True while any object version or delete marker is left: S3 deletes a versioned
    bucket only when both are gone. A bucket that does not exist holds nothing."""
    try:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    except ClientError as exc:
        if error_code(exc) in MISSING_BUCKET:
            return False
        raise
    return bool(page.get("Versions") or page.get("DeleteMarkers"))


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of `bucket`; how many were deleted.

    Each pass lists the first page of what is left (at most 1,000 entries, as many as one
    `delete_objects` call takes) and deletes it, until nothing is left: no page marker
    points at a version that was just deleted (moto loses its place on one).
    """
    deleted = 0
    while True:
        page = s3.list_object_versions(Bucket=bucket)
        entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        if not entries:
            return deleted
        objects = [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        if answer.get("Errors"):  # left as they are, they would be listed again for ever
            refused = answer["Errors"][0]
            raise HakobuError(
                f"S3 refused to delete {refused.get('Key')} from {bucket}: "
                f"{refused.get('Code')}: {refused.get('Message')}",
                "check the bucket's policy and Object Lock settings; nothing else was destroyed",
            )
        deleted += len(objects)
