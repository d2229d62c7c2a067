"""The schedules across `hakobu pause` and `resume`.

A paused environment has no task running and, usually, its DB stopped: a scheduled run
would start a task anyway (billed, and failing on the stopped DB, or with a deep pause on
an image it cannot pull without NAT), and land in the dead-letter queue. Pause disables
every schedule of hakobu.toml; resume enables them again. Terraform renders them ENABLED,
so an apply in between (the deep pause's own, or `hakobu up`) enables them: pause
disables them after its Terraform step.
"""

from __future__ import annotations

from hakobu.aws import scheduler as scheduler_ops
from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.core.names import Names

ENABLED, DISABLED = "ENABLED", "DISABLED"


def set_schedules(env: Environment, aws: ClientSource, enabled: bool) -> list[str]:
    """Enable or disable every schedule of `env`; the names of those that changed (one not
    applied yet is left alone)."""
    if not env.settings.schedules:
        return []
    names = Names.of(env)
    client = aws.client("scheduler")
    changed = []
    for schedule in env.settings.schedules:
        aws_name = names.schedule(schedule.name)
        described = scheduler_ops.schedule(client, aws_name)
        state = ENABLED if enabled else DISABLED
        if described is not None and scheduler_ops.set_state(client, described, state):
            changed.append(aws_name)
    return changed
