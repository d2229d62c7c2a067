"""The provision policy suffices, proven under the emulator's IAM enforcement: a user holding
exactly `hakobu iam policy provision` (every group's statements) runs `up --sandbox` and
`destroy --sandbox` of a stack with Aurora, [domain] (dns = "external", WAF on the load
balancer, the HTTPS listener), [autoscaling] and [alarms] on top of the guide's parts.

What moto can refuse (tests/support/iam_enforcement.py): each statement's actions, against
the resource "*", under the request's signing name; Terraform's own calls carry the
restricted keys too (the sandbox hands them to it). The ARNs and conditions are checked by
exact-value tests (tests/provision/test_iam_provision_parts.py). Not provable here: Route 53,
CloudFront and EventBridge Scheduler requests, and Terraform's S3 backend listing, fail
moto's signature check under enforcement even for an admin, so `dns = "route53"`, `cdn`,
[[schedules]] and `state = "s3"` stay out of this stack.

This run found `elasticloadbalancing:DescribeCapacityReservation` and
`rds:DescribeGlobalClusters`, which the provider reads on every refresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hakobu.core.config import load_project
from hakobu.provision.iam_policies import Scope, policy
from hakobu.sandbox import emulator as sandbox
from tests.conftest import make_rails_app, run_hakobu
from tests.support.iam_enforcement import enforced, moto_view

pytestmark = pytest.mark.integration

REGION = "ap-northeast-1"
SCOPE = Scope("aws", REGION, "123456789012")  # moto's account id
SECTIONS = """
[domain]
name = "app.example.com"
dns = "external"
waf = true

[autoscaling]
min = 1
max = 3

[alarms]
email = ["ops@example.com"]
"""
NO_ENGINE = {"HAKOBU_CONTAINER_ENGINE": "none"}  # Terraform against moto only


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Path]:
    root = make_rails_app(tmp_path / "app", app="prov-app")
    config = root / "hakobu.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('engine = "mysql" ', 'engine = "aurora-postgresql" ', 1)
    text = text.replace('engine_version = "8.4"\n', "", 1)
    config.write_text(text + SECTIONS, encoding="utf-8")
    sandbox.start(root)
    try:
        yield root
    finally:
        sandbox.stop(root)


def test_up_and_destroy_as_a_user_holding_exactly_the_provision_policy(app: Path) -> None:
    env = load_project(app / "hakobu.toml").environment(None)
    assert env.settings.domain is not None and env.settings.autoscaling is not None
    server = sandbox.running(app)
    assert server is not None
    bootstrap = sandbox.client(server, REGION, "iam")
    users = {"provision": moto_view(policy(env, "provision", SCOPE))}
    with enforced(server.endpoint, bootstrap, users) as (_, keys):
        as_user = {**NO_ENGINE, **keys["provision"].environment()}
        up = run_hakobu("up", "--sandbox", "--yes", cwd=app, env=as_user)
        assert up.code == 0, up.output
        assert "aws_wafv2_web_acl_association.load_balancer" in up.output
        destroy = run_hakobu("destroy", env.name, "--sandbox", "--yes", cwd=app, env=as_user)
        assert destroy.code == 0, destroy.output
