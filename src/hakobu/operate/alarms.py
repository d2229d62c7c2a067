"""`hakobu alarms`: each alarm's state and why, and who is told (the topic's subscriptions).

Also what `doctor` warns about (alarms in ALARM, e-mail subscriptions nobody confirmed,
so nobody is told) and what `deploy` says when ECS rolled a rollout back because a
deployment alarm fired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hakobu.aws import cloudwatch, sns
from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.provision.blueprint.alarms import alarm_name, topic_name
from hakobu.provision.edge_parts import ROLLBACK_KEYS, specs

IN_ALARM = "ALARM"


@dataclass(frozen=True)
class AlarmState:
    name: str
    key: str  # the [alarms] key of its threshold
    watches: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA, or MISSING (not created yet)
    reason: str
    since: str | None  # ISO 8601, UTC

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str
    confirmed: bool

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class AlarmsReport:
    alarms: tuple[AlarmState, ...]
    subscriptions: tuple[Subscription, ...]

    @property
    def firing(self) -> list[AlarmState]:
        return [a for a in self.alarms if a.state == IN_ALARM]

    @property
    def unconfirmed(self) -> list[Subscription]:
        return [s for s in self.subscriptions if not s.confirmed]

    def as_json(self) -> dict[str, Any]:
        return {
            "alarms": [a.as_json() for a in self.alarms],
            "subscriptions": [s.as_json() for s in self.subscriptions],
        }


def alarm_states(env: Environment, source: ClientSource) -> tuple[AlarmState, ...]:
    wanted = {alarm_name(env, spec): spec for spec in specs(env)}
    found = {
        alarm["AlarmName"]: alarm
        for alarm in cloudwatch.describe_alarms(source.client("cloudwatch"), list(wanted))
    }
    return tuple(
        _state(name, spec.key, spec.description, found.get(name)) for name, spec in wanted.items()
    )


def alarms_report(env: Environment, source: ClientSource) -> AlarmsReport | None:
    """None without [alarms]."""
    if env.settings.alarms is None:
        return None
    return AlarmsReport(alarm_states(env, source), _subscriptions(env, source))


def rollback_alarms_fired(
    env: Environment, source: ClientSource, since: datetime
) -> list[AlarmState]:
    """The deployment alarms that went into ALARM at or after `since` (a rollout's start)."""
    if env.settings.alarms is None:
        return []
    keys = set(ROLLBACK_KEYS)
    return [
        state
        for state in alarm_states(env, source)
        if state.key in keys
        and state.state == IN_ALARM
        and state.since is not None
        and datetime.fromisoformat(state.since) >= since.replace(microsecond=0)
    ]


def _state(name: str, key: str, watches: str, alarm: dict[str, Any] | None) -> AlarmState:
    if alarm is None:
        return AlarmState(name, key, watches, "MISSING", "not created: run `hakobu up`", None)
    updated = alarm.get("StateUpdatedTimestamp")
    return AlarmState(
        name,
        key,
        watches,
        str(alarm.get("StateValue", "")),
        str(alarm.get("StateReason", "")),
        updated.isoformat(timespec="seconds") if updated else None,
    )


def _subscriptions(env: Environment, source: ClientSource) -> tuple[Subscription, ...]:
    client = source.client("sns")
    topic = sns.topic_arn(client, topic_name(env))
    if topic is None:
        return ()
    return tuple(
        Subscription(
            protocol=str(s.get("Protocol", "")),
            endpoint=str(s.get("Endpoint", "")),
            confirmed=not sns.is_pending(s),
        )
        for s in sns.subscriptions(client, topic)
    )
