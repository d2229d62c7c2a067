"""`hakobu pause` / `resume` without AWS: the deep-paused document, the savings against the
price table, the plans, the state file, and the executors against botocore's Stubber
(strict queues: an extra call fails at once, a missing one fails `verify()`). The real
run against the emulator is tests/integration/test_pause_sandbox.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hakobu.aws.polling import Waiter
from hakobu.core.config import Environment
from hakobu.core.errors import HakobuError
from hakobu.operate.pausing.execute import (
    NO_ENGINE,
    NOTHING_DEPLOYED,
    execute_pause,
    execute_resume,
    start_database,
    stop_database,
)
from hakobu.operate.pausing.plan import Facts, plan_pause, plan_resume
from hakobu.operate.pausing.record import (
    PauseRecord,
    current_record,
    load_record,
    paused_notice,
    save_record,
    state_path,
)
from hakobu.operate.pausing.saving import pause_saving
from hakobu.operate.pausing.wait import Health, judge_health, wait_until_healthy
from hakobu.provision.blueprint import render
from hakobu.provision.blueprint.paused import deep_paused, references
from hakobu.provision.cost import HOURS_PER_MONTH
from hakobu.provision.prices import PriceTable, shipped_prices
from tests.conftest import environment_of, make_rails_app
from tests.support.stubbed_aws import TD, TG, StubbedAws, deployment_entry, service_entry

REGION = "ap-northeast-1"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CLUSTER = "rails-app-cluster"
PRICES = shipped_prices()


def env_of(**raw: Any) -> Environment:
    return environment_of({"app": "rails-app", "framework": "rails", **raw}, root=Path("/app"))


def addresses(document: dict[str, Any]) -> set[str]:
    return {f"{kind}.{name}" for kind, named in document["resource"].items() for name in named}


def price(key: str, region: str = REGION) -> float:
    found = PRICES.get(region, key)
    assert found is not None
    return found.usd


# --- the deep-paused document -----------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "gone"),
    [
        (None, {"aws_nat_gateway.main", "aws_eip.nat", "aws_route.private_default"}),
        ("lean", set()),
        (
            "ha",
            {
                "aws_nat_gateway.main_a",
                "aws_nat_gateway.main_c",
                "aws_eip.nat_a",
                "aws_eip.nat_c",
                "aws_route.private_a_default",
                "aws_route.private_c_default",
            },
        ),
    ],
)
def test_deep_pause_removes_exactly_the_nat_gateways_and_the_alb(
    profile: str | None, gone: set[str]
) -> None:
    env = env_of(**({"profile": profile} if profile else {}))
    normal, paused = render(env), render(env, paused=True)
    assert addresses(normal) - addresses(paused) == gone | {"aws_lb.main", "aws_lb_listener.http"}
    assert addresses(paused) <= addresses(normal)
    assert "load_balancer_dns" not in paused["output"]
    assert set(normal["output"]) - set(paused["output"]) == {"load_balancer_dns"}
    # What holds data or identity stays: VPC, subnets, route tables, DB, secrets, logs, ECR.
    for kept in ("aws_vpc.main", "aws_db_instance.main", "aws_lb_target_group.app",
                 "aws_ecr_repository.app", "aws_cloudwatch_log_group.app",
                 "aws_ecs_cluster.main", "aws_ecs_task_definition.app"):  # fmt: skip
        assert kept in addresses(paused), kept


def test_deep_pause_leaves_the_service_as_it_is_but_for_its_tasks() -> None:
    """The target group stays, so the service's load_balancer block does not change and
    Terraform has nothing to update or replace on it but the count."""
    env = env_of()
    normal = render(env)["resource"]["aws_ecs_service"]["app"]
    paused = render(env, paused=True)["resource"]["aws_ecs_service"]["app"]
    assert paused["desired_count"] == 0
    assert paused["load_balancer"] == normal["load_balancer"]
    assert (
        paused["health_check_grace_period_seconds"] == normal["health_check_grace_period_seconds"]
    )
    assert "aws_lb_listener.http" in normal["depends_on"]
    assert "aws_lb_listener.http" not in paused["depends_on"]
    differing = {k for k in normal.keys() | paused.keys() if normal.get(k) != paused.get(k)}
    assert differing == {"desired_count", "depends_on"}


def test_the_deep_paused_document_refers_to_nothing_it_removed() -> None:
    env = env_of(profile="ha")
    paused = render(env, paused=True)
    assert references(paused) & (addresses(render(env)) - addresses(paused)) == set()


def test_a_new_part_that_needs_a_removed_resource_is_caught() -> None:
    document = render(env_of())
    # (Alias records, alarms and the WAF association on the ALB are removed with it.)
    document["resource"]["aws_lb_listener_rule"] = {
        "admin": {"listener_arn": "${aws_lb_listener.http.arn}", "priority": 10}
    }
    with pytest.raises(ValueError, match=r"aws_lb_listener\.http"):
        deep_paused(document)


def test_render_without_paused_is_unchanged() -> None:
    env = env_of()
    assert render(env) == render(env, paused=False)
    assert render(env)["resource"]["aws_ecs_service"]["app"]["desired_count"] == 1


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("terraform") is None, reason="the terraform CLI is not on PATH")
@pytest.mark.parametrize("profile", ["guide", "lean", "ha"])
def test_the_deep_paused_document_is_valid_terraform(profile: str, tmp_path: Path) -> None:
    """`terraform validate`, offline, as tests/test_terraform_validate.py does (~4 s each)."""
    from tests.provision.test_terraform_validate import errors, initialized

    terraform = initialized(tmp_path / "terraform", render(env_of(profile=profile), paused=True))
    assert errors(terraform.validate()) == []


# --- savings against the price table ----------------------------------------------------


def test_a_pause_saves_the_tasks_and_the_db_instance_hours() -> None:
    saving = pause_saving(env_of(), PRICES, deep=False, desired_count=1)
    fargate = 0.25 * HOURS_PER_MONTH * price("fargate.vcpu_hour.x86") + (
        0.5 * HOURS_PER_MONTH * price("fargate.gb_hour.x86")
    )
    rds = HOURS_PER_MONTH * price("rds.mysql.db.t4g.micro.hour")
    assert [line.name for line in saving.lines] == [
        "Fargate vCPU", "Fargate GB", "RDS instance hours"
    ]  # fmt: skip
    assert saving.total == pytest.approx(fargate + rds)
    assert saving.complete
    # Storage keeps billing, and is said to.
    assert [line.name for line in saving.kept] == ["RDS gp3 storage"]
    assert saving.kept[0].monthly == pytest.approx(20 * price("rds.gp3.gb_month"))


def test_a_deep_pause_also_saves_the_nat_gateway_the_alb_and_their_addresses() -> None:
    shallow = pause_saving(env_of(), PRICES, deep=False, desired_count=1)
    deep = pause_saving(env_of(), PRICES, deep=True, desired_count=1)
    extra = HOURS_PER_MONTH * (
        price("nat.hour") + price("alb.hour") + price("alb.lcu_hour")
        + 3 * price("ipv4.hour")  # 2 ALB addresses (one per zone) + 1 NAT EIP
    )  # fmt: skip
    assert deep.total - shallow.total == pytest.approx(extra)
    names = [line.name for line in deep.lines]
    assert {"NAT Gateway hours", "ALB hours", "ALB LCUs", "Public IPv4 addresses released"} <= set(
        names
    )
    # Usage that merely drops is not claimed.
    assert "NAT Gateway data processed" not in names
    assert "Data transfer out" not in names


def test_the_guide_s_figure_is_within_reach() -> None:
    """The guide says stopping unused resources saves $70-90 a month; a deep pause of the
    guide profile stops at least that much by the price table."""
    deep = pause_saving(env_of(profile="guide"), PRICES, deep=True, desired_count=1)
    assert deep.total >= 70


def test_the_saving_follows_the_recorded_task_count_and_the_lean_profile() -> None:
    lean = env_of(profile="lean")
    one = pause_saving(lean, PRICES, deep=False, desired_count=1)
    three = pause_saving(lean, PRICES, deep=False, desired_count=3)
    per_task = (
        0.25 * HOURS_PER_MONTH * price("fargate.vcpu_hour.arm")
        + (0.5 * HOURS_PER_MONTH * price("fargate.gb_hour.arm"))
        + HOURS_PER_MONTH * price("ipv4.hour")
    )  # each lean task has a public IP
    assert three.total - one.total == pytest.approx(2 * per_task)
    deep = pause_saving(lean, PRICES, deep=True, desired_count=1)
    assert "NAT Gateway hours" not in [line.name for line in deep.lines]  # lean has none


def test_a_region_without_prices_gives_an_incomplete_saving() -> None:
    # ap-northeast-2 has no ARM Fargate price in the shipped table.
    saving = pause_saving(env_of(profile="lean", region="ap-northeast-2"), PRICES, False, 1)
    assert not saving.complete
    assert any(line.monthly is None for line in saving.lines)
    empty = pause_saving(env_of(), PriceTable({}), deep=True, desired_count=1)
    assert not empty.complete and empty.total == 0


# --- planning a pause -------------------------------------------------------------------

RUNNING = Facts(desired_count=2, task_definition=f"{TD}:7", database_status="available")


def test_a_first_pause_records_what_it_changes() -> None:
    plan = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW)
    assert plan.scale_to_zero and plan.database == "stop" and not plan.apply_paused_shape
    record = plan.record
    assert (record.desired_count, record.task_definition) == (2, f"{TD}:7")
    assert (record.database, record.database_status) == ("rails-app-db", "available")
    assert record.paused_at == record.database_stopped_at == NOW
    assert record.auto_start_at == NOW + timedelta(days=7)
    assert record.monthly_saving == round(pause_saving(env_of(), PRICES, False, 2).total, 2)
    assert plan.steps(env_of()) == [
        "scale rails-app-service to 0 tasks (was 2)",
        "stop the DB instance rails-app-db (its storage is kept)",
    ]


def test_pausing_a_paused_environment_is_a_no_op() -> None:
    first = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    paused = Facts(0, f"{TD}:7", "stopped")
    again = plan_pause(env_of(), paused, False, first, PRICES, NOW + timedelta(days=1))
    assert again.nothing_to_do and again.record == first


def test_pausing_again_stops_a_db_aws_started_after_seven_days() -> None:
    first = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    later = NOW + timedelta(days=7, hours=1)
    plan = plan_pause(env_of(), Facts(0, f"{TD}:7", "available"), False, first, PRICES, later)
    assert plan.database == "stop" and not plan.scale_to_zero
    assert plan.record.database_stopped_at == later
    # What ran before the first pause is what resume puts back.
    assert plan.record.paused_at == NOW and plan.record.desired_count == 2
    starting = plan_pause(env_of(), Facts(0, f"{TD}:7", "starting"), False, first, PRICES, later)
    assert starting.database == "wait-then-stop"


def test_pausing_deeper_applies_the_paused_shape_once() -> None:
    first = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    paused = Facts(0, f"{TD}:7", "stopped")
    deeper = plan_pause(env_of(), paused, True, first, PRICES, NOW)
    assert deeper.apply_paused_shape and deeper.record.deep and not deeper.scale_to_zero
    assert deeper.record.monthly_saving == round(pause_saving(env_of(), PRICES, True, 2).total, 2)
    again = plan_pause(env_of(), paused, True, deeper.record, PRICES, NOW)
    assert again.nothing_to_do
    # A plain pause of a deep-paused environment keeps it deep.
    plain = plan_pause(env_of(), paused, False, deeper.record, PRICES, NOW)
    assert plain.nothing_to_do and plain.record.deep


def test_tasks_started_while_paused_are_stopped_again() -> None:
    first = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW).record
    plan = plan_pause(env_of(), Facts(1, f"{TD}:7", "stopped"), False, first, PRICES, NOW)
    assert plan.scale_to_zero and plan.record.desired_count == 2


def test_an_idle_environment_has_nothing_to_pause() -> None:
    """No tasks and a stopped DB (e.g. after `hakobu scale 0`): no record is needed."""
    plan = plan_pause(env_of(), Facts(0, f"{TD}:7", "stopped"), False, None, PRICES, NOW)
    assert plan.nothing_to_do and plan.previous is None


def test_a_db_rds_cannot_stop_fails_the_pause_before_any_change() -> None:
    with pytest.raises(HakobuError, match="'storage-full'"):
        plan_pause(env_of(), Facts(1, f"{TD}:7", "storage-full"), False, None, PRICES, NOW)
    missing = plan_pause(env_of(), Facts(1, f"{TD}:7", None), False, None, PRICES, NOW)
    assert missing.database == "none"


# --- planning a resume ------------------------------------------------------------------


def _record(deep: bool = False, **changes: Any) -> PauseRecord:
    record = plan_pause(env_of(), RUNNING, deep, None, PRICES, NOW).record
    return PauseRecord(**{**record.__dict__, **changes})


def test_resume_starts_the_db_and_restores_count_and_revision() -> None:
    plan = plan_resume(env_of(), _record(), Facts(0, f"{TD}:7", "stopped"))
    assert plan.database == "start" and not plan.apply_normal_shape
    # Same revision: only the count (the same revision again would start a deployment).
    assert plan.service_request == {
        "cluster": "rails-app-cluster", "service": "rails-app-service", "desiredCount": 2
    }  # fmt: skip
    assert plan.steps(env_of()) == [
        "start the DB instance rails-app-db, wait until it is available",
        "scale rails-app-service back to 2 task(s) on rails-app:7",
    ]


def test_resume_puts_back_the_recorded_revision_if_the_service_moved() -> None:
    plan = plan_resume(env_of(), _record(deep=True), Facts(0, f"{TD}:1", "stopped"))
    assert plan.apply_normal_shape
    assert plan.service_request["taskDefinition"] == f"{TD}:7"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("stopped", "start"),
        ("stopping", "wait-stopped-then-start"),
        ("starting", "wait"),
        ("available", "none"),
    ],
)
def test_resume_handles_each_db_status(status: str, action: str) -> None:
    assert plan_resume(env_of(), _record(), Facts(0, f"{TD}:7", status)).database == action


def test_resume_without_the_db_says_so() -> None:
    with pytest.raises(HakobuError, match="no longer exists"):
        plan_resume(env_of(), _record(), Facts(0, f"{TD}:7", None))


# --- the state file ---------------------------------------------------------------------


def test_the_record_round_trips_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "production" / "paused.json"
    record = _record(deep=True, emulator="2026-11-29T10:00:00+00:00")
    save_record(path, record)
    assert load_record(path) == record
    assert json.loads(path.read_text())["version"] == 1
    assert not list(path.parent.glob(".*tmp"))  # written atomically, nothing left over


def test_a_damaged_record_is_reported_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "paused.json"
    path.write_text("{not json")
    with pytest.raises(HakobuError, match="cannot be read"):
        load_record(path)
    path.write_text(json.dumps({**_record().as_json(), "version": 99}))
    with pytest.raises(HakobuError, match="version 99"):
        load_record(path)
    assert load_record(tmp_path / "absent.json") is None


def test_a_sandbox_record_of_another_emulator_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "paused.json"
    save_record(path, _record(emulator="2026-11-29T10:00:00+00:00"))
    assert current_record(path, "2026-11-29T10:00:00+00:00") is not None
    assert current_record(path, "2026-11-30T08:00:00+00:00") is None
    assert not path.exists()


def test_records_live_next_to_the_environment_s_terraform(tmp_path: Path) -> None:
    env = environment_of({"app": "rails-app"}, root=tmp_path)
    assert state_path(env, False) == tmp_path / ".hakobu" / "production" / "paused.json"
    assert state_path(env, True) == tmp_path / ".hakobu" / "sandbox" / "production" / "paused.json"


# --- executors, stubbed -----------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def waiter(timeout: float = 600) -> Waiter:
    fake = FakeTime()
    return Waiter(timeout=timeout, poll_seconds=10, sleep=fake.sleep, clock=fake.clock)


def _db(status: str) -> dict[str, Any]:
    return {"DBInstances": [{"DBInstanceIdentifier": "rails-app-db", "DBInstanceStatus": status}]}


DB = {"DBInstanceIdentifier": "rails-app-db"}


def test_a_db_in_maintenance_is_waited_for_then_stopped() -> None:
    aws = StubbedAws()
    rds = aws.stub("rds")
    for status in ("backing-up", "available"):
        rds.add_response("describe_db_instances", _db(status), DB)
    rds.add_response("stop_db_instance", {"DBInstance": {"DBInstanceStatus": "stopping"}}, DB)
    seen: list[tuple[str, float]] = []
    stop_database(aws.client("rds"), "rails-app-db", "wait-then-stop", waiter(),
                  lambda s, t: seen.append((s, t)))  # fmt: skip
    aws.verify()
    assert seen == [("backing-up", 0.0), ("available", 10.0)]


def test_a_stopping_db_is_started_once_stopped_and_waited_for() -> None:
    aws = StubbedAws()
    rds = aws.stub("rds")
    for status in ("stopping", "stopped"):
        rds.add_response("describe_db_instances", _db(status), DB)
    rds.add_response("start_db_instance", {"DBInstance": {"DBInstanceStatus": "starting"}}, DB)
    for status in ("starting", "available"):
        rds.add_response("describe_db_instances", _db(status), DB)
    start_database(aws.client("rds"), "rails-app-db", "wait-stopped-then-start", waiter())
    aws.verify()


def test_a_db_that_never_becomes_available_times_out_with_its_status() -> None:
    aws = StubbedAws()
    rds = aws.stub("rds")
    for _ in range(4):
        rds.add_response("describe_db_instances", _db("starting"), DB)
    with pytest.raises(HakobuError, match="'starting', not 'available', after 30 s"):
        start_database(aws.client("rds"), "rails-app-db", "wait", waiter(timeout=30))
    aws.verify()


def _service(desired: int, running: int, revision: int = 7, deployments: int = 1) -> dict:
    counts = {"desiredCount": desired, "runningCount": running, "pendingCount": desired - running}
    current = deployment_entry("ecs-svc/1", "PRIMARY", f"{TD}:{revision}", "COMPLETED", **counts)
    older = deployment_entry("ecs-svc/0", "ACTIVE", f"{TD}:6", "COMPLETED", **counts)
    listed = [current, *([older] if deployments == 2 else [])]
    return service_entry(listed, f"{TD}:{revision}", **counts)


def _targets(*states: str) -> dict[str, Any]:
    return {
        "TargetHealthDescriptions": [
            {
                "Target": {"Id": f"10.0.10.{i}", "Port": 3000},
                "TargetHealth": {"State": state}
                | ({} if state == "healthy" else {"Reason": "Elb.InitialHealthChecking"}),
            }
            for i, state in enumerate(states)
        ]
    }


def test_healthy_means_every_task_runs_our_revision_behind_healthy_targets() -> None:
    expected = f"{TD}:7"
    assert judge_health(_service(2, 2), [_targets("healthy", "healthy")], expected).healthy
    assert not judge_health(_service(2, 2), [_targets("healthy", "initial")], expected).healthy
    assert not judge_health(_service(2, 1), [_targets("healthy", "healthy")], expected).healthy
    assert not judge_health(
        _service(2, 2, revision=6), [_targets("healthy", "healthy")], expected
    ).healthy
    two = _service(2, 2, deployments=2)
    assert not judge_health(two, [_targets("healthy", "healthy")], expected).healthy
    health = judge_health(_service(1, 0), [_targets()], expected)
    assert health.text() == "rails-app:7: running 0/1, pending 1, targets healthy 0/1"


def test_resume_waits_for_running_tasks_and_healthy_targets() -> None:
    aws = StubbedAws()
    ecs, elbv2 = aws.stub("ecs"), aws.stub("elbv2")
    request = {"cluster": "rails-app-cluster", "services": ["rails-app-service"]}
    for running, targets in ((0, ()), (1, ("initial",)), (1, ("healthy",))):
        ecs.add_response("describe_services", {"services": [_service(1, running)]}, request)
        elbv2.add_response("describe_target_health", _targets(*targets), {"TargetGroupArn": TG})
    changes: list[Health] = []
    health = wait_until_healthy(aws.client("ecs"), aws.client("elbv2"), env_of(), f"{TD}:7",
                                waiter(), lambda h, _: changes.append(h))  # fmt: skip
    aws.verify()
    assert health.healthy and len(changes) == 3


def test_an_app_that_stays_unhealthy_fails_with_the_targets_reasons() -> None:
    aws = StubbedAws()
    ecs, elbv2 = aws.stub("ecs"), aws.stub("elbv2")
    request = {"cluster": "rails-app-cluster", "services": ["rails-app-service"]}
    for _ in range(3):
        ecs.add_response("describe_services", {"services": [_service(1, 1)]}, request)
        elbv2.add_response("describe_target_health", _targets("initial"), {"TargetGroupArn": TG})
    with pytest.raises(HakobuError, match=r"Elb\.InitialHealthChecking") as caught:
        wait_until_healthy(aws.client("ecs"), aws.client("elbv2"), env_of(), f"{TD}:7",
                           waiter(timeout=20))  # fmt: skip
    assert "hakobu status production --watch" in (caught.value.fix or "")
    aws.verify()


class Steps:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, text: str) -> None:
        self.lines.append(text)

    def database(self, status: str, elapsed: float) -> None:
        self.lines.append(f"db {status}")

    def health(self, health: Health, elapsed: float) -> None:
        self.lines.append(health.text())

    def tasks(self, left: int, elapsed: float) -> None:
        self.lines.append(f"{left} task(s)")


class SandboxAws(StubbedAws):
    """The sandbox whose runtime runs tasks (podman or docker found)."""

    sandbox = True


class ControlPlaneAws(StubbedAws):
    """The sandbox without a container engine: the emulator's API only."""

    sandbox = True
    runs_tasks = False


