"""The operate policy on the production-edge stack, under the emulator's IAM enforcement:
a user holding exactly `hakobu iam policy operate` for an app with [domain] (CDN on),
[autoscaling] and [alarms] runs what those parts add to day 2 (`alarms`, `domain status`,
`status` with its scaling section, and `pause` / `resume`, which suspend and resume
scaling) and each succeeds. Without the optional parts' statements
(`hakobu.provision.iam_optional_parts`) the same user is refused `alarms`.

moto checks actions only (tests/support/iam_enforcement.py); that each statement's ARNs
are this stack's is tested on the lean stack (least_privilege.py) and in
tests/provision/test_iam_policies.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hakobu.core.config import load_project
from hakobu.provision.iam_policies import policy
from hakobu.sandbox import emulator as sandbox
from tests.integration.least_privilege import SCOPE, run_as
from tests.support.iam_enforcement import enforced, moto_view, without_statement

COMMANDS = (("alarms",), ("domain", "status"), ("status",), ("pause", "--yes"), ("resume", "--yes"))


def check_operate_policy_covers_the_edge(root: Path) -> None:
    env = load_project(root / "hakobu.toml").environment(None)
    document = policy(env, "operate", SCOPE)
    server = sandbox.running(root)
    assert server is not None, f"the emulator of {root.name} is not running"
    bootstrap = sandbox.client(server, SCOPE.region, "iam")
    users = {"edge-operator": moto_view(document)}
    with enforced(server.endpoint, bootstrap, users) as (enforcement, keys):
        operator = keys["edge-operator"]
        for args in COMMANDS:
            result = run_as(root, operator, args, timeout=300)
            assert result.code == 0, f"hakobu {' '.join(args)} as operate:\n{result.output}"
        enforcement.grant(operator, moto_view(without_statement(document, "ReadAlarms")))
        refused = run_as(root, operator, ("alarms",), timeout=300)
        _check_refused(refused, "DescribeAlarms")  # moto says monitoring:, AWS cloudwatch:
        enforcement.grant(operator, users["edge-operator"])


def _check_refused(result: Any, action: str) -> None:
    where = f"alarms without ReadAlarms:\n{result.output}"
    assert result.code == 1 and "Traceback" not in result.output, where
    assert result.stderr.count("Error:") == 1, where
    assert action in result.stderr and "`hakobu iam policy operate`" in result.stderr, where
