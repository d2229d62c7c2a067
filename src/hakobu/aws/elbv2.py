"""ELBv2 look-ups: the load balancer by name and the health of a target group's targets."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from hakobu.aws.errors import error_code


def target_health(elbv2: Any, target_group_arn: str) -> dict[str, Any]:
    """`describe_target_health`: the answer, with its `TargetHealthDescriptions`."""
    return dict(elbv2.describe_target_health(TargetGroupArn=target_group_arn))


def load_balancer(elbv2: Any, name: str) -> dict[str, Any] | None:
    """The load balancer named `name`, or None if there is none (deleted, or paused)."""
    try:
        found = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    except ClientError as exc:
        if error_code(exc) == "LoadBalancerNotFound":
            return None
        raise
    return dict(found[0]) if found else None
