"""Running the checks: each in order, skipped when a check it requires failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError, aws_error
from hakobu.operate.doctor.checks import Check, default_checks
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import PROBLEM, SKIPPED, CheckResult, Finding, Skip, problem


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
        done[check.name] = _run(check, facts, done)
    return list(done.values())


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
