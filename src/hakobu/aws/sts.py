"""STS: who the caller is, asked once before anything runs against a real account."""

from __future__ import annotations

from typing import Any

from hakobu.core.errors import HakobuError, PreflightError
from hakobu.core.target import Target

CREDENTIALS_FIX = (
    "run `aws configure` (or `aws sso login`, or set AWS_PROFILE), check with "
    "`aws sts get-caller-identity`; or try everything without an account with --sandbox"
)


def caller_identity(sts: Any) -> dict[str, Any]:
    """`get_caller_identity`: the `Account`, `Arn` and `UserId` the credentials belong to."""
    return dict(sts.get_caller_identity())


def require_caller_identity(target: Target) -> dict[str, Any]:
    """The guide's step 1, `aws sts get-caller-identity`: the account and ARN of the
    caller. Without usable credentials, a `PreflightError` (exit 2) before Terraform or
    any other AWS call runs, instead of the provider's raw "No valid credential sources"
    after `terraform init`."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        identity = caller_identity(target.client("sts"))
    except NoCredentialsError:
        raise PreflightError("no AWS credentials were found", CREDENTIALS_FIX) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PreflightError(
            f"AWS rejected the credentials: {error.get('Code', '?')}: "
            f"{error.get('Message', '')}".rstrip(": "),
            CREDENTIALS_FIX,
        ) from None
    except BotoCoreError as exc:
        raise HakobuError(  # the network, not the input: exit 1
            f"the credentials could not be checked with STS: {exc}",
            "check the network (and a proxy, if one is set), then run the command again",
        ) from None
    return {key: identity[key] for key in ("Account", "Arn", "UserId") if key in identity}
