"""CloudWatch alarms: their state, why, and since when."""

from __future__ import annotations

from datetime import datetime, timedelta
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


def latest_average(
    cloudwatch: Any,
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    now: datetime,
    window: timedelta = timedelta(minutes=10),
) -> float | None:
    """The newest one-minute average of a metric within `window` before `now`; None when
    the metric published nothing then (a new resource, or the sandbox)."""
    answer = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - window,
        EndTime=now,
        Period=60,
        Statistics=["Average"],
    )
    points = sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1]["Average"]) if points else None
