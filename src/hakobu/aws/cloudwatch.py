"""CloudWatch alarms: their state, why, and since when."""

from __future__ import annotations

from typing import Any

# DescribeAlarms takes at most 100 names per call.
_NAMES_PER_CALL = 100


def describe_alarms(cloudwatch: Any, names: list[str]) -> list[dict[str, Any]]:
    """The metric alarms with these names that exist, in the order asked."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), _NAMES_PER_CALL):
        chunk = names[start : start + _NAMES_PER_CALL]
        paginator = cloudwatch.get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=["MetricAlarm"]):
            found |= {alarm["AlarmName"]: alarm for alarm in page.get("MetricAlarms", [])}
    return [found[name] for name in names if name in found]


def dashboard_exists(cloudwatch: Any, name: str) -> bool:
    try:
        cloudwatch.get_dashboard(DashboardName=name)
    except cloudwatch.exceptions.ResourceNotFound:
        return False
    return True
