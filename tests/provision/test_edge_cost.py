"""`hakobu cost` prices every production-edge part from the shipped table, with its source."""

from __future__ import annotations

from typing import Any

import pytest

from hakobu.provision.cost import GROUPS, estimate
from hakobu.provision.edge_cost import ALARMS, CDN, DNS, EDGE_GROUPS, WAF
from hakobu.provision.prices import shipped_prices
from tests.conftest import environment_of

DOMAIN = {"name": "app.example.com", "zone": "example.com"}


def lines(**sections: Any) -> dict[str, Any]:
    env = environment_of({"app": "shop", "framework": "rails", **sections})
    found = estimate(env, shipped_prices())
    return {line.name: line for line in found.lines if line.group in EDGE_GROUPS}


def test_nothing_edge_is_priced_without_the_sections() -> None:
    assert lines() == {}


def test_every_edge_part_has_a_price_a_source_and_a_date() -> None:
    priced = lines(
        domain={**DOMAIN, "cdn": True, "waf": True},
        autoscaling={"min": 1, "max": 4},
        alarms={"email": ["ops@example.com", "dev@example.com"]},
    )
    assert {line.group for line in priced.values()} == {DNS, CDN, ALARMS, WAF}
    for line in priced.values():
        assert line.known and line.source and line.source.startswith("https://aws.amazon.com/")
        assert line.taken
    assert priced["Hosted zone example.com"].monthly == pytest.approx(0.50)
    assert priced["DNS queries"].monthly == 0  # alias queries are free
    # 10 alarms, the two 5xx rates evaluating 2 metrics each: 12 alarm-metrics at $0.10.
    assert priced["10 alarms"].quantity == 12
    assert priced["10 alarms"].monthly == pytest.approx(1.20)
    assert priced["Dashboard"].monthly == pytest.approx(3.00)
    assert priced["Web ACL"].monthly == pytest.approx(5.00)
    assert priced["3 rules"].monthly == pytest.approx(3.00)
    assert priced["Requests inspected"].monthly == pytest.approx(0.60)
    # 1 million requests = 100 x 10,000 at $0.012; 40 GB at $0.114.
    assert priced["CloudFront HTTPS requests"].monthly == pytest.approx(1.20)
    assert priced["CloudFront data transfer out"].monthly == pytest.approx(40 * 0.114)
    assert set(EDGE_GROUPS) <= set(GROUPS)  # shown as groups of their own


def test_external_dns_has_no_zone_and_aurora_one_alarm_fewer() -> None:
    priced = lines(
        domain={"name": "app.example.com", "dns": "external"},
        alarms={},
        database={"engine": "aurora-mysql"},
    )
    assert "Hosted zone example.com" not in priced and "DNS queries" not in priced
    assert priced["9 alarms"].quantity == 11
    assert priced["Alarm e-mails"].monthly == 0  # nobody to mail


def test_the_auto_scaling_range_is_said() -> None:
    env = environment_of({"app": "shop", "autoscaling": {"min": 2, "max": 6}})
    notes = estimate(env, shipped_prices()).notes
    assert any(n.startswith("Auto scaling runs 2 to 6 task(s)") for n in notes)
