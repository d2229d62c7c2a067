"""Target groups as local load balancers on 127.0.0.1, and their health in the emulator.

One `LoadBalancer` per target group a service uses: it health-checks the group's targets
as the group says (path, interval, timeout, thresholds, matcher) and routes only to healthy
ones. A target's id is its task's IP, as for `target_type = "ip"`; traffic goes to the
container's port published on 127.0.0.1. What the checks measure is copied into the
emulator, so `describe-target-health` shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from hakobu.sandbox.runtime import bridge
from hakobu.sandbox.runtime.balancer import HealthCheck, LoadBalancer, TargetState

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DRAINING = bridge.TargetHealth(
    "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
)


@dataclass
class Served:
    """A target group's local load balancer."""

    group: bridge.TargetGroup
    balancer: LoadBalancer
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


def health_check(group: bridge.TargetGroup) -> HealthCheck:
    return HealthCheck(
        path=group.health_path,
        interval_s=group.interval_s,
        timeout_s=group.timeout_s,
        healthy_threshold=group.healthy_threshold,
        unhealthy_threshold=group.unhealthy_threshold,
        matcher=group.matcher,
    )


class Routing:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.served: dict[str, Served] = {}  # by target group ARN
        self._draining: dict[tuple[str, str], float] = {}  # (group, target) -> drained at

    def ensure(self, tg_arn: str) -> Served | None:
        """The group's load balancer, started on first use; its checks follow the group."""
        group = bridge.target_group(tg_arn)
        if group is None:
            return None
        served = self.served.get(tg_arn)
        if served is None:
            balancer = LoadBalancer(
                health_check(group),
                deregistration_delay_s=group.deregistration_delay_s,
                clock=self.clock,
            )
            served = Served(group, balancer, balancer.start(0))
            self.served[tg_arn] = served
            log.info("target group %s served at %s", group.name, served.url)
        elif group != served.group:
            if health_check(group) != health_check(served.group):
                served.balancer.set_health_check(health_check(group))
            # modify-target-group-attributes: drains begun from now on wait this long.
            served.balancer.set_deregistration_delay(group.deregistration_delay_s)
            served.group = group
        return served

    def register(self, tg_arn: str, target_id: str, host_port: int, container_port: int) -> None:
        served = self.ensure(tg_arn)
        if served is None:
            return
        bridge.register_target(tg_arn, target_id, container_port)
        served.balancer.register(target_id, LOOPBACK, host_port)

    def drain(self, tg_arn: str, target_id: str) -> float:
        """Stop routing new requests to the target; when its draining ends (clock time)."""
        served = self.served.get(tg_arn)
        delay = served.group.deregistration_delay_s if served else 0.0
        if served is not None:
            served.balancer.deregister(target_id)
        bridge.set_target_health(tg_arn, target_id, **_fields(DRAINING))
        done = self.clock() + delay
        self._draining[(tg_arn, target_id)] = done
        return done

    def drained(self, tg_arn: str, target_id: str) -> bool:
        """True once the balancer let the target go: with no request left in flight (ALB
        ends a drain early then) or after the deregistration delay."""
        done = self._draining.get((tg_arn, target_id))
        served = self.served.get(tg_arn)
        if done is None or served is None:
            return True
        return target_id not in served.balancer.states() or self.clock() >= done

    def remove(self, tg_arn: str, target_id: str) -> None:
        """Forget a drained (or never healthy) target, in the balancer and the emulator."""
        served = self.served.get(tg_arn)
        if served is not None and (tg_arn, target_id) not in self._draining:
            served.balancer.deregister(target_id)
        self._draining.pop((tg_arn, target_id), None)
        bridge.deregister_target(tg_arn, target_id)

    def state(self, tg_arn: str, target_id: str) -> TargetState | None:
        served = self.served.get(tg_arn)
        return None if served is None else served.balancer.states().get(target_id)

    def sync(self) -> None:
        """Copy measured states into the emulator (draining targets keep `draining`)."""
        # An ALB answers from its creation (503 with no healthy target): serve every group
        # a listener forwards to, so `up` can give the URL before the first deploy.
        for lb in bridge.load_balancers():
            for _port, tg_arn in lb.listeners:
                if tg_arn not in self.served:
                    self.ensure(tg_arn)
        for tg_arn, served in list(self.served.items()):
            if self.ensure(tg_arn) is None:  # the target group was deleted
                served.balancer.stop()
                del self.served[tg_arn]
                continue
            for target_id, state in served.balancer.states().items():
                if (tg_arn, target_id) in self._draining or target_id not in served.group.targets:
                    continue
                bridge.set_target_health(
                    tg_arn, target_id, state.state, state.reason, state.description
                )

    def urls(self) -> dict[str, dict[str, str]]:
        """Load balancer name -> its URL on loopback (the first listener we serve)."""
        found: dict[str, dict[str, str]] = {}
        for lb in bridge.load_balancers():
            for listener_port, tg_arn in lb.listeners:
                served = self.served.get(tg_arn)
                if served is not None and lb.name not in found:
                    found[lb.name] = {
                        "url": served.url,
                        "dns_name": lb.dns_name,
                        "listener_port": str(listener_port),
                        "target_group": served.group.name,
                    }
        return found

    def shutdown(self) -> None:
        for served in self.served.values():
            try:
                served.balancer.stop()
            except Exception:
                log.exception("stopping the load balancer of %s", served.group.name)
        self.served.clear()


def _fields(health: bridge.TargetHealth) -> dict[str, str | None]:
    return {"state": health.state, "reason": health.reason, "description": health.description}
