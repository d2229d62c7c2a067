"""What a botocore `ClientError` says, read in one place."""

from __future__ import annotations

from botocore.exceptions import ClientError

# Error codes AWS services use to say "slow down"; a poll that gets one waits and retries.
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a `ClientError` ("" for anything else)."""
    if not isinstance(exc, ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES
