"""Auto scaling across `hakobu pause` and `resume`.

A paused service has 0 tasks, below any [autoscaling] minimum: left alone, Application
Auto Scaling would start tasks again at its next evaluation. Pause suspends every kind
of scaling (min and max are kept); resume lifts the suspension once the recorded count
is back. A deep pause also removes the scalable target (see `blueprint.paused`); the
next apply registers it again, unsuspended.
"""

from __future__ import annotations

from hakobu.aws import autoscaling as aas
from hakobu.aws.clients import ClientSource
from hakobu.core.config import Environment
from hakobu.core.names import Names


def suspend_autoscaling(env: Environment, aws: ClientSource, suspended: bool) -> bool:
    """Suspend (True) or resume (False) the service's scaling; False if it has none."""
    if env.settings.autoscaling is None:
        return False
    names = Names.of(env)
    client = aws.client("application-autoscaling")
    if aas.scalable_target(client, names.cluster, names.service) is None:
        return False  # not applied yet, or removed by a deep pause
    aas.set_suspended(client, names.cluster, names.service, suspended)
    return True
