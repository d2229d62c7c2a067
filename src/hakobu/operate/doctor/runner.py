"""Running the checks: each in order, skipped when a check it requires failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError, aws_error
from hakobu.operate.doctor.checks import Check, default_checks
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import (
    ACCOUNT,
    LOCAL,
    OK,
    PROBLEM,
    SKIPPED,
    WARNING,
    CheckResult,
    Finding,
    Skip,
    problem,
)

NOT_PROVISIONED = "provisioned"


def run_checks(
    env: Environment,
    target: ClientSource,
    *,
    checks: Iterable[Check] | None = None,
    facts: Facts | None = None,
) -> list[CheckResult]:
    """Run `checks` (default: every check for `env`) in order; one result each."""
    facts = facts or Facts(env, target)
    done: dict[str, CheckResult] = {}
    for check in checks if checks is not None else default_checks(env):
        # Before the first `hakobu up` every check of the environment would say "run
        # hakobu up" in its own words: say it once, after the machine and account checks.
        if (
            checks is None
            and check.group not in (LOCAL, ACCOUNT)
            and _never_provisioned(facts, done)
        ):
            done[NOT_PROVISIONED] = _not_provisioned(env, target)
            break
        done[check.name] = _run(check, facts, done)
    return list(done.values())


def _never_provisioned(facts: Facts, done: Mapping[str, CheckResult]) -> bool:
    """The credentials work and the environment's ECS cluster does not exist."""
    from hakobu.aws.errors import error_code

    credentials = done.get("credentials")
    if credentials is None or credentials.status not in (OK, WARNING):
        return False
    try:
        found, why = facts.service_lookup
    except (ClientError, BotoCoreError):
        return False  # a refused look-up is the service check's to report
    cause = why.__cause__ if why is not None else None
    return (
        found is None
        and isinstance(cause, ClientError)
        and (error_code(cause) == "ClusterNotFoundException")
    )


def _not_provisioned(env: Environment, target: ClientSource) -> CheckResult:
    sandbox = " --sandbox" if target.sandbox else ""
    return CheckResult(
        NOT_PROVISIONED,
        "environment",
        PROBLEM,
        f"`{env.name}` is not provisioned yet{' in the sandbox' if sandbox else ''}: there "
        "is nothing in AWS to check",
        f"run `hakobu up{sandbox}` (then `hakobu deploy{sandbox}`), and `hakobu doctor{sandbox}` "
        "again",
    )


def _run(check: Check, facts: Facts, done: Mapping[str, CheckResult]) -> CheckResult:
    blocker = next(
        (done[n] for n in check.requires if n in done and done[n].status in (PROBLEM, SKIPPED)),
        None,
    )
    if blocker is not None:
        return _result(check, Finding(SKIPPED, f"needs {_path(blocker)}: {blocker.message}"))
    try:
        finding = check.run(facts)
    except Skip as skip:
        finding = Finding(SKIPPED, skip.reason)
    except (ClientError, BotoCoreError) as exc:
        # One refused call (a missing IAM permission) must not end the whole diagnosis.
        error = aws_error(exc)
        finding = problem(error.problem, error.fix)
    except HakobuError as exc:
        finding = problem(exc.problem, exc.fix)
    return _result(check, finding)


def _result(check: Check, finding: Finding) -> CheckResult:
    return CheckResult(
        check.name, check.group, finding.status, finding.message, finding.fix, finding.details
    )


def _path(result: CheckResult) -> str:
    return f"{result.group} › {result.name}"
