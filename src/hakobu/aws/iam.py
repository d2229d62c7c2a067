"""IAM look-ups: the account's OIDC identity provider for a URL, and a role by name."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.errors import error_code


def oidc_provider(iam: Any, host: str) -> dict[str, Any] | None:
    """The account's OIDC provider for `host` (an account has at most one per URL), with
    its `Arn` and `Tags`; None when there is none."""
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    arn = next((p["Arn"] for p in listed if p["Arn"].endswith(f":oidc-provider/{host}")), None)
    if arn is None:
        return None
    described = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    return {"Arn": arn, "Tags": described.get("Tags", [])}


def role(iam: Any, name: str) -> dict[str, Any] | None:
    """The role `name` with its trust policy parsed; None when it does not exist."""
    try:
        found = dict(iam.get_role(RoleName=name)["Role"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    trust = found.get("AssumeRolePolicyDocument")
    if isinstance(trust, str):  # AWS sends it URL-encoded; boto3 decodes only some forms
        found["AssumeRolePolicyDocument"] = json.loads(urllib.parse.unquote(trust))
    return found


def tags_of(described: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}


def role_policy(iam: Any, role_name: str, policy_name: str) -> dict[str, Any] | None:
    """The role's inline policy `policy_name`, parsed; None when the role or policy is gone."""
    try:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    if isinstance(document, str):  # URL-encoded JSON, as for trust policies
        return dict(json.loads(urllib.parse.unquote(document)))
    return dict(document)
