"""For the sandbox runtime's tests: a real moto server in the test process (so the
runtime's bridge sees its backends), real boto3 clients over HTTP, and a small ECS stack on
it: VPC, subnet, cluster, task definition, service, target group, load balancer, log group,
secret.

    @pytest.fixture(scope="module")
    def aws() -> Iterator[Aws]:
        with moto_server() as server:
            yield server
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hakobu.sandbox.runtime import bridge
from tests.support.moto_server import REGION, Aws
from tests.support.moto_server import moto_server as plain_moto_server

ACCOUNT = "123456789012"
DB_PASSWORD = "s3cret-Pa55word"  # a test value, never a real secret


@contextmanager
def moto_server() -> Iterator[Aws]:
    """moto's threaded server (tests.support.moto_server), and the runtime's bridge undone
    before it stops: the runtime's tests install it."""
    with plain_moto_server() as aws:
        try:
            yield aws
        finally:
            bridge.uninstall()


@dataclass
class Stack:
    """Names and ARNs of the small stack (one per test, so tests do not share state)."""

    app: str
    cluster: str
    subnet_id: str
    subnet_cidr: str
    security_group: str
    task_definition: str
    target_group: str
    load_balancer: str
    log_group: str
    secret_arn: str


def make_stack(aws: Aws, app: str, container: dict[str, Any] | None = None) -> Stack:
    """Create the stack for `app` (names derived from it); `container` replaces the
    default container definition (busybox httpd serving / on port 8080)."""
    ec2, ecs, elbv2 = aws.client("ec2"), aws.client("ecs"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # As hakobu's VPC does (and moto's run_task needs: its ENIs take a DNS name).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    cidr = "10.0.1.0/24"  # each stack has its own VPC
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}a")
    subnet_id = subnet["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"{app}-sg", Description="app", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName=f"{app}-cluster")
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=f"/ecs/{app}")
    secret = aws.client("secretsmanager").create_secret(
        Name=f"{app}-db-password", SecretString=DB_PASSWORD
    )["ARN"]
    definition = container or {
        "name": app,
        "image": "hakobu-test/httpd:1",
        "essential": True,
        "memory": 512,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "GREETING", "value": "hello"}],
        "secrets": [{"name": "DATABASE_PASSWORD", "valueFrom": secret}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": f"/ecs/{app}",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "ecs",
            },
        },
    }
    td = ecs.register_task_definition(
        family=app,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[definition],
    )["taskDefinition"]["taskDefinitionArn"]
    tg = elbv2.create_target_group(
        Name=f"{app}-tg",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/",
        HealthCheckIntervalSeconds=5,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=2,
        HealthCheckTimeoutSeconds=2,
    )["TargetGroups"][0]["TargetGroupArn"]
    lb = elbv2.create_load_balancer(Name=f"{app}-alb", Subnets=[subnet_id], SecurityGroups=[sg])
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    return Stack(
        app=app,
        cluster=f"{app}-cluster",
        subnet_id=subnet_id,
        subnet_cidr=cidr,
        security_group=sg,
        task_definition=td,
        target_group=tg,
        load_balancer=f"{app}-alb",
        log_group=f"/ecs/{app}",
        secret_arn=secret,
    )


def create_service(
    aws: Aws,
    stack: Stack,
    desired: int = 1,
    grace: int = 0,
    circuit_breaker: bool = True,
) -> dict[str, Any]:
    return aws.client("ecs").create_service(
        cluster=stack.cluster,
        serviceName=f"{stack.app}-service",
        taskDefinition=stack.task_definition,
        desiredCount=desired,
        launchType="FARGATE",
        enableExecuteCommand=True,
        healthCheckGracePeriodSeconds=grace,
        deploymentConfiguration={
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": circuit_breaker, "rollback": True},
        },
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [stack.subnet_id],
                "securityGroups": [stack.security_group],
                "assignPublicIp": "DISABLED",
            }
        },
        loadBalancers=[
            {
                "targetGroupArn": stack.target_group,
                "containerName": stack.app,
                "containerPort": 8080,
            }
        ],
    )["service"]


def register_revision(aws: Aws, stack: Stack, **changes: Any) -> str:
    """A new revision of the stack's task definition with container fields changed."""
    ecs = aws.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=stack.task_definition)["taskDefinition"]
    container = {**current["containerDefinitions"][0], **changes}
    return str(
        ecs.register_task_definition(
            family=current["family"],
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]
    )


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)
