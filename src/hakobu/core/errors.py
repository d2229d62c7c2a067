"""Errors hakobu reports to people, each with what went wrong and what to do next.

The CLI turns a `HakobuError` into one message and its `exit_code`; nothing else is
printed (no traceback). Bad input is exit code 2, as for a usage error, so scripts can
tell "you asked for something wrong" from "AWS or Terraform failed" (exit code 1).
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class HakobuError(Exception):
    """A failure with a message for people and a suggested fix."""

    exit_code = EXIT_FAILURE

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return self.problem if not self.fix else f"{self.problem}\nFix: {self.fix}"


class ConfigError(HakobuError):
    """hakobu.toml (or what it points at) is wrong. Raised before any AWS or Terraform call."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, key: str | None, problem: str, fix: str | None = None) -> None:
        where = f"{key}: " if key else ""
        super().__init__(f"hakobu.toml: {where}{problem}", fix)
        self.key = key


class PreflightError(HakobuError):
    """The machine lacks something hakobu needs (a binary, a file). Nothing was created."""

    exit_code = EXIT_BAD_INPUT


class InvalidArgument(HakobuError):
    """A command-line argument is wrong. Raised before any AWS call; exit code 2."""

    exit_code = EXIT_BAD_INPUT


class TerraformError(HakobuError):
    """The Terraform CLI failed; its own diagnostics are in the message."""


def aws_error(exc: Exception) -> HakobuError:
    """One readable message for a boto3 failure hakobu did not anticipate."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    from hakobu.core import access

    if isinstance(exc, NoCredentialsError):
        return PreflightError(
            "no AWS credentials were found",
            "run `aws configure` (or set AWS_PROFILE), check with `aws sts get-caller-identity`; "
            "or try everything locally with --sandbox",
        )
    if isinstance(exc, NoRegionError):
        return PreflightError("no AWS region is set", "set region in hakobu.toml")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "an AWS call")
        if access.is_denied(exc.response):
            return access_denied(operation, str(error.get("Message", "")))
        return HakobuError(
            f"AWS refused {operation}: {error.get('Code', '?')}: {error.get('Message', '')}",
            "check that your credentials are valid and allowed to do this "
            "(`aws sts get-caller-identity`)",
        )
    if isinstance(exc, EndpointConnectionError) and "//127.0.0.1:" in str(exc):
        return HakobuError(
            f"the sandbox emulator does not answer ({exc})",
            "run the command again: it starts a new, empty sandbox emulator "
            "(`hakobu up --sandbox` builds the stack in it again); .hakobu/sandbox.log "
            "says why the last one stopped",
        )
    return HakobuError(f"the AWS call failed: {exc}", "check your network and credentials")


class AccessDeniedError(HakobuError):
    """The credentials lack a permission: which action, on which resource, and the policy
    that grants everything the command needs."""


def access_denied(operation: str, message: str) -> AccessDeniedError:
    from hakobu.core import access

    action = access.denied_action(message) or operation
    resource = access.denied_resource(message, action, operation)
    on = f" on {resource}" if resource else ""
    kind = access.policy_kind()
    return AccessDeniedError(
        f"your AWS credentials may not do {action}{on} (AccessDenied)",
        f"grant it: `hakobu iam policy {kind}` prints the policy with every permission this "
        "command needs, scoped to this environment",
    )
