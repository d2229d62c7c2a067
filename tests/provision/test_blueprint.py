"""The rendered Terraform JSON, checked as exact values against the guide's architecture.

Pure unit tests: `hakobu.provision.blueprint.render` is called on a validated environment and the
resulting document is inspected. No network, no Terraform. Resources are found by what
they are wired to (references), not by their Terraform labels, so a rename inside the
blueprint does not break a test while a wrong wire does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment, load_project
from hakobu.core.errors import ConfigError
from hakobu.provision.blueprint import render
from tests.conftest import MASTER_KEY, environment_of, make_rails_app

Body = dict[str, Any]
Document = dict[str, Any]

REGION = "ap-northeast-1"
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
ECS_EXEC_ACTIONS = {
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
}
OUTPUTS = {"load_balancer_dns", "database_host", "ecr_repository_url", "ecr_login_command"}
REFERENCE = re.compile(r"^\$\{([^${}]+)\}$")


# --- Building environments -------------------------------------------------------------------


def rails(**settings: Any) -> Environment:
    """The guide's app, `rails-app` in production, with optional shared settings."""
    return environment_of({"app": "rails-app", "framework": "rails", **settings})


def rendered(**settings: Any) -> Document:
    return render(rails(**settings))


@pytest.fixture(scope="module")
def doc() -> Document:
    return rendered()


# --- Finding resources and following references ----------------------------------------------


def resources(doc: Document, kind: str) -> dict[str, Body]:
    """Every resource of one type, by Terraform label."""
    return doc.get("resource", {}).get(kind, {})


def the(doc: Document, kind: str) -> tuple[str, Body]:
    """The address and body of the only resource of a type (fails if there are 0 or 2+)."""
    named = resources(doc, kind)
    assert len(named) == 1, f"expected exactly one {kind}, found {sorted(named)}"
    name, body = next(iter(named.items()))
    return f"{kind}.{name}", body


def named(doc: Document, kind: str, name: str, key: str = "name") -> tuple[str, Body]:
    """The only resource of a type whose AWS name (or `key`) is `name`."""
    found = [(label, body) for label, body in resources(doc, kind).items() if body.get(key) == name]
    assert len(found) == 1, f"expected one {kind} with {key} = {name!r}, found {len(found)}"
    label, body = found[0]
    return f"{kind}.{label}", body


def target(value: Any) -> tuple[str, str]:
    """(address, attribute) of a pure reference such as `${aws_lb.main.dns_name}`."""
    assert isinstance(value, str), f"expected a reference, got {value!r}"
    match = REFERENCE.match(value)
    assert match, f"expected a reference like ${{type.name.attribute}}, got {value!r}"
    parts = match.group(1).split(".")
    size = 3 if parts[0] in ("data", "ephemeral") else 2
    return ".".join(parts[:size]), ".".join(parts[size:])


def body_at(doc: Document, address: str) -> Body:
    """The body of a resource, data source or ephemeral resource by address."""
    parts = address.split(".")
    if parts[0] in ("data", "ephemeral"):
        return doc[parts[0]][parts[1]][parts[2]]
    return doc["resource"][parts[0]][parts[1]]


def followed(doc: Document, value: Any) -> Body:
    return body_at(doc, target(value)[0])


def subnets_of(doc: Document, references: list[str]) -> set[tuple[str, str]]:
    """(CIDR, availability zone) of each referenced subnet."""
    found = set()
    for reference in references:
        address, attribute = target(reference)
        assert address.startswith("aws_subnet.") and attribute == "id", reference
        subnet = body_at(doc, address)
        found.add((subnet["cidr_block"], subnet["availability_zone"]))
    assert len(found) == len(references), f"a subnet is listed twice: {references}"
    return found


def container(doc: Document) -> Body:
    """The app container of the only task definition (container_definitions is JSON text)."""
    _, task = the(doc, "aws_ecs_task_definition")
    definitions = json.loads(task["container_definitions"])
    assert len(definitions) == 1, [d.get("name") for d in definitions]
    return definitions[0]


def container_environment(doc: Document) -> dict[str, str]:
    pairs = container(doc)["environment"]
    variables = {pair["name"]: pair["value"] for pair in pairs}
    assert len(variables) == len(pairs), "an environment variable is set twice"
    return variables


