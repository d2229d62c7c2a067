"""`hakobu doctor`: the guide's troubleshooting section as named checks with their fixes.

The guide's "トラブルシューティング" names four failures and the `aws` commands to look into
them: a secret "already scheduled for deletion", tasks that do not start, a database that
cannot be reached, a wrong RAILS_MASTER_KEY; its step 1 checks the credentials with
`aws sts get-caller-identity`. Each is a check here, with those the guide leaves to the
reader: local tools, unhealthy targets, NAT routes, the image in ECR, MySQL 8.0 on
Extended Support.

The shape is ecspresso's verify.go: a tree of groups and named checks, each ok, warning or
problem with the fix, or skipped with the reason when a prerequisite failed (no
credentials: every AWS check). A check is a small function of `Facts`, which makes each
describe call at most once, when a check first needs it, and shares the answer (the routes
and the database path read the same `describe_subnets`). Nothing here prints:
`run_checks` returns data, the CLI renders it.

This package exports what its callers use (the CLI and the tests); each check lives
in the module of its group (account, local, secrets, service, network, database,
registry), the facts in `facts`, the statuses and the report in `results`.
"""

from __future__ import annotations

from hakobu.operate.doctor.checks import Check, default_checks
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import CheckResult, counts, exit_code, report_json
from hakobu.operate.doctor.runner import run_checks

__all__ = [
    "Check",
    "CheckResult",
    "Facts",
    "counts",
    "default_checks",
    "exit_code",
    "report_json",
    "run_checks",
]
