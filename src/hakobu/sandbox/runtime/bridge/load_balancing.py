"""ELBv2: the load balancers and target groups the runtime serves, and the targets and
health it registers and measures."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from moto.elbv2.models import elbv2_backends

from hakobu.sandbox.runtime.bridge.shared import as_int, lock, measured_health
from hakobu.sandbox.runtime.model import LoadBalancer, TargetGroup, TargetHealth


def _elbv2_for(arn: str) -> Any:
    _, _, _, region, account, _ = arn.split(":", 5)
    return elbv2_backends[account][region]


def target_group(arn: str) -> TargetGroup | None:
    tg = _elbv2_for(arn).target_groups.get(arn)
    if tg is None:
        return None
    matcher = (tg.matcher or {}).get("HttpCode", "200") if hasattr(tg, "matcher") else "200"
    return TargetGroup(
        arn=tg.arn,
        name=tg.name,
        port=as_int(tg.port),
        health_path=tg.health_check_path or "/",
        interval_s=float(tg.health_check_interval_seconds),
        timeout_s=float(tg.health_check_timeout_seconds),
        healthy_threshold=int(tg.healthy_threshold_count),
        unhealthy_threshold=int(tg.unhealthy_threshold_count),
        matcher=str(matcher),
        deregistration_delay_s=float(
            tg.attributes.get("deregistration_delay.timeout_seconds", 300)
        ),
        targets=tuple(tg.targets),
    )


def load_balancers() -> list[LoadBalancer]:
    """Every load balancer, with the target group each listener forwards to."""
    found = []
    for account, region, backend in list(elbv2_backends.iter_backends()):
        for lb in list(backend.load_balancers.values()):
            listeners = []
            for listener in list(lb.listeners.values()):
                for tg_arn in _forwarded(listener.default_actions):
                    listeners.append((int(listener.port), tg_arn))
            found.append(LoadBalancer(account, region, lb.name, lb.dns_name, tuple(listeners)))
    return found


def _forwarded(actions: Sequence[Any]) -> Iterator[str]:
    for action in actions:
        if action.type != "forward":
            continue
        if action.data.get("TargetGroupArn"):
            yield action.data["TargetGroupArn"]
        for tg in (action.data.get("ForwardConfig") or {}).get("TargetGroups", []):
            yield tg["TargetGroupArn"]


def register_target(tg_arn: str, target_id: str, port: int) -> None:
    """Register an IP target; it reports `initial` until health checks say otherwise."""
    with lock:
        _elbv2_for(tg_arn).register_targets(tg_arn, [{"Id": target_id, "Port": port}])
        measured_health.setdefault(tg_arn, {})[target_id] = TargetHealth(
            "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
        )


def set_target_health(
    tg_arn: str,
    target_id: str,
    state: str,
    reason: str | None = None,
    description: str | None = None,
) -> None:
    with lock:
        measured_health.setdefault(tg_arn, {})[target_id] = TargetHealth(state, reason, description)


def deregister_target(tg_arn: str, target_id: str) -> None:
    """Remove a drained target: moto then reports it `unused` if asked by id."""
    with lock:
        backend = _elbv2_for(tg_arn)
        tg = backend.target_groups.get(tg_arn)
        if tg is not None and target_id in tg.targets:
            tg.deregister([{"Id": target_id}])
        measured_health.get(tg_arn, {}).pop(target_id, None)