def container_secrets(doc: Document) -> dict[str, str]:
    pairs = container(doc)["secrets"]
    secrets = {pair["name"]: pair["valueFrom"] for pair in pairs}
    assert len(secrets) == len(pairs), "a secret is injected twice"
    return secrets


def secret_name_of(doc: Document, value_from: str) -> str:
    """The Secrets Manager name a `valueFrom` ARN reference points at."""
    address, attribute = target(value_from)
    assert address.startswith("aws_secretsmanager_secret.") and attribute == "arn", value_from
    return body_at(doc, address)["name"]


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf of a JSON tree with its key path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, str(index)))
    else:
        yield path, node


def aws_names(doc: Document) -> set[str]:
    """The account-wide names the stack claims in AWS."""
    fields = {
        "aws_lb": "name",
        "aws_lb_target_group": "name",
        "aws_ecs_cluster": "name",
        "aws_ecs_task_definition": "family",
        "aws_db_instance": "identifier",
        "aws_db_subnet_group": "name",
        "aws_ecr_repository": "name",
        "aws_secretsmanager_secret": "name",
        "aws_cloudwatch_log_group": "name",
        "aws_iam_role": "name",
        "aws_security_group": "name",
    }
    return {body[key] for kind, key in fields.items() for body in resources(doc, kind).values()}


# --- Helpers: security groups ----------------------------------------------------------------

Rule = tuple[str, str, str, str]  # (group, direction, protocol/port, peer)


def group_labels(doc: Document) -> dict[str, str]:
    """alb / ecs / db for the security group actually attached to each tier."""
    _, alb = the(doc, "aws_lb")
    _, service = the(doc, "aws_ecs_service")
    _, db = the(doc, "aws_db_instance")
    attached = {
        "alb": alb["security_groups"],
        "ecs": service["network_configuration"]["security_groups"],
        "db": db["vpc_security_group_ids"],
    }
    labels = {}
    for tier, groups in attached.items():
        assert len(groups) == 1, f"{tier} should have exactly one security group: {groups}"
        address, attribute = target(groups[0])
        assert address.startswith("aws_security_group.") and attribute == "id", groups[0]
        labels[address] = tier
    return labels


def security_rules(doc: Document) -> set[Rule]:
    """Every rule of every security group, wherever it is written."""
    labels = group_labels(doc)

    def label(reference: str) -> str:
        address, _ = target(reference)
        return labels.get(address, address)

    # Rules written any other way would escape the comparison: there must be none.
    assert not resources(doc, "aws_security_group_rule")
    for kind in ("aws_security_group", "aws_default_security_group"):
        for name, group in resources(doc, kind).items():
            assert not group.get("ingress") and not group.get("egress"), f"{kind}.{name}"
    rules: list[Rule] = []
    for direction in ("ingress", "egress"):
        for rule in resources(doc, f"aws_vpc_security_group_{direction}_rule").values():
            peers = [
                rule[key] for key in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id") if key in rule
            ]
            if "referenced_security_group_id" in rule:
                peers.append(label(rule["referenced_security_group_id"]))
            assert len(peers) == 1, f"a rule needs exactly one peer: {rule}"
            if rule["ip_protocol"] == "-1":
                port = "all"
            elif rule["from_port"] == rule["to_port"]:
                port = f"{rule['ip_protocol']}/{rule['from_port']}"
            else:
                port = f"{rule['ip_protocol']}/{rule['from_port']}-{rule['to_port']}"
            rules.append((label(rule["security_group_id"]), direction, port, peers[0]))
    assert len(set(rules)) == len(rules), f"a rule is written twice: {sorted(rules)}"
    return set(rules)


def expected_chain(port: int) -> set[Rule]:
    return {
        ("alb", "ingress", "tcp/80", "0.0.0.0/0"),
        ("alb", "ingress", "tcp/443", "0.0.0.0/0"),
        ("alb", "egress", f"tcp/{port}", "ecs"),
        ("ecs", "ingress", f"tcp/{port}", "alb"),
        ("ecs", "egress", "all", "0.0.0.0/0"),
        ("db", "ingress", "tcp/3306", "ecs"),
    }


# --- Helpers: IAM ----------------------------------------------------------------------------


