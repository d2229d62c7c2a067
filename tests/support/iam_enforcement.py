"""The emulator's IAM enforcement, switched on for a block of a test: users holding exactly
a given policy, and their keys for `hakobu ... --sandbox` (HAKOBU_SANDBOX_ACCESS_KEY_ID).

moto authenticates every request once `/moto-api/reset-auth` sets its count of
unauthenticated requests to 0, and evaluates each identity policy's Action (and Effect);
for every service but IAM, STS and SQS it evaluates the request against the resource "*",
so a statement whose Resource names an ARN never matches there. `moto_view` is what moto
can check of a policy: each statement with its Resource widened to "*" and no Condition.
The ARNs themselves are checked against the real stack's resources elsewhere.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from tests.support.moto_server import post_moto_api

REGION = "ap-northeast-1"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str

    def environment(self) -> dict[str, str]:
        return {
            "HAKOBU_SANDBOX_ACCESS_KEY_ID": self.access_key_id,
            "HAKOBU_SANDBOX_SECRET_KEY": self.secret_access_key,
        }


# moto names an action by the request's signing name, which for CloudWatch is
# "monitoring" (AWS's IAM prefix is "cloudwatch"): the same action under moto's name.
_MOTO_PREFIXES = {"cloudwatch": "monitoring"}


def moto_view(document: dict[str, Any]) -> dict[str, Any]:
    """`document` as moto can evaluate it: same statements and actions, Resource "*"."""
    view = copy.deepcopy(document)
    for statement in view["Statement"]:
        statement["Resource"] = "*"
        statement.pop("Condition", None)
        statement["Action"] = [
            *statement["Action"], *(_moto_name(a) for a in statement["Action"] if _moto_name(a))
        ]
    return view


def _moto_name(action: str) -> str | None:
    prefix, _, name = action.partition(":")
    return f"{_MOTO_PREFIXES[prefix]}:{name}" if prefix in _MOTO_PREFIXES else None


def without_statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    smaller = copy.deepcopy(document)
    smaller["Statement"] = [s for s in smaller["Statement"] if s["Sid"] != sid]
    assert len(smaller["Statement"]) == len(document["Statement"]) - 1, sid
    return smaller


@dataclass
class Enforcement:
    endpoint: str
    admin: Keys

    def client(self, service: str, keys: Keys | None = None) -> Any:
        keys = keys or self.admin
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            config=Config(proxies={}, retries={"max_attempts": 1}),
        )

    def grant(self, keys: Keys, document: dict[str, Any]) -> None:
        """The user of `keys` holds exactly `document` (its only policy) from now on."""
        user = self.client("iam").get_access_key_last_used(AccessKeyId=keys.access_key_id)
        self.client("iam").put_user_policy(
            UserName=user["UserName"], PolicyName="hakobu", PolicyDocument=json.dumps(document)
        )


def _user(iam: Any, name: str, document: dict[str, Any]) -> Keys:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="hakobu", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


@contextmanager
def enforced(
    endpoint: str, bootstrap: Any, users: dict[str, dict[str, Any]]
) -> Iterator[tuple[Enforcement, dict[str, Keys]]]:
    """Create `users` (name -> policy) with the unauthenticated `bootstrap` IAM client,
    then authenticate every request until the block ends."""
    run = uuid.uuid4().hex[:8]  # the emulator outlives one test: names must not repeat
    admin = _user(bootstrap, f"hakobu-test-admin-{run}", ADMIN_POLICY)
    keys = {name: _user(bootstrap, f"{name}-{run}", policy) for name, policy in users.items()}
    post_moto_api(endpoint, "reset-auth", "0")
    try:
        yield Enforcement(endpoint, admin), keys
    finally:
        post_moto_api(endpoint, "reset-auth", "inf")  # the other tests share this emulator
