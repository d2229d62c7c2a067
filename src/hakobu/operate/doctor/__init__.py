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
"""

from __future__ import annotations

from hakobu.operate.doctor.account import CREDENTIALS_FIX, check_credentials, check_region
from hakobu.operate.doctor.checks import AWS_GATE, Check, default_checks
from hakobu.operate.doctor.database import (
    DB_DOWN,
    EXTENDED_SUPPORT_FROM,
    MYSQL_PORT,
    check_db_instance,
    check_db_password,
    check_db_path,
    check_engine_version,
    extended_support_cost,
)
from hakobu.operate.doctor.facts import LOG_LINES_SHOWN, AwsClients, Facts, T, db_groups, fact
from hakobu.operate.doctor.local import (
    MIN_ENGINE,
    PROBE_TIMEOUT_S,
    check_builder,
    check_engine,
    check_mysql,
    check_plugin,
    engine_version,
)
from hakobu.operate.doctor.network import (
    ANYWHERE,
    Egress,
    check_routes,
    route_table_of,
    subnet_egress,
)
from hakobu.operate.doctor.registry import ECR_IMAGE, check_image
from hakobu.operate.doctor.results import (
    ACCOUNT,
    DATABASE,
    GROUPS,
    JSON_VERSION,
    LOCAL,
    NETWORK,
    OK,
    PROBLEM,
    REGISTRY,
    SECRETS,
    SERVICE,
    SKIPPED,
    WARNING,
    CheckResult,
    Finding,
    Skip,
    Status,
    counts,
    exit_code,
    ok,
    problem,
    report_json,
    warning,
)
from hakobu.operate.doctor.runner import run_checks
from hakobu.operate.doctor.secrets import check_master_key, check_secret, same_secret
from hakobu.operate.doctor.service import (
    FAILED_STOP_CODES,
    HEALTH_CHECK_WORDS,
    STOP_HINTS,
    check_service,
    check_stopped_tasks,
    check_targets,
    failed_task,
    stop_fix,
)

__all__ = [
    "ACCOUNT",
    "ANYWHERE",
    "AWS_GATE",
    "CREDENTIALS_FIX",
    "DATABASE",
    "DB_DOWN",
    "ECR_IMAGE",
    "EXTENDED_SUPPORT_FROM",
    "FAILED_STOP_CODES",
    "GROUPS",
    "HEALTH_CHECK_WORDS",
    "JSON_VERSION",
    "LOCAL",
    "LOG_LINES_SHOWN",
    "MIN_ENGINE",
    "MYSQL_PORT",
    "NETWORK",
    "OK",
    "PROBE_TIMEOUT_S",
    "PROBLEM",
    "REGISTRY",
    "SECRETS",
    "SERVICE",
    "SKIPPED",
    "STOP_HINTS",
    "WARNING",
    "AwsClients",
    "Check",
    "CheckResult",
    "Egress",
    "Facts",
    "Finding",
    "Skip",
    "Status",
    "T",
    "check_builder",
    "check_credentials",
    "check_db_instance",
    "check_db_password",
    "check_db_path",
    "check_engine",
    "check_engine_version",
    "check_image",
    "check_master_key",
    "check_mysql",
    "check_plugin",
    "check_region",
    "check_routes",
    "check_secret",
    "check_service",
    "check_stopped_tasks",
    "check_targets",
    "counts",
    "db_groups",
    "default_checks",
    "engine_version",
    "exit_code",
    "extended_support_cost",
    "fact",
    "failed_task",
    "ok",
    "problem",
    "report_json",
    "route_table_of",
    "run_checks",
    "same_secret",
    "stop_fix",
    "subnet_egress",
    "warning",
]
