"""Application Auto Scaling of the ECS service's task count ([autoscaling]).

Target tracking keeps the service's average CPU (and, when set, the ALB requests per task)
near the target, between min and max tasks. While it is on, Application Auto Scaling owns
the desired count: the service ignores `desired_count` changes (`blueprint.service`), so a
later apply never undoes a scale-out, and `hakobu scale N` stays inside [min, max].
"""

from __future__ import annotations

from typing import Any

from hakobu.core.config import Environment
from hakobu.core.config.edge import AutoscalingSettings
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref

TARGET = "aws_appautoscaling_target.service"
DIMENSION = "ecs:service:DesiredCount"
# Scale out fast (a minute of high load is real), scale in slowly (five quiet minutes), so
# a spiky load does not start and stop tasks all day.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300


def autoscaling_of(env: Environment) -> AutoscalingSettings | None:
    return env.settings.autoscaling


def scaled_fields(env: Environment) -> list[str]:
    """What the ECS service must not revert: the count auto scaling sets."""
    return ["desired_count"] if autoscaling_of(env) else []


def initial_count(env: Environment) -> int:
    """The count the service is created with: the configured one, inside [min, max]."""
    wanted = env.settings.service.desired_count
    settings = autoscaling_of(env)
    if settings is None:
        return wanted
    return min(max(wanted, settings.min), settings.max)


def autoscaling(env: Environment) -> Fragment:
    part = Fragment("autoscaling")
    settings = autoscaling_of(env)
    if settings is None:
        return part
    names = Names.of(env)
    part.resource(
        "aws_appautoscaling_target",
        "service",
        {
            "service_namespace": "ecs",
            "resource_id": "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}",
            "scalable_dimension": DIMENSION,
            "min_capacity": settings.min,
            "max_capacity": settings.max,
        },
    )
    _policy(part, f"{names.prefix}-cpu", "cpu", settings.cpu_target, {
        "predefined_metric_type": "ECSServiceAverageCPUUtilization",
    })  # fmt: skip
    if settings.requests_per_target:
        _policy(part, f"{names.prefix}-requests", "requests", settings.requests_per_target, {
            "predefined_metric_type": "ALBRequestCountPerTarget",
            "resource_label": "${aws_lb.main.arn_suffix}/${aws_lb_target_group.app.arn_suffix}",
        })  # fmt: skip
    return part


def _policy(part: Fragment, name: str, key: str, target: int, metric: dict[str, Any]) -> None:
    part.resource(
        "aws_appautoscaling_policy",
        key,
        {
            "name": name,
            "policy_type": "TargetTrackingScaling",
            "service_namespace": ref(TARGET, "service_namespace"),
            "resource_id": ref(TARGET, "resource_id"),
            "scalable_dimension": ref(TARGET, "scalable_dimension"),
            "target_tracking_scaling_policy_configuration": {
                "target_value": target,
                "predefined_metric_specification": metric,
                "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
                "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
            },
        },
    )
