"""`hakobu cost` with processes beside web, schedules and the bucket: each worker's own
Fargate lines (its size, count and Spot setting, at the shipped prices), its task IPs in
the lean profile, and notes for what depends on use (scheduled runs, S3)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment
from hakobu.provision.cost import HOURS_PER_MONTH, CostEstimate, estimate
from hakobu.provision.prices import fargate_key, shipped_prices
from tests.conftest import environment_of

PRICES = shipped_prices()
REGION = "ap-northeast-1"
WORKER = {"command": ["bin/jobs"], "cpu": 512, "memory": 1024, "desired_count": 2}


@pytest.fixture(autouse=True)
def no_user_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the shipped table only
    yield


def _env(**raw: Any) -> Environment:
    return environment_of({"app": "rails-app", "framework": "rails", **raw})


def _named(result: CostEstimate, name: str) -> Any:
    [line] = [line for line in result.lines if line.name == name]
    return line


def _price(key: str) -> float:
    found = PRICES.get(REGION, key)
    assert found is not None, key
    return found.usd


def test_a_worker_has_its_own_fargate_lines_at_its_size_and_count() -> None:
    alone = estimate(_env(), PRICES)
    result = estimate(_env(processes={"worker": WORKER}), PRICES)
    vcpu, gb = _named(result, "Fargate worker vCPU"), _named(result, "Fargate worker GB")
    assert vcpu.quantity == 2 * 0.5 * HOURS_PER_MONTH
    assert gb.quantity == 2 * 1 * HOURS_PER_MONTH
    assert math.isclose(
        vcpu.monthly, 2 * 0.5 * HOURS_PER_MONTH * _price(fargate_key("vcpu_hour", "linux/amd64"))
    )
    assert math.isclose(
        gb.monthly, 2 * 1 * HOURS_PER_MONTH * _price(fargate_key("gb_hour", "linux/amd64"))
    )
    assert vcpu.assumption.startswith("2 worker task(s) x 0.5 vCPU")
    # Web's lines are the same as without the worker; the total grows by exactly its lines.
    assert _named(result, "Fargate vCPU") == _named(alone, "Fargate vCPU")
    assert math.isclose(result.total, alone.total + vcpu.monthly + gb.monthly)


def test_a_spot_worker_is_priced_at_the_spot_discount() -> None:
    spot = estimate(_env(processes={"worker": {**WORKER, "spot": True}}), PRICES)
    regular = estimate(_env(processes={"worker": WORKER}), PRICES)
    line = _named(spot, "Fargate worker vCPU (Spot)")
    discount = _price("fargate.spot_discount")
    assert math.isclose(
        line.monthly, _named(regular, "Fargate worker vCPU").monthly * (1 - discount)
    )


def test_in_the_lean_profile_worker_tasks_hold_public_ips_too() -> None:
    lean = _named(estimate(_env(profile="lean"), PRICES), "Public IPv4 addresses")
    with_worker = estimate(_env(profile="lean", processes={"worker": WORKER}), PRICES)
    line = _named(with_worker, "Public IPv4 addresses")
    assert line.quantity == lean.quantity + 2 * HOURS_PER_MONTH
    assert "+ 3 task IP" in line.assumption  # web's one and the worker's two


def test_schedules_and_the_bucket_are_named_in_the_notes_not_guessed() -> None:
    raw = {
        "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/x"]}],
        "storage": {"bucket": True},
    }
    plain, result = estimate(_env(), PRICES), estimate(_env(**raw), PRICES)
    assert [line.name for line in result.lines] == [line.name for line in plain.lines]
    [schedules] = [note for note in result.notes if "schedule(s)" in note]
    assert schedules.startswith("1 schedule(s): EventBridge Scheduler's first 14 million")
    assert "0.25 vCPU, 0.5 GB" in schedules
    assert any(note.startswith("[storage] bucket: S3 bills per GB stored") for note in result.notes)
    assert not [note for note in plain.notes if "schedule(s)" in note or "[storage]" in note]
