"""An ECS service per process beside web: same image, environment and secrets, no load balancer.

Each process `NAME` gets a task-definition family and a service, both `{prefix}-NAME`, with
its own command, task size, count and Spot setting, and its own log stream prefix. As for
web, Terraform creates the first revision and `hakobu deploy` registers later ones, so
each service ignores `task_definition` changes.
"""

from __future__ import annotations

import json
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.config.processes import ProcessSettings, workers
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, literal_words, ref
from hakobu.provision.blueprint.iam import EXECUTION_ROLE, TASK_ROLE
from hakobu.provision.blueprint.network import subnet_ids
from hakobu.provision.blueprint.security import ECS_SG
from hakobu.provision.blueprint.service import ARCHITECTURES, CLUSTER, container_definition

CAPACITY_PROVIDERS = "aws_ecs_cluster_capacity_providers.main"


def resource_name(process: str) -> str:
    """`worker` -> `process_worker`: Terraform names cannot hold every character AWS's can."""
    return "process_" + process.replace("-", "_")


def processes(env: Environment) -> Fragment:
    part = Fragment("service")
    running = workers(env)
    if any(settings.spot for settings in running.values()) and not env.settings.service.spot:
        # web's part declares the providers when web runs on Spot; otherwise they are here.
        part.resource(
            "aws_ecs_cluster_capacity_providers",
            "main",
            {
                "cluster_name": ref(CLUSTER, "name"),
                "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
            },
        )
    for name, settings in running.items():
        _process(part, env, name, settings)
    return part


def process_container(env: Environment, name: str, command: list[str] | None, memory: int) -> Any:
    """web's container, running `command`, logging under its own stream prefix."""
    container = container_definition(env)
    container.pop("portMappings")
    container["memory"] = memory
    if command is not None:
        container["command"] = literal_words(command)
    container["logConfiguration"]["options"]["awslogs-stream-prefix"] = name  # type: ignore[index]
    return container


def task_definition_body(
    env: Environment, family: str, cpu: int, memory: int, container: Any
) -> dict[str, Any]:
    return {
        "family": family,
        "requires_compatibilities": ["FARGATE"],
        "network_mode": "awsvpc",
        "cpu": str(cpu),
        "memory": str(memory),
        "execution_role_arn": ref(EXECUTION_ROLE, "arn"),
        "task_role_arn": ref(TASK_ROLE, "arn"),
        "runtime_platform": {
            "operating_system_family": "LINUX",
            "cpu_architecture": ARCHITECTURES[env.settings.service.platform],
        },
        "container_definitions": json.dumps([container]),
    }


def _process(part: Fragment, env: Environment, name: str, settings: ProcessSettings) -> None:
    names = Names.of(env)
    key = resource_name(name)
    container = process_container(env, name, settings.command, settings.memory)
    definition = part.resource(
        "aws_ecs_task_definition",
        key,
        task_definition_body(env, names.process(name), settings.cpu, settings.memory, container),
    )
    public = env.settings.service.public_ip
    part.resource(
        "aws_ecs_service",
        key,
        {
            "name": names.process(name),
            "cluster": ref(CLUSTER, "id"),
            "task_definition": ref(definition, "arn"),
            "desired_count": settings.desired_count,
            **_capacity(settings),
            "platform_version": "LATEST",
            "enable_execute_command": True,
            "propagate_tags": "SERVICE",
            # No load balancer: a new task counts as healthy once it runs, so keep the old
            # ones until then (a worker never drops below its count during a rollout).
            "deployment_minimum_healthy_percent": 100,
            "deployment_maximum_percent": 200,
            "deployment_circuit_breaker": {"enable": True, "rollback": True},
            # Where web's tasks run, with web's security group: same reach to the database,
            # and no ingress of its own (the group admits only the ALB).
            "network_configuration": {
                "subnets": subnet_ids(env, "public" if public else "private"),
                "security_groups": [ref(ECS_SG)],
                "assign_public_ip": public,
            },
            "lifecycle": {"ignore_changes": ["task_definition"]},
            **({"depends_on": [CAPACITY_PROVIDERS]} if settings.spot else {}),
        },
    )


def _capacity(settings: ProcessSettings) -> dict[str, object]:
    if not settings.spot:
        return {"launch_type": "FARGATE"}
    return {"capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]}