def _definition(image: str) -> dict[str, Any]:
    container = {"name": "rails-app", "image": image}
    return {"taskDefinition": {"taskDefinitionArn": f"{TD}:7", "containerDefinitions": [container]}}


DEPLOYED = _definition("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app@sha256:ab")
BOOTSTRAP = _definition("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/rails-app:bootstrap")
SERVICE_TASKS = {"cluster": CLUSTER, "serviceName": "rails-app-service"}


def test_a_deep_pause_records_first_then_scales_reshapes_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "paused.json"
    plan = plan_pause(env_of(), RUNNING, True, None, PRICES, NOW)
    aws = StubbedAws()
    aws.stub("ecs").add_response(
        "update_service",
        {"service": _service(0, 0)},
        {"cluster": "rails-app-cluster", "service": "rails-app-service", "desiredCount": 0},
    )
    aws.stub("rds").add_response("stop_db_instance", {"DBInstance": {}}, DB)
    shapes: list[bool] = []

    def reshape(paused: bool) -> None:
        assert load_record(path) == plan.record  # already recorded when Terraform runs
        shapes.append(paused)

    steps = Steps()
    execute_pause(env_of(), aws, plan, path, reshape, steps, waiter)
    aws.verify()
    assert shapes == [True]
    assert steps.lines == [
        "Scaling rails-app-service to 0 tasks",
        "Removing the NAT Gateway(s) and the ALB (Terraform)",
        "Stopping the DB instance rails-app-db",
    ]


