"""CloudFront against the emulator: `hakobu plan` only.

moto has no CloudFront cache-policy API (404) and returns `forwarded_values` and
`ssl_support_method` on a distribution that set neither, so an applied distribution would
plan changes forever (docs/design.md, "Emulator gaps"). The plan still runs against the
emulator: the zone and CloudFront's origin-facing prefix list are read from it, and every
CDN resource is planned as it would be created. What reads a distribution back (`hakobu
domain status`) is covered with Stubber in tests/operate/test_edge_operate.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from hakobu.sandbox import emulator as sandbox
from tests.conftest import make_rails_app, run_hakobu

pytestmark = pytest.mark.integration
SECTIONS = """
[domain]
name = "app.example.com"
zone = "example.com"
cdn = true
waf = true
"""


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = make_rails_app(tmp_path_factory.mktemp("cdn") / "cdn-app", app="cdn-app")
    with (root / "hakobu.toml").open("a", encoding="utf-8") as config:
        config.write(SECTIONS)
    server, _ = sandbox.start(root)
    try:
        route53 = sandbox.client(server, "ap-northeast-1", "route53")
        route53.create_hosted_zone(Name="example.com", CallerReference="cdn-plan-test")
        result = run_hakobu("plan", "--sandbox", cwd=root, timeout=300)
        assert result.code == 0, result.output
        workdir = root / ".hakobu" / "sandbox" / "production"
        shown = subprocess.run(
            ["terraform", "show", "-json", "tfplan"],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "terraform.rc")},
        )
        yield json.loads(shown.stdout)
    finally:
        sandbox.stop(root)


def _after(plan: dict[str, Any], address: str) -> dict[str, Any]:
    change = next(c for c in plan["resource_changes"] if c["address"] == address)
    assert change["change"]["actions"] == ["create"], change["change"]["actions"]
    after: dict[str, Any] = change["change"]["after"]
    return after


def test_the_cdn_is_planned_in_front_of_the_alb(planned: dict[str, Any]) -> None:
    distribution = _after(planned, "aws_cloudfront_distribution.main")
    assert distribution["aliases"] == ["app.example.com"]
    assert distribution["origin"][0]["domain_name"] == "origin.app.example.com"
    assert distribution["price_class"] == "PriceClass_200"
    assert [b["path_pattern"] for b in distribution["ordered_cache_behavior"]] == ["/assets/*"]
    assert _after(planned, "aws_acm_certificate.cdn")["domain_name"] == "app.example.com"
    assert _after(planned, "aws_wafv2_web_acl.main")["scope"] == "CLOUDFRONT"
    # Read from the emulator at plan time: the ALB admits only CloudFront's addresses.
    rule = _after(planned, "aws_vpc_security_group_ingress_rule.alb_from_cloudfront_443")
    assert rule["prefix_list_id"].startswith("pl-")
    addresses = {c["address"] for c in planned["resource_changes"]}
    assert "aws_vpc_security_group_ingress_rule.alb_from_internet_443" not in addresses
    assert {"aws_route53_record.app_a", "aws_route53_record.app_aaaa"} <= addresses