def statements(policy: str) -> list[Body]:
    document = json.loads(policy)
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def role_of(doc: Document, attribute: str) -> str:
    """The address of the role the task definition names in `attribute`."""
    _, task = the(doc, "aws_ecs_task_definition")
    address, arn = target(task[attribute])
    assert address.startswith("aws_iam_role.") and arn == "arn", task[attribute]
    return address


def managed_policies(doc: Document, role: str) -> set[str]:
    arns = set(body_at(doc, role).get("managed_policy_arns", []))
    for attachment in resources(doc, "aws_iam_role_policy_attachment").values():
        if target(attachment["role"])[0] == role:
            arns.add(attachment["policy_arn"])
    return arns


def inline_statements(doc: Document, role: str) -> list[Body]:
    found = [
        s
        for inline in body_at(doc, role).get("inline_policy", [])
        for s in statements(inline["policy"])
    ]
    for policy in resources(doc, "aws_iam_role_policy").values():
        if target(policy["role"])[0] == role:
            found += statements(policy["policy"])
    for statement in found:
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
    return found


# --- Network ---------------------------------------------------------------------------------


def test_vpc_is_the_guides_block(doc: Document) -> None:
    _, vpc = the(doc, "aws_vpc")
    assert vpc["cidr_block"] == "10.0.0.0/16"
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True


def test_subnets_are_routed_public_to_the_igw_and_private_to_the_nat(doc: Document) -> None:
    igw, gateway = the(doc, "aws_internet_gateway")
    nat, _ = the(doc, "aws_nat_gateway")
    vpc, _ = the(doc, "aws_vpc")
    assert target(gateway["vpc_id"])[0] == vpc
    # Each route table's single default route tells what the table is for.
    exits: dict[str, str] = {}
    for route in resources(doc, "aws_route").values():
        assert route["destination_cidr_block"] == "0.0.0.0/0"
        hop = route.get("gateway_id") or route.get("nat_gateway_id")
        table = target(route["route_table_id"])[0]
        assert table not in exits, f"{table} has two default routes"
        exits[table] = target(hop)[0]
    assert sorted(exits.values()) == sorted([igw, nat])
    assert len(resources(doc, "aws_route_table")) == 2
    for table in resources(doc, "aws_route_table").values():
        assert target(table["vpc_id"])[0] == vpc
        assert "route" not in table, "routes are separate aws_route resources"
    # Every subnet is associated with exactly one table.
    routed: dict[tuple[str, str], str] = {}
    for association in resources(doc, "aws_route_table_association").values():
        (subnet,) = subnets_of(doc, [association["subnet_id"]])
        assert subnet not in routed, f"{subnet} is associated twice"
        routed[subnet] = exits[target(association["route_table_id"])[0]]
    assert routed == {
        ("10.0.1.0/24", f"{REGION}a"): igw,
        ("10.0.2.0/24", f"{REGION}c"): igw,
        ("10.0.10.0/24", f"{REGION}a"): nat,
        ("10.0.11.0/24", f"{REGION}c"): nat,
    }
    assert len(resources(doc, "aws_subnet")) == 4
    for subnet in resources(doc, "aws_subnet").values():
        assert target(subnet["vpc_id"])[0] == vpc


def test_one_nat_gateway_with_its_eip_in_the_public_subnet_of_zone_a(doc: Document) -> None:
    _, nat = the(doc, "aws_nat_gateway")
    eip, address = the(doc, "aws_eip")
    assert target(nat["allocation_id"]) == (eip, "id")
    assert address["domain"] == "vpc"
    assert subnets_of(doc, [nat["subnet_id"]]) == {("10.0.1.0/24", f"{REGION}a")}


def test_the_default_security_group_is_stripped(doc: Document) -> None:
    vpc, _ = the(doc, "aws_vpc")
    _, default = the(doc, "aws_default_security_group")
    # With no ingress/egress blocks the provider removes every rule of the default group.
    assert default == {"vpc_id": f"${{{vpc}.id}}"}


def test_region_sets_zones_provider_and_log_region() -> None:
    doc = rendered(region="us-east-1")
    assert {s["availability_zone"] for s in resources(doc, "aws_subnet").values()} == {
        "us-east-1a",
        "us-east-1c",
    }
    assert doc["provider"]["aws"]["region"] == "us-east-1"
    assert container(doc)["logConfiguration"]["options"]["awslogs-region"] == "us-east-1"
    assert "--region us-east-1 " in doc["output"]["ecr_login_command"]["value"]


