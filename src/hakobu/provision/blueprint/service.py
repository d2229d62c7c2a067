"""The ECS cluster, the app's task definition and the service behind the load balancer.

Terraform creates the first task-definition revision; `hakobu deploy` registers later
ones pointing at image digests. The service therefore ignores `task_definition` changes,
so a later `terraform apply` never rolls a deploy back (docs/design.md, "Deploys").
"""

from __future__ import annotations

import json

from hakobu.core.config import Environment
from hakobu.core.config.processes import web_command
from hakobu.core.engines import engine
from hakobu.core.managed_secrets import managed_secrets
from hakobu.core.names import Names
from hakobu.core.placeholder import BOOTSTRAP_TAG
from hakobu.core.placeholder import runs_placeholder as runs_placeholder  # re-exported
from hakobu.provision.blueprint.alarms import deployment_alarms
from hakobu.provision.blueprint.autoscaling import initial_count, scaled_fields
from hakobu.provision.blueprint.database import host, port
from hakobu.provision.blueprint.document import Fragment, literal, literal_words, ref
from hakobu.provision.blueprint.https import tls_environment
from hakobu.provision.blueprint.iam import EXECUTION_ROLE, TASK_ROLE
from hakobu.provision.blueprint.load_balancer import LISTENER, TARGET_GROUP
from hakobu.provision.blueprint.network import subnet_ids
from hakobu.provision.blueprint.observability import LOG_GROUP
from hakobu.provision.blueprint.registry import REPOSITORY
from hakobu.provision.blueprint.security import ECS_SG
from hakobu.provision.blueprint.storage import storage_environment

CLUSTER = "aws_ecs_cluster.main"
TASK_DEFINITION = "aws_ecs_task_definition.app"
# Rails and gunicorn boot in well under a minute; failed health checks are ignored that
# long after a task starts so a slow boot is not killed mid-way.
HEALTH_CHECK_GRACE_SECONDS = 60
ARCHITECTURES = {"linux/amd64": "X86_64", "linux/arm64": "ARM64"}


def service(env: Environment) -> Fragment:
    names = Names.of(env)
    settings = env.settings.service
    part = Fragment("service")
    part.resource(
        "aws_ecs_cluster",
        "main",
        {
            "name": names.cluster,
            "setting": [{"name": "containerInsights", "value": "disabled"}],
        },
    )
    if settings.spot:
        part.resource(
            "aws_ecs_cluster_capacity_providers",
            "main",
            {
                "cluster_name": ref(CLUSTER, "name"),
                "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
            },
        )
    part.resource(
        "aws_ecs_task_definition",
        "app",
        {
            "family": names.task_family,
            "requires_compatibilities": ["FARGATE"],
            "network_mode": "awsvpc",
            "cpu": str(settings.cpu),
            "memory": str(settings.memory),
            "execution_role_arn": ref(EXECUTION_ROLE, "arn"),
            "task_role_arn": ref(TASK_ROLE, "arn"),
            "runtime_platform": {
                "operating_system_family": "LINUX",
                "cpu_architecture": ARCHITECTURES[settings.platform],
            },
            "container_definitions": json.dumps([_web_container(env)]),
        },
    )
    part.resource(
        "aws_ecs_service",
        "app",
        {
            "name": names.service,
            "cluster": ref(CLUSTER, "id"),
            "task_definition": ref(TASK_DEFINITION, "arn"),
            "desired_count": initial_count(env),
            **_capacity(env),
            "platform_version": "LATEST",
            "enable_execute_command": True,
            "propagate_tags": "SERVICE",
            "health_check_grace_period_seconds": HEALTH_CHECK_GRACE_SECONDS,
            # Start new tasks before stopping old ones: the app never drops below its count.
            "deployment_minimum_healthy_percent": 100,
            "deployment_maximum_percent": 200,
            # A rollout whose tasks keep failing is stopped and rolled back by ECS itself.
            "deployment_circuit_breaker": {"enable": True, "rollback": True},
            # ... and so is one during which a 5xx alarm fires ([alarms]).
            **deployment_alarms(env),
            "network_configuration": {
                # Private subnets behind NAT; with service.public_ip (the lean profile), the
                # public subnets with a public IP. Either way only the ALB's SG gets in.
                "subnets": subnet_ids(env, "public" if settings.public_ip else "private"),
                "security_groups": [ref(ECS_SG)],
                "assign_public_ip": settings.public_ip,
            },
            "load_balancer": [
                {
                    "target_group_arn": ref(TARGET_GROUP, "arn"),
                    "container_name": names.container,
                    "container_port": settings.port,
                }
            ],
            # The image a deploy put in place is not drift: never revert it.
            # With auto scaling on, the task count is its to set, not drift either.
            "lifecycle": {"ignore_changes": ["task_definition", *scaled_fields(env)]},
            # The target group must be attached to the ALB before a service can use it.
            # The strategy for Spot needs the cluster's capacity providers first.
            "depends_on": [LISTENER]
            + (["aws_ecs_cluster_capacity_providers.main"] if settings.spot else []),
        },
    )
    return part


def _capacity(env: Environment) -> dict[str, object]:
    """Regular Fargate, or Spot for all tasks beyond `spot_base` on-demand ones."""
    settings = env.settings.service
    if not settings.spot:
        return {"launch_type": "FARGATE"}
    return {
        "capacity_provider_strategy": [
            {"capacity_provider": "FARGATE", "base": settings.spot_base, "weight": 0},
            {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 1},
        ],
    }


def _web_container(env: Environment) -> dict[str, object]:
    container = container_definition(env)
    command = web_command(env)
    if command is not None:  # [processes.web] command: run it instead of the image's CMD
        container["command"] = literal_words(command)
    return container


def container_definition(env: Environment) -> dict[str, object]:
    """The app container. Values with `${...}` are interpolated by Terraform."""
    names = Names.of(env)
    settings = env.settings.service
    return {
        "name": names.container,
        "image": f"{ref(REPOSITORY, 'repository_url')}:{BOOTSTRAP_TAG}",
        "essential": True,
        # Equal to the task's memory: the container may use all of it. Set explicitly
        # because RunTask (the release command) requires a container-level limit in moto.
        "memory": settings.memory,
        "portMappings": [{"containerPort": settings.port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in _environment(env).items()],
        "secrets": [{"name": k, "valueFrom": v} for k, v in _secrets(env).items()],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": ref(LOG_GROUP, "name"),
                "awslogs-region": env.region,
                "awslogs-stream-prefix": "ecs",
            },
        },
        # An init process reaps the SSM agent's children during ECS Exec sessions.
        "linuxParameters": {"initProcessEnabled": True},
    }


def _environment(env: Environment) -> dict[str, str]:
    database = engine(env.settings.database.engine)
    variables = {
        # "mysql" or "postgres": which driver the app loads (the sandbox sets the same).
        "DATABASE_ENGINE": database.family,
        "DATABASE_HOST": host(env),
        "DATABASE_PORT": port(env),
        "DATABASE_NAME": literal(env.database_name),
        "DATABASE_USERNAME": literal(env.settings.database.username),
        "PORT": str(env.settings.service.port),
    }
    if env.framework == "rails":
        variables |= {
            "RAILS_ENV": "production",
            "RAILS_LOG_TO_STDOUT": "1",
            "RAILS_SERVE_STATIC_FILES": "1",
        }
    return variables | storage_environment(env) | tls_environment(env)


def _secrets(env: Environment) -> dict[str, str]:
    return {managed.variable: ref(managed.address, "arn") for managed in managed_secrets(env)}
