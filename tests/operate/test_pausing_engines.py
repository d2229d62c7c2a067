"""pause / resume plans on Aurora: the cluster is stopped and started (all its instances
at once), and with Serverless v2 min 0 ACUs the plan says the cluster pauses itself when
idle anyway. Pure plans; tests/integration/test_engines_sandbox.py runs them for real."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hakobu.core.config import Environment
from hakobu.operate.pausing.plan import Facts, plan_pause, plan_resume
from hakobu.provision.prices import shipped_prices
from tests.conftest import environment_of

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RUNNING = Facts(desired_count=1, task_definition="shop:3", database_status="available")


def _env(**database: Any) -> Environment:
    return environment_of({"app": "shop", "database": database}, root=Path("/app"))


def test_an_aurora_pause_stops_the_cluster_and_says_min_0_pauses_itself() -> None:
    env = _env(engine="aurora-postgresql", min_capacity=0, max_capacity=2)
    steps = plan_pause(env, RUNNING, False, None, shipped_prices(), NOW).steps(env)
    assert steps[-2:] == [
        "stop the Aurora cluster shop-db (its storage is kept)",
        "(min_capacity = 0: even running, shop-db pauses itself when idle and bills no "
        "ACU-hours; stopping it also keeps tasks from waking it)",
    ]


def test_a_cluster_that_cannot_scale_to_zero_has_no_such_note() -> None:
    env = _env(engine="aurora-mysql", min_capacity=0.5, max_capacity=2)
    steps = plan_pause(env, RUNNING, False, None, shipped_prices(), NOW).steps(env)
    assert steps[-1] == "stop the Aurora cluster shop-db (its storage is kept)"


def test_an_aurora_resume_starts_the_cluster_first() -> None:
    env = _env(engine="aurora-mysql")
    record = plan_pause(env, RUNNING, False, None, shipped_prices(), NOW).record
    stopped = Facts(desired_count=0, task_definition="shop:3", database_status="stopped")
    steps = plan_resume(env, record, stopped).steps(env)
    assert steps[0] == "start the Aurora cluster shop-db, wait until it is available"


def test_rds_keeps_its_instance_wording() -> None:
    env = _env(engine="postgres")
    steps = plan_pause(env, RUNNING, False, None, shipped_prices(), NOW).steps(env)
    assert steps[-1] == "stop the DB instance shop-db (its storage is kept)"


def test_stopping_a_cluster_saves_its_acu_hours_and_keeps_its_storage() -> None:
    from hakobu.operate.pausing.saving import pause_saving

    env = environment_of(
        {"app": "shop", "region": "us-east-1", "database": {"engine": "aurora-mysql"}},
        root=Path("/app"),
    )
    saving = pause_saving(env, shipped_prices(), deep=False, desired_count=1)
    saved = {line.name: line.monthly for line in saving.lines}
    assert saved["Aurora Serverless v2 ACU-hours"] == 0.5 * 730 * 0.12
    assert "Aurora storage" not in saved
