"""A retried attempt of one SDK call (same `amz-sdk-invocation-id`) gets the first attempt's
answer from the sandbox emulator instead of being applied twice, and writes one line saying so
to the emulator's log; a new call is applied as moto applies it. Against the real emulator
process over HTTP, and the middleware alone for the answers it must not replay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hakobu.sandbox import emulator as sandbox
from hakobu.sandbox.retried_attempts import REPLAYED, RetriedAttempts
from tests.conftest import HakobuRunner

REGION = "ap-northeast-1"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retried")


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[sandbox.SandboxServer]:
    started, _ = sandbox.start(root)
    try:
        yield started
    finally:
        sandbox.stop(root)


@pytest.fixture
def ec2(server: sandbox.SandboxServer) -> Any:
    return sandbox.client(server, REGION, "ec2")  # each test its own: one may pin its id


def _as_attempts_of_one_call(client: Any, event: str, invocation: str) -> None:
    """Every `event` call of `client` from now on is the next attempt of one SDK call: the
    same invocation id, and `amz-sdk-request` counting attempt=1, 2... as botocore does."""
    sent = [0]

    def next_attempt(request: Any, **_: Any) -> None:
        sent[0] += 1
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={sent[0]}; max=3"

    client.meta.events.register_first(f"before-send.{event}", next_attempt)


def _replay_lines(root: Path, invocation: str) -> list[str]:
    log = sandbox.log_path(root).read_text(encoding="utf-8")
    return [line for line in log.splitlines() if REPLAYED in line and invocation in line]


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
    invocation = "7c0e2a52-0000-4000-8000-000000000001"
    _as_attempts_of_one_call(ec2, "ec2.AuthorizeSecurityGroupIngress", invocation)

    first = ec2.authorize_security_group_ingress(**_rule(group))
    again = ec2.authorize_security_group_ingress(**_rule(group))

    assert again["SecurityGroupRules"] == first["SecurityGroupRules"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    assert [r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"] if not r["IsEgress"]] == [
        first["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    ]


def test_a_replayed_attempt_writes_one_log_line_a_first_attempt_none(ec2: Any, root: Path) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="cdn", Description="cdn", VpcId=vpc)["GroupId"]
    invocation = "7c0e2a52-0000-4000-8000-000000000002"
    _as_attempts_of_one_call(ec2, "ec2.AuthorizeSecurityGroupIngress", invocation)

    ec2.authorize_security_group_ingress(**_rule(group))
    assert _replay_lines(root, invocation) == []
    ec2.authorize_security_group_ingress(**_rule(group))

    [line] = _replay_lines(root, invocation)
    assert line == (
        f"hakobu sandbox: hakobu.sandbox.retried_attempts: {REPLAYED}: "
        f"AuthorizeSecurityGroupIngress, invocation {invocation}, "
        "amz-sdk-request attempt=2; max=3: answered 200 OK again"
    )
    log = sandbox.log_path(root).read_text(encoding="utf-8")
    # Neither the request's body nor the credentials reach the log.
    for kept_out in (group, "pl-3b927c52", sandbox.SANDBOX_ACCESS_KEY, sandbox.SANDBOX_SECRET_KEY):
        assert kept_out not in log


def test_a_json_call_is_named_by_its_target(server: sandbox.SandboxServer, root: Path) -> None:
    logs = sandbox.client(server, REGION, "logs")
    invocation = "7c0e2a52-0000-4000-8000-000000000003"
    _as_attempts_of_one_call(logs, "cloudwatch-logs.CreateLogGroup", invocation)

    logs.create_log_group(logGroupName="/hakobu/retried")
    logs.create_log_group(logGroupName="/hakobu/retried")  # not ResourceAlreadyExists

    [line] = _replay_lines(root, invocation)
    assert ": Logs_20140328.CreateLogGroup, invocation " in line
    assert "/hakobu/retried" not in line


def test_sandbox_status_counts_the_replayed_attempts(
    server: sandbox.SandboxServer, root: Path, hakobu: HakobuRunner
) -> None:
    def counted() -> int:
        result = hakobu("sandbox", "status", "--json", cwd=root)
        assert result.code == 0, result.output
        return int(json.loads(result.stdout)["sandbox"]["replayed_attempts"])

    before = counted()  # other tests of this module share the emulator
    sns = sandbox.client(server, REGION, "sns")
    _as_attempts_of_one_call(sns, "sns.CreateTopic", "7c0e2a52-0000-4000-8000-000000000004")
    sns.create_topic(Name="hakobu-retried")
    sns.create_topic(Name="hakobu-retried")

    assert counted() == before + 1
    shown = hakobu("sandbox", "status", cwd=root).stdout
    assert f"Retried SDK attempts answered with their first answer: {before + 1} " in shown


def test_a_new_call_is_applied_again(ec2: Any, root: Path) -> None:
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