def test_a_deep_resume_starts_the_db_before_terraform_and_the_service(tmp_path: Path) -> None:
    path = tmp_path / "paused.json"
    record = _record(deep=True)
    save_record(path, record)
    plan = plan_resume(env_of(), record, Facts(0, f"{TD}:1", "stopped"))
    aws = StubbedAws()
    rds, ecs, elbv2 = aws.stub("rds"), aws.stub("ecs"), aws.stub("elbv2")
    rds.add_response("start_db_instance", {"DBInstance": {}}, DB)
    rds.add_response("describe_db_instances", _db("available"), DB)
    ecs.add_response(
        "update_service",
        {"service": _service(2, 0)},
        {"cluster": "rails-app-cluster", "service": "rails-app-service",
         "desiredCount": 2, "taskDefinition": f"{TD}:7"},
    )  # fmt: skip
    ecs.add_response("describe_task_definition", DEPLOYED, {"taskDefinition": f"{TD}:7"})
    request = {"cluster": "rails-app-cluster", "services": ["rails-app-service"]}
    ecs.add_response("describe_services", {"services": [_service(2, 2)]}, request)
    elbv2.add_response(
        "describe_target_health", _targets("healthy", "healthy"), {"TargetGroupArn": TG}
    )
    shapes: list[bool] = []
    steps = Steps()
    health = execute_resume(env_of(), aws, plan, path, shapes.append, steps, waiter)
    aws.verify()
    assert shapes == [False] and health is not None and health.healthy
    assert not path.exists()
    assert steps.lines[0] == "Starting the DB instance rails-app-db"
    assert steps.lines[2] == "Re-creating the NAT Gateway(s) and the ALB (Terraform)"


