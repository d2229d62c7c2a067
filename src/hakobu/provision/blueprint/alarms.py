"""CloudWatch alarms on the stack's health, an SNS topic that mails them, and a dashboard.

Each alarm's threshold is a key of [alarms] (see `core.config.edge.AlarmsSettings` for why
each default is what it is). The two 5xx alarms are also the ECS service's deployment
alarms: when one fires during a rollout, ECS rolls the service back to the last revision
that worked (`deployment_alarms`), and `hakobu deploy` says so.

Dimensions name the ECS service and database literally, and the ALB through its
`arn_suffix`; missing data (no traffic, a paused stack) is not an alarm.
"""

from __future__ import annotations

import json
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.config.edge import AlarmsSettings
from hakobu.core.engines import engine
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.edge_parts import ROLLBACK_KEYS, AlarmSpec, specs

TOPIC = "aws_sns_topic.alarms"
MIB = 1024 * 1024
# Below this many requests a minute a rate means little: one error in three requests at
# night must not page anyone, nor roll a deploy back.
MIN_REQUESTS_FOR_A_RATE = 20


def alarms_of(env: Environment) -> AlarmsSettings | None:
    return env.settings.alarms


def alarm_name(env: Environment, spec: AlarmSpec) -> str:
    return f"{Names.of(env).prefix}-{spec.slug}"


def deployment_alarms(env: Environment) -> dict[str, Any]:
    """The ECS service's `alarms` block: roll a rollout back when a 5xx alarm fires."""
    if alarms_of(env) is None:
        return {}
    rollback = [alarm_name(env, s) for s in specs(env) if s.key in ROLLBACK_KEYS]
    return {"alarms": {"alarm_names": rollback, "enable": True, "rollback": True}}


def alarms(env: Environment) -> Fragment:
    part = Fragment("alarms")
    settings = alarms_of(env)
    if settings is None:
        return part
    part.resource("aws_sns_topic", "alarms", {"name": topic_name(env)})
    if settings.email:
        part.resource(
            "aws_sns_topic_subscription",
            "email",
            {
                "for_each": {address: address for address in settings.email},
                "topic_arn": ref(TOPIC, "arn"),
                "protocol": "email",
                "endpoint": "${each.value}",
            },
        )
    for spec in specs(env):
        body = _alarm(env, spec, getattr(settings, spec.key))
        part.resource("aws_cloudwatch_metric_alarm", spec.key, body)
    part.resource(
        "aws_cloudwatch_dashboard",
        "main",
        {"dashboard_name": dashboard_name(env), "dashboard_body": _dashboard(env)},
    )
    return part


def _alarm(env: Environment, spec: AlarmSpec, threshold: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "alarm_name": alarm_name(env, spec),
        "alarm_actions": [ref(TOPIC, "arn")],
        "ok_actions": [ref(TOPIC, "arn")],
        "treat_missing_data": "notBreaching",
        **_METRICS[spec.key](env, threshold),
    }
    body["alarm_description"] = f"{spec.description}: {_condition(body)} ([alarms] {spec.key})"
    return body


def _condition(body: dict[str, Any]) -> str:
    words = {
        "GreaterThanThreshold": "above",
        "GreaterThanOrEqualToThreshold": "at least",
        "LessThanThreshold": "below",
    }
    return f"{words[body['comparison_operator']]} {body['threshold']}"


def _rate(errors_metric: str) -> Any:
    """A 5xx share of requests, per minute, 2 of 3 minutes (quick enough for a rollback)."""

    def build(env: Environment, threshold: int) -> dict[str, Any]:
        return {
            "comparison_operator": "GreaterThanThreshold",
            "threshold": threshold,
            "evaluation_periods": 3,
            "datapoints_to_alarm": 2,
            "metric_query": [
                _query("errors", errors_metric, "Sum"),
                _query("requests", "RequestCount", "Sum"),
                {
                    "id": "rate",
                    "expression": (
                        f"IF(requests >= {MIN_REQUESTS_FOR_A_RATE}, "
                        "100 * FILL(errors, 0) / requests, 0)"
                    ),
                    "label": "5xx (% of requests)",
                    "return_data": True,
                },
            ],
        }

    return build


