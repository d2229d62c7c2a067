"""The Application Load Balancer, its target group and the HTTP listener.

The health-check and deregistration values are chosen for fast, safe rollouts; the
defaults (30 s interval x 5 checks, 300 s deregistration delay) make every deploy wait
minutes for nothing.
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.https import (
    HTTPS_LISTENER,
    http_default_action,
    https_listener,
    serves_https,
)
from hakobu.provision.blueprint.network import VPC, dual_stack, subnet_ids
from hakobu.provision.blueprint.security import ALB_SG

LOAD_BALANCER = "aws_lb.main"
TARGET_GROUP = "aws_lb_target_group.app"
LISTENER = "aws_lb_listener.http"

# A new task is healthy after 2 checks 10 s apart (about 20 s) instead of 5 x 30 s.
HEALTH_CHECK_INTERVAL_SECONDS = 10
HEALTHY_THRESHOLD = 2
# Three misses (30 s) before a running task is marked unhealthy: one slow response or a
# garbage-collection pause must not take a task out of service.
UNHEALTHY_THRESHOLD = 3
# Must be shorter than the interval; a health endpoint that needs 5 s is itself a problem.
HEALTH_CHECK_TIMEOUT_SECONDS = 5
# In-flight web requests finish well within 30 s (Rack::Timeout and gunicorn default to
# 15-30 s); waiting the default 300 s only slows every rollout and scale-in.
DEREGISTRATION_DELAY_SECONDS = 30


def load_balancer(env: Environment) -> Fragment:
    names = Names.of(env)
    settings = env.settings.service
    part = Fragment("load balancer")
    part.resource(
        "aws_lb",
        "main",
        {
            "name": names.load_balancer,
            "internal": False,
            "load_balancer_type": "application",
            "security_groups": [ref(ALB_SG)],
            "subnets": subnet_ids(env, "public"),
            # IPv4 and IPv6 clients, for the name's A and AAAA aliases (blueprint.network).
            **({"ip_address_type": "dualstack"} if dual_stack(env) else {}),
            # Reject requests with malformed headers instead of passing them to the app.
            "drop_invalid_header_fields": True,
            "tags": {"Name": names.load_balancer},
        },
    )
    part.resource(
        "aws_lb_target_group",
        "app",
        {
            "name": names.target_group,
            "port": settings.port,
            "protocol": "HTTP",
            # Fargate tasks use awsvpc networking: targets are task IPs, not instances.
            "target_type": "ip",
            "vpc_id": ref(VPC),
            "deregistration_delay": str(DEREGISTRATION_DELAY_SECONDS),
            "health_check": {
                "enabled": True,
                "path": settings.health_check_path,
                "protocol": "HTTP",
                "matcher": "200",
                "interval": HEALTH_CHECK_INTERVAL_SECONDS,
                "timeout": HEALTH_CHECK_TIMEOUT_SECONDS,
                "healthy_threshold": HEALTHY_THRESHOLD,
                "unhealthy_threshold": UNHEALTHY_THRESHOLD,
            },
            "tags": {"Name": names.target_group},
        },
    )
    part.resource(
        "aws_lb_listener",
        "http",
        {
            "load_balancer_arn": ref(LOAD_BALANCER, "arn"),
            "port": 80,
            "protocol": "HTTP",
            "default_action": [http_default_action(env, ref(TARGET_GROUP, "arn"))],
            # The service waits for this listener; with HTTPS its target group is attached
            # by the 443 listener, which must exist first.
            **({"depends_on": [HTTPS_LISTENER]} if serves_https(env) else {}),
        },
    )
    https_listener(part, env, ref(LOAD_BALANCER, "arn"), ref(TARGET_GROUP, "arn"))
    part.output(
        "load_balancer_dns", ref(LOAD_BALANCER, "dns_name"), "The app's public address (HTTP)"
    )
    return part