# --- Load balancer ---------------------------------------------------------------------------


def test_alb_is_public_in_the_public_subnets(doc: Document) -> None:
    _, alb = named(doc, "aws_lb", "rails-app-alb")
    assert alb["load_balancer_type"] == "application"
    assert alb["internal"] is False
    assert subnets_of(doc, alb["subnets"]) == {
        ("10.0.1.0/24", f"{REGION}a"),
        ("10.0.2.0/24", f"{REGION}c"),
    }


def test_target_group_checks_health_fast(doc: Document) -> None:
    _, group = named(doc, "aws_lb_target_group", "rails-app-tg")
    vpc, _ = the(doc, "aws_vpc")
    assert group["target_type"] == "ip"
    assert (group["port"], group["protocol"]) == (3000, "HTTP")
    assert target(group["vpc_id"])[0] == vpc
    check = group["health_check"]
    assert check["path"] == "/up"
    assert 5 <= check["interval"] <= 10
    assert check["healthy_threshold"] == 2
    assert check["timeout"] < check["interval"]
    assert int(group["deregistration_delay"]) <= 30


def test_health_check_path_comes_from_the_config() -> None:
    doc = rendered(service={"health_check_path": "/healthz"})
    _, group = the(doc, "aws_lb_target_group")
    assert group["health_check"]["path"] == "/healthz"


def test_http_listener_forwards_to_the_target_group(doc: Document) -> None:
    alb, _ = the(doc, "aws_lb")
    group, _ = the(doc, "aws_lb_target_group")
    _, listener = the(doc, "aws_lb_listener")
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert target(listener["load_balancer_arn"]) == (alb, "arn")
    (action,) = listener["default_action"]
    assert action["type"] == "forward"
    assert target(action["target_group_arn"]) == (group, "arn")


# --- ECS -------------------------------------------------------------------------------------


def test_cluster_has_the_guides_name(doc: Document) -> None:
    named(doc, "aws_ecs_cluster", "rails-app-cluster")


def test_task_definition_is_the_guides_fargate_task(doc: Document) -> None:
    _, task = named(doc, "aws_ecs_task_definition", "rails-app", key="family")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("256", "512")
    assert task["runtime_platform"] == {
        "operating_system_family": "LINUX",
        "cpu_architecture": "X86_64",
    }