def _resume_plan(path: Path) -> Any:
    record = _record()
    save_record(path, record)
    return plan_resume(env_of(), record, Facts(0, f"{TD}:7", "available"))


def _scale_back(ecs: Any) -> None:
    ecs.add_response(
        "update_service",
        {"service": _service(2, 0)},
        {"cluster": CLUSTER, "service": "rails-app-service", "desiredCount": 2},
    )


def test_a_sandbox_that_runs_tasks_is_waited_for_as_aws_is(tmp_path: Path) -> None:
    """The runtime really runs the tasks: the resume waits for health, with progress."""
    aws = SandboxAws()
    ecs, elbv2 = aws.stub("ecs"), aws.stub("elbv2")
    _scale_back(ecs)
    ecs.add_response("describe_task_definition", DEPLOYED, {"taskDefinition": f"{TD}:7"})
    request = {"cluster": CLUSTER, "services": ["rails-app-service"]}
    for running, targets in ((0, ()), (2, ("healthy", "healthy"))):
        ecs.add_response("describe_services", {"services": [_service(2, running)]}, request)
        elbv2.add_response("describe_target_health", _targets(*targets), {"TargetGroupArn": TG})
    steps = Steps()
    health = execute_resume(env_of(), aws, _resume_plan(tmp_path / "p.json"), tmp_path / "p.json",
                            lambda _: None, steps, waiter)  # fmt: skip
    aws.verify()
    assert isinstance(health, Health) and health.healthy
    assert steps.lines[-3:] == [
        "Waiting until the app is healthy",
        "rails-app:7: running 0/2, pending 2, targets healthy 0/2",
        "rails-app:7: running 2/2, pending 0, targets healthy 2/2",
    ]


