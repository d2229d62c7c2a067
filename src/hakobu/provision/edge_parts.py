"""What the production edge is made of: the alarms hakobu creates and WAF's managed rules.

The blueprint renders them (blueprint/alarms.py, blueprint/waf.py), `hakobu cost` prices
them, `hakobu diagram` draws them and `hakobu alarms` reads their state. They live outside
the blueprint package because importing any module of it runs its `__init__`, which
imports every part: `cost` and `alarms`, which render nothing, would pay for all of them
(bench/startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from hakobu.core.engines import engine

if TYPE_CHECKING:
    from hakobu.core.config import Environment

# The two 5xx rates: also the ECS service's deployment alarms (a rollout that trips one is
# rolled back), and each a metric-math alarm over two metrics.
ROLLBACK_KEYS = ("alb_5xx_percent", "target_5xx_percent")
# AWS's managed rule groups on the web ACL, in priority order (the rate limit comes after).
MANAGED_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


class AlarmSpec(msgspec.Struct, frozen=True):
    """One alarm: the [alarms] key of its threshold, its name and what it watches."""

    key: str
    slug: str
    description: str


SPECS = (
    AlarmSpec("alb_5xx_percent", "alb-5xx", "5xx answered by the load balancer, % of requests"),
    AlarmSpec("target_5xx_percent", "app-5xx", "5xx answered by the app, % of requests"),
    AlarmSpec("p95_response_ms", "p95-response", "95th percentile response time (ms)"),
    AlarmSpec("unhealthy_hosts", "unhealthy-tasks", "tasks failing the health check"),
    AlarmSpec("ecs_cpu_percent", "ecs-cpu", "the service's average CPU (%)"),
    AlarmSpec("ecs_memory_percent", "ecs-memory", "the service's average memory (%)"),
    AlarmSpec("rds_cpu_percent", "db-cpu", "the database's CPU (%)"),
    AlarmSpec("rds_free_storage_mb", "db-free-storage", "the database's free storage (MiB)"),
    AlarmSpec("rds_connections", "db-connections", "connections to the database"),
    AlarmSpec("rds_freeable_memory_mb", "db-freeable-memory", "the database's free memory (MiB)"),
)


def specs(env: Environment) -> list[AlarmSpec]:
    """The alarms this environment has (Aurora grows its storage itself: no storage alarm)."""
    if env.settings.alarms is None:
        return []
    aurora = engine(env.settings.database.engine).aurora
    return [s for s in SPECS if not (aurora and s.key == "rds_free_storage_mb")]
