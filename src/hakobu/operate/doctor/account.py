"""Checks of the AWS account: the credentials and the region."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, ok, problem, warning

CREDENTIALS_FIX = (
    "run `aws configure` (or `aws sso login`, or set AWS_PROFILE), then check with "
    "`aws sts get-caller-identity`; or try everything locally with --sandbox"
)


def check_credentials(facts: Facts) -> Finding:
    """The guide's step 1, `aws sts get-caller-identity`, shown as the guide shows it."""
    try:
        identity = facts.identity
    except NoCredentialsError:
        return problem("no AWS credentials were found", CREDENTIALS_FIX)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return problem(
            f"AWS rejected the credentials: {error.get('Code', '?')}: {error.get('Message', '')}",
            CREDENTIALS_FIX,
        )
    whose = " (the sandbox emulator's)" if facts.aws.sandbox else ""
    return ok(
        f"account {identity['Account']}{whose} as {identity['Arn']}",
        json.dumps(identity, indent=4).splitlines(),
    )


def check_region(facts: Facts) -> Finding:
    """hakobu uses hakobu.toml's region; the guide's `aws` commands use the CLI's default."""
    region = facts.env.region
    if facts.aws.sandbox:
        return ok(f"{region} (hakobu.toml), in the sandbox emulator")
    import boto3  # lazily, as hakobu.core.target does: it costs ~0.2 s to import

    try:
        default = boto3.Session().region_name
    except BotoCoreError:
        default = None  # a broken profile is the credentials check's to report
    if default and default != region:
        return warning(
            f"hakobu uses {region} (hakobu.toml), but the aws CLI's default region is "
            f"{default}: the guide's `aws` commands without --region look in {default}",
            f"`aws configure set region {region}` (or export AWS_REGION={region}), or pass "
            f"--region {region} to aws commands",
        )
    if default is None:
        return ok(f"{region} (hakobu.toml); the aws CLI has no default region, so pass "
                  f"--region {region} to the guide's aws commands")  # fmt: skip
    return ok(f"{region} (hakobu.toml and the aws CLI's default)")
