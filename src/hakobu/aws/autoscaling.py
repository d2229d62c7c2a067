"""Application Auto Scaling of an ECS service: its range, its last activities, suspending."""

from __future__ import annotations

from typing import Any

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
# Every kind of scaling; a paused service must not be scaled back up to its minimum.
ALL_SUSPENDED = {
    "DynamicScalingInSuspended": True,
    "DynamicScalingOutSuspended": True,
    "ScheduledScalingSuspended": True,
}


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def scalable_target(client: Any, cluster: str, service: str) -> dict[str, Any] | None:
    answer = client.describe_scalable_targets(
        ServiceNamespace=NAMESPACE,
        ResourceIds=[resource_id(cluster, service)],
        ScalableDimension=DIMENSION,
    )
    targets = answer.get("ScalableTargets", [])
    return targets[0] if targets else None


def scaling_activities(client: Any, cluster: str, service: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` activities, newest first."""
    answer = client.describe_scaling_activities(
        ServiceNamespace=NAMESPACE,
        ResourceId=resource_id(cluster, service),
        ScalableDimension=DIMENSION,
        MaxResults=limit,
    )
    activities: list[dict[str, Any]] = answer.get("ScalingActivities", [])
    return sorted(activities, key=lambda a: a["StartTime"], reverse=True)[:limit]


def set_suspended(client: Any, cluster: str, service: str, suspended: bool) -> None:
    """Suspend (pause) or resume every kind of scaling; min and max are left as they are."""
    client.register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=resource_id(cluster, service),
        ScalableDimension=DIMENSION,
        SuspendedState={key: suspended for key in ALL_SUSPENDED},
    )
