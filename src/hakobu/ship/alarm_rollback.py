"""Why ECS rolled a rollout back, when the reason is a deployment alarm.

ECS's own reason for an alarm-based rollback names no alarm. The service's deployment
alarms are in its `deploymentConfiguration` (hakobu sets them from [alarms]); one that
went into ALARM after the rollout began is the cause, said with CloudWatch's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hakobu.aws.cloudwatch import describe_alarms
from hakobu.aws.ecs import service_description


def deployment_alarms(service: dict[str, Any]) -> list[str]:
    alarms = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
    if not alarms.get("enable"):
        return []
    return [str(name) for name in alarms.get("alarmNames", [])]


def alarm_rollback_reason(
    ecs: Any, cloudwatch: Any, cluster: str, service: str, since: datetime
) -> str | None:
    """A sentence naming the deployment alarm(s) that fired since `since`, or None."""
    names = deployment_alarms(service_description(ecs, cluster, service))
    if not names:
        return None
    fired = [
        alarm
        for alarm in describe_alarms(cloudwatch, names)
        if alarm.get("StateValue") == "ALARM" and alarm["StateUpdatedTimestamp"] >= since
    ]
    if not fired:
        return None
    causes = "; ".join(
        f"{a['AlarmName']}: {a.get('StateReason', 'no reason given')}" for a in fired
    )
    which = "alarm" if len(fired) == 1 else "alarms"
    return f"the deployment {which} fired during the rollout, so ECS rolled it back ({causes})"