def test_container_logs_to_the_log_group_and_runs_a_registry_image(doc: Document) -> None:
    app = container(doc)
    assert app["name"] == "rails-app"
    assert app["essential"] is True
    assert app["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]
    logging = app["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    assert followed(doc, logging["options"]["awslogs-group"])["name"] == "/ecs/rails-app"
    assert logging["options"]["awslogs-region"] == REGION
    repository, _ = the(doc, "aws_ecr_repository")
    image, _, tag = app["image"].rpartition(":")
    assert target(image) == (repository, "repository_url") and tag


def test_container_gets_the_database_host_and_rails_settings(doc: Document) -> None:
    database, _ = the(doc, "aws_db_instance")
    variables = container_environment(doc)
    assert target(variables["DATABASE_HOST"]) == (database, "address")
    assert variables["RAILS_ENV"] == "production"
    assert variables["PORT"] == "3000"
    # The port the instance reports (the sandbox's local server may listen elsewhere).
    assert target(variables["DATABASE_PORT"]) == (database, "port")


def test_container_secrets_come_from_the_two_secrets(doc: Document) -> None:
    secrets = container_secrets(doc)
    assert {name: secret_name_of(doc, arn) for name, arn in secrets.items()} == {
        "DATABASE_PASSWORD": "rails-app-db-password",
        "RAILS_MASTER_KEY": "rails-app-rails-master-key",
    }


def test_db_password_is_injected_under_the_variable_the_app_reads(tmp_path: Path) -> None:
    # `hakobu init` reads `module Myapp` and picks Rails' MYAPP_DATABASE_PASSWORD (the guide's).
    root = make_rails_app(tmp_path / "rails-app")
    doc = render(load_project(root / "hakobu.toml").environment(None))
    assert {name: secret_name_of(doc, arn) for name, arn in container_secrets(doc).items()} == {
        "MYAPP_DATABASE_PASSWORD": "rails-app-db-password",
        "RAILS_MASTER_KEY": "rails-app-rails-master-key",
    }


def test_service_runs_in_the_private_subnets_behind_the_alb(doc: Document) -> None:
    cluster, _ = the(doc, "aws_ecs_cluster")
    task, _ = the(doc, "aws_ecs_task_definition")
    group, _ = the(doc, "aws_lb_target_group")
    _, service = named(doc, "aws_ecs_service", "rails-app-service")
    assert target(service["cluster"])[0] == cluster
    assert target(service["task_definition"]) == (task, "arn")
    assert service["launch_type"] == "FARGATE"
    assert service["desired_count"] == 1
    network = service["network_configuration"]
    assert subnets_of(doc, network["subnets"]) == {
        ("10.0.10.0/24", f"{REGION}a"),
        ("10.0.11.0/24", f"{REGION}c"),
    }
    assert network["assign_public_ip"] is False
    (balancer,) = service["load_balancer"]
    assert target(balancer["target_group_arn"]) == (group, "arn")
    assert (balancer["container_name"], balancer["container_port"]) == ("rails-app", 3000)


def test_service_allows_exec_rolls_back_and_keeps_deployed_revisions(doc: Document) -> None:
    _, service = the(doc, "aws_ecs_service")
    assert service["enable_execute_command"] is True
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert "task_definition" in service["lifecycle"]["ignore_changes"]


def test_desired_count_comes_from_the_config() -> None:
    _, service = the(rendered(service={"desired_count": 3}), "aws_ecs_service")
    assert service["desired_count"] == 3


def test_arm64_platform_runs_on_graviton() -> None:
    _, task = the(rendered(service={"platform": "linux/arm64"}), "aws_ecs_task_definition")
    assert task["runtime_platform"]["cpu_architecture"] == "ARM64"


# --- Database --------------------------------------------------------------------------------


def test_database_is_the_guides_private_encrypted_mysql(doc: Document) -> None:
    _, db = named(doc, "aws_db_instance", "rails-app-db", key="identifier")
    assert db["engine"] == "mysql"
    assert db["engine_version"] == "8.4"
    assert db["instance_class"] == "db.t4g.micro"
    assert (db["allocated_storage"], db["storage_type"]) == (20, "gp3")
    assert db["storage_encrypted"] is True
    assert db["backup_retention_period"] == 7
    assert db["publicly_accessible"] is False


def test_database_subnet_group_covers_exactly_the_private_subnets(doc: Document) -> None:
    _, db = the(doc, "aws_db_instance")
    group = followed(doc, db["db_subnet_group_name"])
    assert subnets_of(doc, group["subnet_ids"]) == {
        ("10.0.10.0/24", f"{REGION}a"),
        ("10.0.11.0/24", f"{REGION}c"),
    }


@pytest.mark.parametrize("instance_class", ["db.t3.micro", "db.t4g.small"])
def test_instance_class_is_selectable(instance_class: str) -> None:
    _, db = the(rendered(database={"instance_class": instance_class}), "aws_db_instance")
    assert db["instance_class"] == instance_class


def test_engine_version_8_0_is_selectable() -> None:
    _, db = the(rendered(database={"engine_version": "8.0"}), "aws_db_instance")
    assert db["engine_version"] == "8.0"


# --- Registry, secrets, logs, outputs --------------------------------------------------------


@pytest.mark.parametrize("keep", [None, 10])
def test_ecr_repository_keeps_the_configured_number_of_images(keep: int | None) -> None:
    doc = rendered() if keep is None else rendered(registry={"keep_images": keep})
    repository, _ = named(doc, "aws_ecr_repository", "rails-app")
    _, lifecycle = the(doc, "aws_ecr_lifecycle_policy")
    assert target(lifecycle["repository"])[0] == repository
    (rule,) = json.loads(lifecycle["policy"])["rules"]
    assert rule["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 30 if keep is None else keep,
    }
    assert rule["action"] == {"type": "expire"}


def test_secrets_have_the_guides_names(doc: Document) -> None:
    names = {body["name"] for body in resources(doc, "aws_secretsmanager_secret").values()}
    assert names == {"rails-app-db-password", "rails-app-rails-master-key"}


@pytest.mark.parametrize("days", [None, 14])
def test_log_group_keeps_logs_for_the_configured_days(days: int | None) -> None:
    doc = rendered() if days is None else rendered(logs={"retention_days": days})
    _, group = named(doc, "aws_cloudwatch_log_group", "/ecs/rails-app")
    assert group["retention_in_days"] == (30 if days is None else days)


def test_outputs_are_the_guides(doc: Document) -> None:
    outputs = {name: body["value"] for name, body in doc["output"].items()}
    assert outputs.keys() >= OUTPUTS
    alb, _ = the(doc, "aws_lb")
    db, _ = the(doc, "aws_db_instance")
    repository, _ = the(doc, "aws_ecr_repository")
    assert target(outputs["load_balancer_dns"]) == (alb, "dns_name")
    assert target(outputs["database_host"]) == (db, "address")
    assert target(outputs["ecr_repository_url"]) == (repository, "repository_url")
    assert outputs["ecr_login_command"] == (
        f"aws ecr get-login-password --region {REGION} | docker login --username AWS "
        f"--password-stdin ${{{repository}.repository_url}}"
    )


# --- Security groups -------------------------------------------------------------------------


def test_security_groups_form_exactly_the_internet_alb_ecs_db_chain(doc: Document) -> None:
    assert security_rules(doc) == expected_chain(3000)
    vpc, _ = the(doc, "aws_vpc")
    groups = resources(doc, "aws_security_group")
    assert {f"aws_security_group.{name}" for name in groups} == set(group_labels(doc))
    for group in groups.values():
        assert target(group["vpc_id"])[0] == vpc


def test_service_port_moves_through_the_chain() -> None:
    doc = rendered(service={"port": 8080})
    assert security_rules(doc) == expected_chain(8080)
    _, group = the(doc, "aws_lb_target_group")
    _, service = the(doc, "aws_ecs_service")
    assert group["port"] == 8080
    assert service["load_balancer"][0]["container_port"] == 8080
    assert container(doc)["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]


# --- IAM -------------------------------------------------------------------------------------


def test_both_roles_are_assumed_by_ecs_tasks_only(doc: Document) -> None:
    execution = role_of(doc, "execution_role_arn")
    task = role_of(doc, "task_role_arn")
    assert execution != task
    for role in (execution, task):
        (statement,) = statements(body_at(doc, role)["assume_role_policy"])
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert as_set(statement["Action"]) == {"sts:AssumeRole"}


def readable_secrets(doc: Document) -> tuple[set[str], set[str]]:
    """What the execution role may read: (secret references, ARN patterns)."""
    found = inline_statements(doc, role_of(doc, "execution_role_arn"))
    assert {a for s in found for a in as_set(s["Action"])} == {"secretsmanager:GetSecretValue"}
    readable = {r for s in found for r in as_set(s["Resource"])}
    patterns = {r for r in readable if not REFERENCE.match(r)}
    return readable - patterns, patterns


def test_execution_role_reads_exactly_the_injected_secrets(doc: Document) -> None:
    role = role_of(doc, "execution_role_arn")
    assert managed_policies(doc, role) == {EXECUTION_POLICY_ARN}
    references, _ = readable_secrets(doc)
    assert references == set(container_secrets(doc).values())
    assert {secret_name_of(doc, arn) for arn in references} == {
        "rails-app-db-password",
        "rails-app-rails-master-key",
    }


def test_execution_role_reads_app_secrets_of_its_own_prefix_only(doc: Document) -> None:
    # `hakobu secrets set NAME` creates rails-app-app-NAME after apply: the role may read
    # that name prefix, in the partition, region and account of the DB password secret.
    _, patterns = readable_secrets(doc)
    parts = "data.aws_arn.db_password_secret"
    assert patterns == {
        f"arn:${{{parts}.partition}}:secretsmanager:${{{parts}.region}}:"
        f"${{{parts}.account}}:secret:rails-app-app-*"
    }
    # The ARN is parsed from the DB password secret's own ARN (no API call, no "*").
    assert secret_name_of(doc, body_at(doc, parts)["arn"]) == "rails-app-db-password"


def test_app_secrets_of_another_environment_are_not_readable() -> None:
    raw = {"app": "rails-app", "framework": "rails", "environments": {"staging": {}}}
    _, patterns = readable_secrets(render(environment_of(raw, "staging")))
    assert [p.rsplit(":", 1)[1] for p in patterns] == ["rails-app-staging-app-*"]


def test_task_role_only_opens_ecs_exec_channels(doc: Document) -> None:
    role = role_of(doc, "task_role_arn")
    assert managed_policies(doc, role) == set()
    found = inline_statements(doc, role)
    assert {a for s in found for a in as_set(s["Action"])} == ECS_EXEC_ACTIONS


# --- Secret values never land in the document ------------------------------------------------


def test_master_key_never_appears_in_the_rendered_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("RAILS_MASTER_KEY", other_key)
    root = make_rails_app(tmp_path / "rails-app")
    env = load_project(root / "hakobu.toml").environment(None)
    doc = render(env)
    # The app was detected as Rails, so the master key secret is part of the stack...
    named(doc, "aws_secretsmanager_secret", "rails-app-rails-master-key")
    text = json.dumps(doc)
    # ...but neither the key file's value nor the environment's is in the document.
    assert MASTER_KEY not in text
    assert other_key not in text


def test_db_password_is_write_only_and_read_from_the_secret(doc: Document) -> None:
    _, db = the(doc, "aws_db_instance")
    assert "password" not in db
    address, attribute = target(db["password_wo"])
    assert address.startswith("ephemeral.aws_secretsmanager_secret_version.")
    assert attribute == "secret_string"
    assert isinstance(db["password_wo_version"], int)
    # The value read back is the DB password secret's, so the two can never differ.
    secret = followed(doc, body_at(doc, address)["secret_id"])
    assert secret["name"] == "rails-app-db-password"


def test_secret_version_is_write_only_from_a_generated_password(doc: Document) -> None:
    _, version = the(doc, "aws_secretsmanager_secret_version")
    assert "secret_string" not in version and "secret_binary" not in version
    address, _ = target(version["secret_string_wo"])
    assert address.startswith("ephemeral.")
    assert isinstance(version["secret_string_wo_version"], int)
    secret = followed(doc, version["secret_id"])
    assert secret["name"] == "rails-app-db-password"


def test_ephemeral_values_only_feed_write_only_arguments(doc: Document) -> None:
    # Anything else holding an ephemeral value would put it in the plan or the state.
    assert not [kind for kind in doc["resource"] if kind.startswith("random_")]
    for kind, named_bodies in doc["resource"].items():
        for path, value in walk(named_bodies):
            if isinstance(value, str) and "ephemeral." in value:
                assert path[-1].endswith("_wo"), f"{kind}.{'.'.join(path)} = {value}"
    assert "ephemeral." not in json.dumps(doc["output"])


# --- Frameworks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "framework, extra",
    [("django", {"DJANGO_SECRET_KEY": "blog-django-secret-key"}), ("container", {})],
)
def test_non_rails_apps_get_no_master_key(framework: str, extra: dict[str, str]) -> None:
    doc = render(environment_of({"app": "blog", "framework": framework}))
    expected = {"DATABASE_PASSWORD": "blog-db-password", **extra}
    secrets = {body["name"] for body in resources(doc, "aws_secretsmanager_secret").values()}
    assert secrets == set(expected.values())
    assert not [name for name in container_environment(doc) if name.startswith("RAILS_")]
    assert {
        name: secret_name_of(doc, arn) for name, arn in container_secrets(doc).items()
    } == expected
    references, patterns = readable_secrets(doc)
    assert {secret_name_of(doc, r) for r in references} == set(expected.values())
    assert [p.rsplit(":", 1)[1] for p in patterns] == ["blog-app-*"]


def test_django_secret_key_is_generated_write_only() -> None:
    doc = render(environment_of({"app": "blog", "framework": "django"}))
    version = resources(doc, "aws_secretsmanager_secret_version")["django_secret_key"]
    assert "secret_string" not in version
    assert version["secret_string_wo"].startswith("${ephemeral.aws_secretsmanager_random_pass")
    random = doc["ephemeral"]["aws_secretsmanager_random_password"]["django_secret_key"]
    assert random["password_length"] >= 50


# --- Environments ----------------------------------------------------------------------------

TWO_ENVIRONMENTS: dict[str, Any] = {
    "app": "rails-app",
    "framework": "rails",
    "environments": {
        "production": {},
        "staging": {
            "service": {"cpu": 512, "memory": 1024},
            "database": {"instance_class": "db.t3.micro"},
        },
    },
}


def test_staging_names_are_prefixed_with_the_environment() -> None:
    doc = render(environment_of(TWO_ENVIRONMENTS, "staging"))
    named(doc, "aws_ecs_cluster", "rails-app-staging-cluster")
    named(doc, "aws_ecs_service", "rails-app-staging-service")
    named(doc, "aws_ecs_task_definition", "rails-app-staging", key="family")
    named(doc, "aws_lb", "rails-app-staging-alb")
    named(doc, "aws_lb_target_group", "rails-app-staging-tg")
    named(doc, "aws_db_instance", "rails-app-staging-db", key="identifier")
    named(doc, "aws_ecr_repository", "rails-app-staging")
    named(doc, "aws_cloudwatch_log_group", "/ecs/rails-app-staging")
    assert {body["name"] for body in resources(doc, "aws_secretsmanager_secret").values()} == {
        "rails-app-staging-db-password",
        "rails-app-staging-rails-master-key",
    }
    # The container keeps the app's name, so `--container rails-app` works in every environment.
    assert container(doc)["name"] == "rails-app"


def test_two_environments_claim_no_common_aws_name() -> None:
    production = aws_names(render(environment_of(TWO_ENVIRONMENTS, "production")))
    staging = aws_names(render(environment_of(TWO_ENVIRONMENTS, "staging")))
    assert len(production) == len(staging) > 10
    assert production.isdisjoint(staging)


def test_an_override_changes_only_its_environment() -> None:
    staging = render(environment_of(TWO_ENVIRONMENTS, "staging"))
    _, task = the(staging, "aws_ecs_task_definition")
    _, db = the(staging, "aws_db_instance")
    assert (task["cpu"], task["memory"], db["instance_class"]) == ("512", "1024", "db.t3.micro")
    # Production renders exactly as if the staging section did not exist.
    production = render(environment_of(TWO_ENVIRONMENTS, "production"))
    alone = render(environment_of({"app": "rails-app", "framework": "rails"}))
    assert json.dumps(production) == json.dumps(alone)
    _, task = the(production, "aws_ecs_task_definition")
    _, db = the(production, "aws_db_instance")
    assert (task["cpu"], task["memory"], db["instance_class"]) == ("256", "512", "db.t4g.micro")


# Terraform's provider rejects longer names at plan time; config validation should first.
NAME_LIMITS = {
    ("aws_lb", "name"): 32,
    ("aws_lb_target_group", "name"): 32,
    ("aws_iam_role", "name"): 64,
    ("aws_db_instance", "identifier"): 63,
}
LONGEST_APP = "abcdefghij-klmnopqrst"  # 21 characters, the most config.APP_NAME_PATTERN allows


@pytest.mark.parametrize(
    "app, environment",
    [
        ("rails-app", "staging"),
        (LONGEST_APP, "production"),
        (LONGEST_APP, "qa"),
    ],
)
def test_names_of_any_accepted_config_fit_aws_limits(app: str, environment: str) -> None:
    env = environment_of({"app": app, "environments": {environment: {}}})
    doc = render(env)
    for (kind, key), limit in NAME_LIMITS.items():
        for body in resources(doc, kind).values():
            assert len(body[key]) <= limit, f"{kind}.{key} {body[key]!r} exceeds {limit}"


def test_config_refuses_a_prefix_too_long_for_aws_names() -> None:
    with pytest.raises(ConfigError) as caught:
        environment_of({"app": LONGEST_APP, "environments": {"staging": {}}}, "staging")
    assert caught.value.key == "environments.staging"
    assert "AWS allows 32" in caught.value.problem


# --- Determinism -----------------------------------------------------------------------------


def test_render_is_deterministic() -> None:
    first = json.dumps(render(environment_of(TWO_ENVIRONMENTS, "staging")))
    second = json.dumps(render(environment_of(TWO_ENVIRONMENTS, "staging")))
    assert first == second
