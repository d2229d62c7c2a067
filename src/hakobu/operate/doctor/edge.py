"""Checks of the production edge: are alarms firing, and is anyone told about them."""

from __future__ import annotations

from collections.abc import Callable

from hakobu.core.config import Environment
from hakobu.operate.alarms import alarm_states, alarms_report
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, Skip, ok, warning


def edge_checks(env: Environment) -> list[tuple[str, Callable[[Facts], Finding]]]:
    """(name, check) of the service group's edge checks; none without [alarms]."""
    if env.settings.alarms is None:
        return []
    return [("alarms", check_alarms), ("alarm subscriptions", check_subscriptions)]


def check_alarms(facts: Facts) -> Finding:
    """Any alarm in ALARM is something users notice now (or will)."""
    states = alarm_states(facts.env, facts.clients)
    missing = [s.name for s in states if s.state == "MISSING"]
    if missing:
        return warning(
            f"{len(missing)} alarm(s) not created: {', '.join(missing)}",
            "run `hakobu up` to create them",
        )
    firing = [s for s in states if s.state == "ALARM"]
    if firing:
        return warning(
            f"{len(firing)} alarm(s) in ALARM: {', '.join(s.name for s in firing)}",
            "see `hakobu alarms` for each reason, and `hakobu logs` for what the app said",
            details=[f"{s.name}: {s.reason}" for s in firing],
        )
    return ok(f"{len(states)} alarms, none in ALARM")


def check_subscriptions(facts: Facts) -> Finding:
    """SNS sends nothing to an e-mail address until its owner clicks the confirmation link."""
    report = alarms_report(facts.env, facts.clients)
    if report is None:
        raise Skip("no [alarms] section")
    if not report.subscriptions:
        return warning(
            "nobody is told when an alarm fires (the topic has no subscription)",
            'add email = ["you@example.com"] to [alarms] and run `hakobu up`',
        )
    pending = [s.endpoint for s in report.unconfirmed]
    if pending:
        return warning(
            f"not confirmed yet, so not told: {', '.join(pending)}",
            'open the mail "AWS Notification - Subscription Confirmation" and click its '
            "link (`hakobu up` again re-sends it to a new address only)",
        )
    return ok(f"{len(report.subscriptions)} confirmed subscription(s)")
