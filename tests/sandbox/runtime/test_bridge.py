"""The bridge against a real moto server over HTTP: after each bridge call, what do
boto3's public calls (describe-services, describe-tasks, describe-target-health,
get-log-events, describe-db-instances) return? No containers here.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import time
from collections.abc import Iterator

import pytest

from hakobu.sandbox.runtime import bridge
from tests.support.ecs_stack import (
    ACCOUNT,
    DB_PASSWORD,
    REGION,
    Aws,
    Stack,
    create_service,
    make_stack,
    moto_server,
    register_revision,
)

_names = (f"app{n}" for n in itertools.count())
DB_PORT = 43306  # what the runtime would give a new DB; nothing listens in these tests


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    with moto_server() as server:
        yield server


@pytest.fixture(autouse=True, scope="module")
def installed(aws: Aws) -> Iterator[None]:
    bridge.install(db_port=lambda engine: DB_PORT)
    yield
    bridge.uninstall()


@pytest.fixture
def stack(aws: Aws) -> Stack:
    return make_stack(aws, next(_names))


def _service_ref(stack: Stack) -> bridge.ServiceRef:
    return bridge.ServiceRef(ACCOUNT, REGION, stack.cluster, f"{stack.app}-service")


def _describe_service(aws: Aws, stack: Stack) -> dict:
    ecs = aws.client("ecs")
    return ecs.describe_services(cluster=stack.cluster, services=[f"{stack.app}-service"])[
        "services"
    ][0]


def _run_one(aws: Aws, stack: Stack, **kwargs: object) -> str:
    response = aws.client("ecs").run_task(
        cluster=stack.cluster,
        taskDefinition=stack.task_definition,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [stack.subnet_id],
                "securityGroups": [stack.security_group],  # moto needs them, ECS does not
                "assignPublicIp": "DISABLED",
            }
        },
        **kwargs,
    )
    return str(response["tasks"][0]["taskArn"])


# --- ECS services --------------------------------------------------------------------


def test_create_service_keeps_what_moto_drops(aws: Aws, stack: Stack) -> None:
    create_service(aws, stack, grace=45)
    described = _describe_service(aws, stack)
    assert described["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert described["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert described["healthCheckGracePeriodSeconds"] == 45
    assert described["enableExecuteCommand"] is True

    view = bridge.service(_service_ref(stack))
    assert view is not None
    assert (view.minimum_healthy_percent, view.maximum_percent, view.grace_period_s) == (
        100,
        200,
        45,
    )
    assert view.circuit_breaker and view.rollback
    assert view.targets == (bridge.ServiceTarget(stack.target_group, stack.app, 8080),)
    assert view.subnets == (stack.subnet_id,)
    assert any(s.ref == view.ref for s in bridge.services())


def test_update_service_starts_a_new_primary_deployment(aws: Aws, stack: Stack) -> None:
    create_service(aws, stack, desired=2)
    first = _describe_service(aws, stack)["deployments"][0]["id"]
    revision = register_revision(aws, stack, environment=[{"name": "GREETING", "value": "v2"}])
    family_and_revision = revision.split("/")[-1]

    updated = aws.client("ecs").update_service(
        cluster=stack.cluster, service=f"{stack.app}-service", taskDefinition=family_and_revision
    )["service"]

    deployments = {d["status"]: d for d in updated["deployments"]}
    assert deployments["PRIMARY"]["taskDefinition"] == revision  # the ARN, as ECS reports
    assert deployments["PRIMARY"]["rolloutState"] == "IN_PROGRESS"
    assert deployments["PRIMARY"]["id"] != first
    assert deployments["ACTIVE"]["id"] == first
    assert deployments["ACTIVE"]["taskDefinition"] == stack.task_definition
    assert updated["taskDefinition"] == revision
    assert updated["runningCount"] == 0  # moto alone would claim 2

    forced = aws.client("ecs").update_service(
        cluster=stack.cluster, service=f"{stack.app}-service", forceNewDeployment=True
    )["service"]
    assert [d["status"] for d in forced["deployments"]] == ["PRIMARY", "ACTIVE", "ACTIVE"]
    assert forced["deployments"][0]["taskDefinition"] == revision


def test_desired_count_change_keeps_the_deployment(aws: Aws, stack: Stack) -> None:
    create_service(aws, stack, desired=1)
    updated = aws.client("ecs").update_service(
        cluster=stack.cluster, service=f"{stack.app}-service", desiredCount=3
    )["service"]
    assert len(updated["deployments"]) == 1
    assert updated["deployments"][0]["desiredCount"] == 3
    assert (updated["desiredCount"], updated["runningCount"]) == (3, 0)


def test_counts_events_and_rollout_state_reach_describe_services(aws: Aws, stack: Stack) -> None:
    create_service(aws, stack, desired=2)
    ref = _service_ref(stack)
    deployment = bridge.service(ref).deployments[0].id  # type: ignore[union-attr]

    bridge.set_counts(ref, {deployment: (1, 1)})
    bridge.add_service_event(ref, f"(service {ref.name}) has started 1 tasks: (task abc).")
    bridge.add_service_event(ref, f"(service {ref.name}) has reached a steady state.")
    bridge.set_deployment_state(
        ref, deployment, rollout_state="COMPLETED", reason=f"ECS deployment {deployment} completed."
    )

    described = _describe_service(aws, stack)
    assert (described["runningCount"], described["pendingCount"]) == (1, 1)
    primary = described["deployments"][0]
    assert (primary["runningCount"], primary["pendingCount"]) == (1, 1)
    assert primary["rolloutState"] == "COMPLETED"
    assert primary["rolloutStateReason"] == f"ECS deployment {deployment} completed."
    # ECS lists events newest first.
    assert described["events"][0]["message"].endswith("has reached a steady state.")
    assert "has started 1 tasks" in described["events"][1]["message"]


def test_rollback_makes_a_new_primary_of_the_old_revision(aws: Aws, stack: Stack) -> None:
    create_service(aws, stack)
    ref = _service_ref(stack)
    revision = register_revision(aws, stack, command=["false"])
    aws.client("ecs").update_service(
        cluster=stack.cluster, service=ref.name, taskDefinition=revision
    )
    failed = bridge.service(ref).deployments[0].id  # type: ignore[union-attr]
    bridge.set_deployment_state(
        ref,
        failed,
        rollout_state="FAILED",
        reason="ECS deployment circuit breaker: tasks failed to start.",
        failed_tasks=3,
    )

    new = bridge.start_rollback(ref, stack.task_definition)

    described = _describe_service(aws, stack)
    assert described["taskDefinition"] == stack.task_definition
    by_id = {d["id"]: d for d in described["deployments"]}
    assert by_id[new]["status"] == "PRIMARY"
    assert by_id[new]["taskDefinition"] == stack.task_definition
    assert by_id[failed]["status"] == "ACTIVE"
    assert by_id[failed]["rolloutState"] == "FAILED"
    assert by_id[failed]["failedTasks"] == 3

    bridge.remove_deployment(ref, failed)
    assert failed not in {d["id"] for d in _describe_service(aws, stack)["deployments"]}


# --- ECS tasks ----------------------------------------------------------------------


def test_run_task_is_provisioning_until_the_runtime_says_otherwise(aws: Aws, stack: Stack) -> None:
    ecs = aws.client("ecs")
    arn = _run_one(
        aws, stack, overrides={"containerOverrides": [{"name": stack.app, "command": ["false"]}]}
    )
    for _ in range(3):  # moto alone advances a task one step per describe
        task = ecs.describe_tasks(cluster=stack.cluster, tasks=[arn])["tasks"][0]
        assert task["lastStatus"] == "PROVISIONING"

    pending = [t for t in bridge.pending_run_tasks() if t.ref.arn == arn]
    assert len(pending) == 1
    assert pending[0].overrides[stack.app].command == ("false",)
    assert pending[0].service_name is None
    bridge.claim(pending[0].ref)
    assert arn not in {t.ref.arn for t in bridge.pending_run_tasks()}

    ref = pending[0].ref
    bridge.set_task_state(ref, "RUNNING", containers=[bridge.ContainerReport(stack.app, "RUNNING")])
    task = ecs.describe_tasks(cluster=stack.cluster, tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "RUNNING"
    assert task["startedAt"]

    bridge.set_task_state(
        ref,
        "STOPPED",
        desired_status="STOPPED",
        stopped_reason="Essential container in task exited",
        stop_code="EssentialContainerExited",
        containers=[bridge.ContainerReport(stack.app, "STOPPED", exit_code=1)],
    )
    task = ecs.describe_tasks(cluster=stack.cluster, tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 1
    assert task["containers"][0]["lastStatus"] == "STOPPED"
    assert task["stoppedAt"] >= task["startedAt"]


def test_service_task_gets_an_ip_of_its_subnet_and_list_tasks_filters(
    aws: Aws, stack: Stack
) -> None:
    create_service(aws, stack)
    ref = _service_ref(stack)
    deployment = bridge.service(ref).deployments[0].id  # type: ignore[union-attr]
    started = [bridge.start_service_task(ref, deployment, stack.task_definition) for _ in range(2)]
    one_off = _run_one(aws, stack)

    ips = [t.ip for t in started]
    assert len(set(ips)) == 2
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network(stack.subnet_cidr) for ip in ips)
    ecs = aws.client("ecs")
    listed = ecs.list_tasks(cluster=stack.cluster, serviceName=ref.name)["taskArns"]
    assert sorted(listed) == sorted(t.ref.arn for t in started)
    assert one_off in ecs.list_tasks(cluster=stack.cluster)["taskArns"]

    described = ecs.describe_tasks(cluster=stack.cluster, tasks=[started[0].ref.arn])["tasks"][0]
    assert described["group"] == f"service:{ref.name}"
    assert described["startedBy"] == deployment
    assert described["lastStatus"] == "PROVISIONING"
    detail = {d["name"]: d["value"] for d in described["attachments"][0]["details"]}
    assert detail["privateIPv4Address"] == started[0].ip


def test_stop_task_leaves_last_status_to_the_runtime(aws: Aws, stack: Stack) -> None:
    create_service(aws, stack)
    ref = _service_ref(stack)
    deployment = bridge.service(ref).deployments[0].id  # type: ignore[union-attr]
    task = bridge.start_service_task(ref, deployment, stack.task_definition)
    bridge.set_task_state(task.ref, "RUNNING")

    stopped = aws.client("ecs").stop_task(
        cluster=stack.cluster, task=task.ref.arn, reason="Task stopped by user"
    )["task"]

    assert (stopped["lastStatus"], stopped["desiredStatus"]) == ("RUNNING", "STOPPED")
    view = bridge.task(task.ref)
    assert view is not None and view.desired_status == "STOPPED"
    assert view.stopped_reason == "Task stopped by user"


def test_task_definition_view(aws: Aws, stack: Stack) -> None:
    td = bridge.task_definition(ACCOUNT, REGION, stack.task_definition)
    (container,) = td.containers
    assert (td.family, td.revision, td.cpu, td.memory) == (stack.app, 1, 256, 512)
    assert container.environment == {"GREETING": "hello"}
    assert container.secrets == {"DATABASE_PASSWORD": stack.secret_arn}
    assert container.port == 8080
    assert container.log == bridge.LogSettings(stack.log_group, REGION, "ecs")


# --- ELBv2 --------------------------------------------------------------------------


def test_target_health_reports_the_runtime_states(aws: Aws, stack: Stack) -> None:
    elbv2 = aws.client("elbv2")
    bridge.register_target(stack.target_group, "10.0.1.10", 8080)

    def health() -> dict[str, dict]:
        descriptions = elbv2.describe_target_health(TargetGroupArn=stack.target_group)
        return {
            d["Target"]["Id"]: d["TargetHealth"] for d in descriptions["TargetHealthDescriptions"]
        }

    assert health()["10.0.1.10"] == {
        "State": "initial",
        "Reason": "Elb.RegistrationInProgress",
        "Description": "Target registration is in progress",
    }
    bridge.set_target_health(stack.target_group, "10.0.1.10", "healthy")
    assert health()["10.0.1.10"]["State"] == "healthy"
    bridge.set_target_health(
        stack.target_group,
        "10.0.1.10",
        "unhealthy",
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [500]",
    )
    assert health()["10.0.1.10"] == {
        "State": "unhealthy",
        "Reason": "Target.ResponseCodeMismatch",
        "Description": "Health checks failed with these codes: [500]",
    }
    bridge.set_target_health(
        stack.target_group,
        "10.0.1.10",
        "draining",
        "Target.DeregistrationInProgress",
        "Target deregistration is in progress",
    )
    assert health()["10.0.1.10"]["State"] == "draining"
    bridge.deregister_target(stack.target_group, "10.0.1.10")
    assert "10.0.1.10" not in health()


def test_target_group_and_load_balancer_views(aws: Aws, stack: Stack) -> None:
    aws.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=stack.target_group,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "7"}],
    )
    tg = bridge.target_group(stack.target_group)
    assert tg is not None
    assert (tg.health_path, tg.interval_s, tg.timeout_s) == ("/", 5.0, 2.0)
    assert (tg.healthy_threshold, tg.unhealthy_threshold, tg.matcher) == (2, 2, "200")
    assert tg.deregistration_delay_s == 7.0
    (lb,) = [lb for lb in bridge.load_balancers() if lb.name == stack.load_balancer]
    assert lb.listeners == ((80, stack.target_group),)
    assert lb.dns_name.startswith(stack.load_balancer)


# --- Logs, RDS, secrets -------------------------------------------------------------


def test_log_events_arrive_in_the_awslogs_stream(aws: Aws, stack: Stack) -> None:
    stream = f"ecs/{stack.app}/0123456789abcdef"
    now = round(time.time(), 3)  # CloudWatch refuses events older than 14 days
    assert bridge.put_log_events(
        ACCOUNT, REGION, stack.log_group, stream, [(now + 0.5, "GET / 200"), (now, "GET /up 200")]
    )
    events = aws.client("logs").get_log_events(
        logGroupName=stack.log_group, logStreamName=stream, startFromHead=True
    )["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [
        (int(now * 1000), "GET /up 200"),
        (int((now + 0.5) * 1000), "GET / 200"),
    ]
    assert not bridge.put_log_events(ACCOUNT, REGION, "/ecs/missing", stream, [(1.0, "x")])


def test_db_instance_gets_the_local_port_and_its_password(aws: Aws, stack: Stack) -> None:
    rds = aws.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier=f"{stack.app}-db",
        Engine="mysql",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        DBName="app_production",
        MasterUsername="app",
        MasterUserPassword=DB_PASSWORD,
    )
    described = rds.describe_db_instances(DBInstanceIdentifier=f"{stack.app}-db")["DBInstances"][0]
    assert described["Endpoint"]["Port"] == DB_PORT
    assert described["DBInstanceStatus"] == "creating"  # until the runtime's server answers
    bridge.set_db_instance_status(ACCOUNT, REGION, f"{stack.app}-db", "available")
    described = rds.describe_db_instances(DBInstanceIdentifier=f"{stack.app}-db")["DBInstances"][0]
    assert described["DBInstanceStatus"] == "available"

    (db,) = [d for d in bridge.db_instances() if d.identifier == f"{stack.app}-db"]
    assert (db.engine, db.database, db.username, db.port) == (
        "mysql",
        "app_production",
        "app",
        DB_PORT,
    )
    assert db.password == DB_PASSWORD
    assert DB_PASSWORD not in repr(db)
    assert db.address == described["Endpoint"]["Address"]

    # RDS's transitions, kept until the runtime's server has followed (databases.py).
    rds.stop_db_instance(DBInstanceIdentifier=f"{stack.app}-db")
    (db,) = [d for d in bridge.db_instances() if d.identifier == f"{stack.app}-db"]
    assert db.status == "stopping"
    bridge.set_db_instance_status(ACCOUNT, REGION, db.identifier, "stopped", only_from="starting")
    (db,) = [d for d in bridge.db_instances() if d.identifier == db.identifier]
    assert db.status == "stopping"  # not from the status it was asked to move from
    bridge.set_db_instance_status(ACCOUNT, REGION, db.identifier, "stopped", only_from="stopping")
    rds.start_db_instance(DBInstanceIdentifier=db.identifier)
    (db,) = [d for d in bridge.db_instances() if d.identifier == db.identifier]
    assert db.status == "starting"


def test_db_cluster_gets_the_local_port(aws: Aws, stack: Stack) -> None:
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=f"{stack.app}-aurora",
        Engine="aurora-postgresql",
        DatabaseName="app",
        MasterUsername="app",
        MasterUserPassword=DB_PASSWORD,
    )
    described = rds.describe_db_clusters(DBClusterIdentifier=f"{stack.app}-aurora")["DBClusters"]
    assert described[0]["Port"] == DB_PORT
    (db,) = [d for d in bridge.db_clusters() if d.identifier == f"{stack.app}-aurora"]
    assert (db.engine, db.database, db.password) == ("aurora-postgresql", "app", DB_PASSWORD)
    assert db.address == described[0]["Endpoint"]


def test_secret_values_as_ecs_injects_them(aws: Aws, stack: Stack) -> None:
    sm = aws.client("secretsmanager")
    assert bridge.secret_value(ACCOUNT, REGION, stack.secret_arn) == DB_PASSWORD
    structured = sm.create_secret(
        Name=f"{stack.app}-json", SecretString=json.dumps({"password": "pw", "port": 3306})
    )["ARN"]
    assert bridge.secret_value(ACCOUNT, REGION, f"{structured}:password::") == "pw"
    assert bridge.secret_value(ACCOUNT, REGION, f"{structured}:port::") == "3306"
    sm.put_secret_value(SecretId=stack.secret_arn, SecretString="rotated")
    assert bridge.secret_value(ACCOUNT, REGION, stack.secret_arn) == "rotated"
    aws.client("ssm").put_parameter(Name=f"/{stack.app}/token", Value="tok", Type="SecureString")
    assert bridge.secret_value(ACCOUNT, REGION, f"/{stack.app}/token") == "tok"
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{stack.app}/token"
    assert bridge.secret_value(ACCOUNT, REGION, arn) == "tok"
    with pytest.raises(LookupError):
        bridge.secret_value(ACCOUNT, REGION, f"{structured}:missing::")
    with pytest.raises(LookupError):
        bridge.secret_value(ACCOUNT, REGION, stack.secret_arn.replace(stack.app, "nope"))
