"""Where Terraform keeps its state: the working directory, or S3 with native locking."""

from __future__ import annotations

from typing import Any

from hakobu.config import Environment
from hakobu.target import Target


def state_key(env: Environment) -> str:
    return f"hakobu/{env.app}/{env.name}/terraform.tfstate"


def state_bucket_name(env: Environment, target: Target) -> str:
    if env.settings.state_bucket:
        return env.settings.state_bucket
    account = target.client("sts").get_caller_identity()["Account"]
    return f"hakobu-state-{account}-{env.region}"


def backend(env: Environment, bucket: str | None) -> dict[str, Any]:
    """The Terraform backend block for this environment."""
    if env.settings.state == "local" or bucket is None:
        return {"local": {"path": "terraform.tfstate"}}
    return {
        "s3": {
            "bucket": bucket,
            "key": state_key(env),
            "region": env.region,
            "encrypt": True,
            # S3 native locking (Terraform >= 1.10): no DynamoDB table to create or pay for.
            "use_lockfile": True,
        }
    }


def ensure_state_bucket(target: Target, bucket: str) -> bool:
    """Create the state bucket on first use: versioned, encrypted, never public."""
    s3 = target.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    create: dict[str, Any] = {"Bucket": bucket}
    if target.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    s3.create_bucket(**create)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    # Versioning keeps every earlier state: a bad apply can be undone by hand.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
        },
    )
    return True
