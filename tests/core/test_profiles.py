"""Profiles render the Terraform they promise, and keys they set can be overridden."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hakobu.core.errors import ConfigError
from hakobu.provision.blueprint import render
from tests.conftest import environment_of


def _doc(**raw: Any) -> dict[str, Any]:
    return render(environment_of({"app": "rails-app", **raw}))


def _resources(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return doc["resource"].get(kind, {})


def _service_network(doc: dict[str, Any]) -> dict[str, Any]:
    return _resources(doc, "aws_ecs_service")["app"]["network_configuration"]


def _subnet_names(doc: dict[str, Any], refs: list[str]) -> list[str]:
    return [ref.split(".")[1] for ref in refs]


def test_guide_profile_is_the_guides_stack() -> None:
    doc = _doc(profile="guide")
    assert len(_resources(doc, "aws_nat_gateway")) == 1
    assert _resources(doc, "aws_db_instance")["main"]["instance_class"] == "db.t3.micro"
    assert _resources(doc, "aws_db_instance")["main"]["multi_az"] is False
    platform = _resources(doc, "aws_ecs_task_definition")["app"]["runtime_platform"]
    assert platform["cpu_architecture"] == "X86_64"
    network = _service_network(doc)
    assert network["assign_public_ip"] is False
    assert _subnet_names(doc, network["subnets"]) == ["private_a", "private_c"]


def test_lean_profile_drops_the_nat_gateway_and_runs_on_graviton() -> None:
    doc = _doc(profile="lean")
    assert not _resources(doc, "aws_nat_gateway") and not _resources(doc, "aws_eip")
    routes = _resources(doc, "aws_route")
    assert set(routes) == {"public_default"}
    network = _service_network(doc)
    assert network["assign_public_ip"] is True
    assert _subnet_names(doc, network["subnets"]) == ["public_a", "public_c"]
    platform = _resources(doc, "aws_ecs_task_definition")["app"]["runtime_platform"]
    assert platform["cpu_architecture"] == "ARM64"
    assert _resources(doc, "aws_db_instance")["main"]["instance_class"] == "db.t4g.micro"
    # Public IP or not, the only way in stays the ALB's security group.
    ingress = _resources(doc, "aws_vpc_security_group_ingress_rule")["ecs_from_alb"]
    assert ingress["referenced_security_group_id"] == "${aws_security_group.alb.id}"
    assert "cidr_ipv4" not in ingress


def test_ha_profile_has_a_nat_gateway_per_zone_two_tasks_and_multi_az() -> None:
    doc = _doc(profile="ha")
    nats = _resources(doc, "aws_nat_gateway")
    assert {name: body["subnet_id"] for name, body in nats.items()} == {
        "main_a": "${aws_subnet.public_a.id}",
        "main_c": "${aws_subnet.public_c.id}",
    }
    routes = _resources(doc, "aws_route")
    assert routes["private_a_default"]["nat_gateway_id"] == "${aws_nat_gateway.main_a.id}"
    assert routes["private_c_default"]["nat_gateway_id"] == "${aws_nat_gateway.main_c.id}"
    associations = _resources(doc, "aws_route_table_association")
    assert associations["private_a"]["route_table_id"] == "${aws_route_table.private_a.id}"
    assert associations["private_c"]["route_table_id"] == "${aws_route_table.private_c.id}"
    assert _resources(doc, "aws_ecs_service")["app"]["desired_count"] == 2
    assert _resources(doc, "aws_db_instance")["main"]["multi_az"] is True


def test_keys_a_profile_sets_can_be_overridden() -> None:
    doc = _doc(
        profile="lean",
        service={"platform": "linux/amd64"},
        database={"instance_class": "db.t3.micro"},
    )
    platform = _resources(doc, "aws_ecs_task_definition")["app"]["runtime_platform"]
    assert platform["cpu_architecture"] == "X86_64"
    assert _resources(doc, "aws_db_instance")["main"]["instance_class"] == "db.t3.micro"
    assert not _resources(doc, "aws_nat_gateway")


def test_default_addresses_are_unchanged_by_profiles() -> None:
    """An existing stack (no profile) keeps its resource addresses: nothing is replaced."""
    doc = _doc()
    assert set(_resources(doc, "aws_nat_gateway")) == {"main"}
    assert set(_resources(doc, "aws_eip")) == {"nat"}
    assert set(_resources(doc, "aws_route_table")) == {"public", "private"}


def test_spot_uses_a_capacity_provider_strategy_with_an_on_demand_base() -> None:
    doc = _doc(service={"spot": True, "spot_base": 1})
    service = _resources(doc, "aws_ecs_service")["app"]
    assert "launch_type" not in service
    assert service["capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "base": 1, "weight": 0},
        {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 1},
    ]
    providers = _resources(doc, "aws_ecs_cluster_capacity_providers")["main"]
    assert providers["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert "aws_ecs_cluster_capacity_providers.main" in service["depends_on"]


def test_no_nat_with_private_tasks_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        environment_of({"app": "rails-app", "profile": "lean", "service": {"public_ip": False}})
    assert caught.value.key == "network.nat_gateways"
    assert "public_ip = true" in str(caught.value)


@pytest.mark.parametrize("profile", ["guide", "lean", "ha"])
def test_profiles_render_deterministically(profile: str) -> None:
    assert json.dumps(_doc(profile=profile)) == json.dumps(_doc(profile=profile))


def test_the_cli_names_the_same_profiles_and_file_as_the_config() -> None:
    # cli/common.py writes them out so that declaring --profile and --config imports no
    # config module; `hakobu cost --profile lean` must accept exactly the config's names.
    from hakobu.cli import common
    from hakobu.core.config import CONFIG_FILE, PROFILES

    assert tuple(PROFILES) == common.PROFILE_NAMES
    assert common.CONFIG_FILE == CONFIG_FILE
