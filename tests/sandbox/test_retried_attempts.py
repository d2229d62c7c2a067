"""A retried attempt of one SDK call (same `amz-sdk-invocation-id`) gets the first attempt's
answer from the sandbox emulator instead of being applied twice; a new call is applied as
moto applies it. Against the real emulator process over HTTP, and the middleware alone for
the answers it must not replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.retried_attempts import RetriedAttempts

REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sandbox.SandboxServer]:
    root = tmp_path_factory.mktemp("retried")
    started, _ = sandbox.start(root)
    try:
        yield started
    finally:
        sandbox.stop(root)


@pytest.fixture
def ec2(server: sandbox.SandboxServer) -> Any:
    return sandbox.client(server, REGION, "ec2")  # each test its own: one may pin its id


def _as_one_invocation(client: Any, invocation: str) -> None:
    """Every call of `client` from now on carries this invocation id, as the attempts of
    one SDK call do."""

    def same_id(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-invocation-id"] = invocation

    client.meta.events.register_first("before-send.ec2.*", same_id)


def _rule(group: str) -> dict[str, Any]:
    return {
        "GroupId": group,
        "IpPermissions": [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": "pl-3b927c52"}],
            }
        ],
    }


def test_a_second_attempt_gets_the_first_answer_not_a_duplicate(ec2: Any) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    _as_one_invocation(ec2, "7c0e2a52-0000-4000-8000-000000000001")

    first = ec2.authorize_security_group_ingress(**_rule(group))
    again = ec2.authorize_security_group_ingress(**_rule(group))

    assert again["SecurityGroupRules"] == first["SecurityGroupRules"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    assert [r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"] if not r["IsEgress"]] == [
        first["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    ]


def test_a_new_call_is_applied_again(ec2: Any) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(**_rule(group))
    with pytest.raises(ClientError) as refused:
        ec2.authorize_security_group_ingress(**_rule(group))  # botocore's own new id
    assert refused.value.response["Error"]["Code"] == "InvalidPermission.Duplicate"


# --- the middleware alone ----------------------------------------------------------------------


class _Moto:
    """A WSGI app that counts the calls it serves and answers as told."""

    def __init__(self, status: str, body: bytes, delay: float = 0.0) -> None:
        self.status, self.body, self.delay, self.served = status, body, delay, 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.served += 1
        time.sleep(self.delay)
        start_response(self.status, [("Content-Type", "text/xml")])
        return [self.body + str(self.served).encode()]


def _attempt(app: RetriedAttempts, method: str = "POST", invocation: str = "one") -> bytes:
    environ = {"REQUEST_METHOD": method, "HTTP_AMZ_SDK_INVOCATION_ID": invocation}
    return b"".join(app(environ, lambda status, headers, *rest: None))


@pytest.mark.parametrize(
    ("status", "body"),
    [("500 Internal Server Error", b"<Error/>"), ("400 Bad Request", b"<Code>Throttling</Code>")],
    ids=["server-error", "throttled"],
)
def test_answers_the_sdk_retries_for_are_not_replayed(status: str, body: bytes) -> None:
    moto = _Moto(status, body)
    app = RetriedAttempts(moto)
    assert (_attempt(app), _attempt(app)) == (body + b"1", body + b"2")


def test_reads_are_served_each_time() -> None:
    moto = _Moto("200 OK", b"<ok/>")
    app = RetriedAttempts(moto)
    assert (_attempt(app, "GET"), _attempt(app, "GET")) == (b"<ok/>1", b"<ok/>2")


def test_an_attempt_sent_while_the_first_is_served_waits_for_its_answer() -> None:
    moto = _Moto("200 OK", b"<created/>", delay=0.5)
    app = RetriedAttempts(moto)
    answers: list[bytes] = []
    first = threading.Thread(target=lambda: answers.append(_attempt(app)))
    first.start()
    time.sleep(0.1)  # the first attempt is being served
    second = _attempt(app)
    first.join()
    assert (answers, second, moto.served) == ([b"<created/>1"], b"<created/>1", 1)
