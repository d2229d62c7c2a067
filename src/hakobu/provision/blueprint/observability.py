"""CloudWatch Logs: where the app's stdout and stderr go, kept for a bounded time."""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment

LOG_GROUP = "aws_cloudwatch_log_group.app"


def observability(env: Environment) -> Fragment:
    names = Names.of(env)
    part = Fragment("logs")
    part.resource(
        "aws_cloudwatch_log_group",
        "app",
        {
            "name": names.log_group,
            # Logs kept forever cost money forever; the period is set in hakobu.toml.
            "retention_in_days": env.settings.logs.retention_days,
        },
    )
    return part
