"""Where Terraform keeps its state: the working directory, or S3 with native locking.

`state = "local"` (the default) keeps `terraform.tfstate` in the environment's workdir under
`.hakobu/`, for one person. `state = "s3"` keeps it in a bucket hakobu creates on first use
(versioned, encrypted, public access blocked), locked with S3 native locking
(a `.tflock` object written with a conditional PUT; Terraform >= 1.10, no DynamoDB table).

The backend block in main.tf.json is the same for the sandbox and for AWS; what only the
sandbox needs is passed to `terraform init` as `-backend-config` (see `init_settings`).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws import s3 as s3_ops
from hakobu.aws.errors import error_code
from hakobu.aws.sts import caller_identity
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.core.target import Target

LOCAL_STATE = "terraform.tfstate"
# What a local state file is renamed to once Terraform has copied it into S3: kept for the
# user's peace of mind, and no longer read by anything.
MOVED_STATE = "terraform.tfstate.moved-to-s3"


def state_key(env: Environment) -> str:
    return f"hakobu/{env.app}/{env.name}/terraform.tfstate"


def state_bucket_name(env: Environment, target: Target) -> str:
    if env.settings.state_bucket:
        return env.settings.state_bucket
    account = caller_identity(target.client("sts"))["Account"]
    return default_state_bucket(account, env.region)


def default_state_bucket(account: str, region: str) -> str:
    """The state bucket without `state_bucket` set (the provision policy names it too)."""
    return f"hakobu-state-{account}-{region}"


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


def init_settings(env: Environment, target: Target) -> dict[str, str]:
    """Backend settings given to `terraform init -backend-config=KEY=VALUE`, not rendered.

    The S3 backend finds the sandbox through AWS_ENDPOINT_URL (in `Target.environment()`),
    as the provider does. It then addresses buckets path-style only because the endpoint's
    host is an IP literal; with a host name (`localhost`) it would ask DNS for
    `<bucket>.localhost` and fail, so the sandbox asks for path-style explicitly.
    """
    if env.settings.state == "s3" and target.sandbox:
        return {"use_path_style": "true"}
    return {}


def local_state_to_move(workdir: Path, target: Target, bucket: str, key: str) -> Path | None:
    """The local state file to copy into S3 when an environment switches to `state = "s3"`.

    `terraform init -reconfigure` would silently start an empty S3 state beside it, and the
    next apply would create every resource a second time. None when there is no local state
    worth moving. If S3 already holds this environment's state too, hakobu will not choose.
    """
    path = workdir / LOCAL_STATE
    try:
        resources = json.loads(path.read_text(encoding="utf-8")).get("resources")
    except (OSError, ValueError, AttributeError):
        return None
    if not resources:
        return None
    if not s3_ops.object_exists(target.client("s3"), bucket, key):
        return path
    raise HakobuError(
        f'this environment has Terraform state in two places: {path} (state = "local" '
        f"before) and s3://{bucket}/{key}; hakobu will not guess which one is right",
        f"if the S3 state is the right one, delete {path}; if the local one is, delete the "
        "S3 object (the bucket is versioned) and run again to move it there; or set "
        'state = "local" again',
    )


def ensure_state_bucket(target: Target, bucket: str) -> bool:
    """Create the state bucket on first use: versioned, encrypted, never public.

    Returns True if it was created now. A bucket that already exists is used as it is.
    """
    s3 = target.client("s3")
    try:
        if s3_ops.bucket_exists(s3, bucket):
            return False
    except ClientError as exc:
        raise _bucket_error(bucket, error_code(exc) or None, target.region) from exc
    try:
        s3_ops.create_bucket(s3, bucket, target.region)
    except ClientError as exc:
        code = error_code(exc) or None
        if code == "BucketAlreadyOwnedByYou":  # a teammate's hakobu created it just now
            return False
        raise _bucket_error(bucket, code, target.region) from exc
    try:
        s3_ops.secure_bucket(s3, bucket)
    except BaseException:
        # Half-configured (say, not versioned) must not pass as "exists" on the next run:
        # remove the still empty bucket so that run creates it again.
        with contextlib.suppress(ClientError):
            s3_ops.delete_bucket(s3, bucket)
        raise
    return True


def _bucket_error(bucket: str, code: str | None, region: str) -> HakobuError:
    if code in ("403", "AccessDenied", "BucketAlreadyExists"):
        return HakobuError(
            f"the state bucket s3://{bucket} exists but this account cannot use it "
            "(bucket names are global: another account may own it)",
            "set state_bucket in hakobu.toml to a bucket name of your own, or use "
            "credentials allowed to read it",
        )
    if code in ("301", "PermanentRedirect"):
        return HakobuError(
            f"the state bucket s3://{bucket} is in another region than {region}",
            "set state_bucket in hakobu.toml to a bucket in this region",
        )
    return HakobuError(
        f"hakobu could not check or create the state bucket s3://{bucket} ({code})",
        "check your credentials and their S3 permissions (`aws s3api head-bucket "
        f"--bucket {bucket}`)",
    )