def test_without_a_container_engine_resume_claims_no_health(tmp_path: Path) -> None:
    aws = ControlPlaneAws()
    _scale_back(aws.stub("ecs"))
    path = tmp_path / "p.json"
    followed = execute_resume(env_of(), aws, _resume_plan(path), path, lambda _: None,
                              Steps(), waiter)  # fmt: skip
    aws.verify()  # the count set back, and no health call
    assert followed is NO_ENGINE and "no podman or docker" in followed.reason


def test_the_bootstrap_revision_is_not_waited_for(tmp_path: Path) -> None:
    """Before the first deploy the service runs a placeholder that never starts: waiting
    for its health would only time out."""
    aws = SandboxAws()
    ecs = aws.stub("ecs")
    _scale_back(ecs)
    ecs.add_response("describe_task_definition", BOOTSTRAP, {"taskDefinition": f"{TD}:7"})
    path = tmp_path / "p.json"
    followed = execute_resume(env_of(), aws, _resume_plan(path), path, lambda _: None,
                              Steps(), waiter)  # fmt: skip
    aws.verify()
    assert followed is NOTHING_DEPLOYED


def _task(status: str) -> dict[str, Any]:
    return {"taskArn": f"arn:aws:ecs:{REGION}:123456789012:task/{CLUSTER}/{status.lower()}",
            "lastStatus": status}  # fmt: skip