def _query(name: str, metric: str, stat: str) -> dict[str, Any]:
    return {
        "id": name,
        "return_data": False,
        "metric": {
            "namespace": "AWS/ApplicationELB",
            "metric_name": metric,
            "period": 60,
            "stat": stat,
            "dimensions": _alb_dimensions(),
        },
    }


def _alb_dimensions(target_group: bool = False) -> dict[str, str]:
    dimensions = {"LoadBalancer": ref("aws_lb.main", "arn_suffix")}
    if target_group:
        dimensions["TargetGroup"] = ref("aws_lb_target_group.app", "arn_suffix")
    return dimensions


def _simple(
    namespace: str,
    metric: str,
    statistic: str,
    operator: str,
    period: int,
    periods: int,
    scale: float = 1,
) -> Any:
    def build(env: Environment, threshold: int) -> dict[str, Any]:
        if namespace == "AWS/ECS":
            dimensions = {
                "ClusterName": Names.of(env).cluster,
                "ServiceName": Names.of(env).service,
            }
        elif namespace == "AWS/RDS":
            dimensions = _db_dimensions(env)
        else:
            dimensions = _alb_dimensions(target_group=True)
        value = threshold * scale
        stat = (
            {"extended_statistic": statistic}
            if statistic.startswith("p")
            else {"statistic": statistic}
        )
        return {
            "namespace": namespace,
            "metric_name": metric,
            **stat,
            "dimensions": dimensions,
            "period": period,
            "evaluation_periods": periods,
            "comparison_operator": operator,
            "threshold": int(value) if float(value).is_integer() else value,
        }

    return build


def _db_dimensions(env: Environment) -> dict[str, str]:
    names = Names.of(env)
    if engine(env.settings.database.engine).aurora:
        return {"DBClusterIdentifier": names.db_cluster}
    return {"DBInstanceIdentifier": names.db_instance}


ABOVE, AT_LEAST, BELOW = (
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
)
_METRICS = {
    "alb_5xx_percent": _rate("HTTPCode_ELB_5XX_Count"),
    "target_5xx_percent": _rate("HTTPCode_Target_5XX_Count"),
    # TargetResponseTime is in seconds.
    "p95_response_ms": _simple(
        "AWS/ApplicationELB", "TargetResponseTime", "p95", ABOVE, 300, 2, 0.001
    ),
    "unhealthy_hosts": _simple(
        "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", AT_LEAST, 60, 3
    ),
    "ecs_cpu_percent": _simple("AWS/ECS", "CPUUtilization", "Average", ABOVE, 300, 2),
    "ecs_memory_percent": _simple("AWS/ECS", "MemoryUtilization", "Average", ABOVE, 300, 2),
    "rds_cpu_percent": _simple("AWS/RDS", "CPUUtilization", "Average", ABOVE, 300, 2),
    "rds_free_storage_mb": _simple("AWS/RDS", "FreeStorageSpace", "Minimum", BELOW, 300, 1, MIB),
    "rds_connections": _simple("AWS/RDS", "DatabaseConnections", "Maximum", ABOVE, 300, 2),
    "rds_freeable_memory_mb": _simple("AWS/RDS", "FreeableMemory", "Minimum", BELOW, 300, 2, MIB),
}


def _dashboard(env: Environment) -> str:
    """One graph per alarm, each with its threshold drawn (CloudWatch's alarm annotation)."""
    widgets = [
        {
            "type": "metric",
            "x": 12 * (index % 2),
            "y": 6 * (index // 2),
            "width": 12,
            "height": 6,
            "properties": {
                "title": spec.description,
                "region": env.region,
                "view": "timeSeries",
                "annotations": {"alarms": [ref(f"aws_cloudwatch_metric_alarm.{spec.key}", "arn")]},
            },
        }
        for index, spec in enumerate(specs(env))
    ]
    return json.dumps({"widgets": widgets})


def topic_name(env: Environment) -> str:
    return f"{Names.of(env).prefix}-alarms"


def dashboard_name(env: Environment) -> str:
    return Names.of(env).prefix
