"""Every production-edge combination is valid Terraform for the real provider, offline
(`terraform init` from the mirror, then `validate`; about 4 s each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hakobu.provision.blueprint import render
from tests.conftest import environment_of
from tests.provision.test_terraform_validate import TERRAFORM, errors, initialized

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(TERRAFORM is None, reason="the terraform CLI is not on PATH"),
]

DOMAIN = {"name": "app.example.com", "zone": "example.com"}
EVERYTHING = {
    "domain": {**DOMAIN, "cdn": True, "waf": True},
    "autoscaling": {"min": 1, "max": 4},
    "alarms": {"email": ["ops@example.com"]},
}
# Each validate costs ~4 s (the provider's schema load), so the combinations are merged
# where the parts do not interact: every part and every branch of each part is covered.
COMBINATIONS: dict[str, tuple[dict[str, Any], bool]] = {
    "domain in a zone": ({"domain": DOMAIN}, False),
    "external DNS with a CDN": (
        {"domain": {"name": "app.example.com", "dns": "external", "cdn": True}},
        False,
    ),
    "WAF on the ALB, request scaling, alarms on Aurora": (
        {
            "domain": {**DOMAIN, "waf": True},
            "autoscaling": {"min": 2, "max": 6, "requests_per_target": 500},
            "alarms": {},
            "database": {"engine": "aurora-postgresql"},
        },
        False,
    ),
    "the same, deep-paused": (
        {
            "domain": {**DOMAIN, "waf": True},
            "autoscaling": {"min": 2, "max": 6, "requests_per_target": 500},
            "alarms": {},
        },
        True,
    ),
    "everything": (EVERYTHING, False),
    "everything, deep-paused": (EVERYTHING, True),
}


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_edge_combination_is_valid_terraform(name: str, tmp_path: Path) -> None:
    sections, paused = COMBINATIONS[name]
    env = environment_of({"app": "shop", "framework": "rails", **sections})
    terraform = initialized(tmp_path / "terraform", render(env, paused=paused))
    assert errors(terraform.validate()) == []