def test_a_sandbox_pause_waits_until_the_tasks_and_the_db_are_down(tmp_path: Path) -> None:
    """The runtime drains and stops the containers and stops the DB server: the pause
    returns once the API says they are gone (draining counts as still there)."""
    plan = plan_pause(env_of(), RUNNING, False, None, PRICES, NOW)
    aws = SandboxAws()
    ecs, rds = aws.stub("ecs"), aws.stub("rds")
    ecs.add_response(
        "update_service",
        {"service": _service(0, 0)},
        {"cluster": CLUSTER, "service": "rails-app-service", "desiredCount": 0},
    )
    draining, stopped = _task("DEACTIVATING"), _task("STOPPED")
    listed_stopped = {**SERVICE_TASKS, "desiredStatus": "STOPPED", "maxResults": 100}
    for tasks in ([stopped, draining], [stopped]):
        arns = [t["taskArn"] for t in tasks]
        ecs.add_response("list_tasks", {"taskArns": arns}, listed_stopped)
        ecs.add_response("describe_tasks", {"tasks": tasks}, {"cluster": CLUSTER, "tasks": arns})
        ecs.add_response(
            "list_tasks", {"taskArns": []}, {**SERVICE_TASKS, "desiredStatus": "RUNNING"}
        )
    rds.add_response("stop_db_instance", {"DBInstance": {}}, DB)
    for status in ("stopping", "stopped"):
        rds.add_response("describe_db_instances", _db(status), DB)
    steps = Steps()
    execute_pause(env_of(), aws, plan, tmp_path / "p.json", lambda _: None, steps, waiter)
    aws.verify()
    assert steps.lines == [
        "Scaling rails-app-service to 0 tasks",
        "Waiting until the tasks are drained and stopped",
        "1 task(s)",
        "0 task(s)",
        "Stopping the DB instance rails-app-db",
        "db stopping",
        "db stopped",
    ]


# --- `hakobu up` / `plan` while paused, and the commands without AWS ---------------------


def test_the_notice_says_what_applying_would_undo() -> None:
    env = env_of()
    shallow = paused_notice(env, _record())
    assert "desired count back to 1 while the DB stays stopped" in shallow
    assert "hakobu resume production" in shallow and "NAT" not in shallow
    assert "re-creates the NAT Gateway(s) and the ALB" in paused_notice(env, _record(deep=True))


PAUSE_CLI = "import hakobu.cli.pause_commands; from hakobu.cli import main; main()"


def _cli(*args: str, cwd: Path, input_text: str | None = None) -> subprocess.CompletedProcess:
    # pause_commands registers itself on import, until cli/__init__ imports it too.
    return subprocess.run(
        [sys.executable, "-c", PAUSE_CLI, *args],
        cwd=cwd,
        input=input_text,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=60,
    )


def test_up_while_paused_warns_and_asks_before_anything_runs(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    env = environment_of({"app": "rails-app"}, root=root)
    save_record(state_path(env, False), _record(deep=True))
    result = _cli("up", cwd=root, input_text="n\n")
    assert result.returncode == 1, result.stderr
    assert "`production` is paused (deep) since 2026-11-29 12:00 UTC" in result.stderr
    assert "Apply hakobu.toml anyway?" in result.stdout + result.stderr
    assert "Nothing was applied." in result.stdout
    assert not (root / ".hakobu" / "production" / "main.tf.json").exists()  # no Terraform ran


def test_resume_when_not_paused_says_so(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    try:
        result = _cli("resume", "--sandbox", cwd=root)
    finally:
        subprocess.run([sys.executable, "-m", "hakobu", "sandbox", "stop"], cwd=root, check=False)
    assert result.returncode == 0, result.stderr
    assert "`production` is not paused: nothing to resume." in result.stdout
