"""The database each engine renders: exact values, the security-group chain on the engine's
port, the variables the app reads, and no secret anywhere in the JSON.

Pure unit tests on `blueprint.render` (no network, no Terraform); the same documents are
validated by Terraform in test_terraform_validate.py and applied in the sandbox by
tests/integration/test_engines_sandbox.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.engines import BY_NAME, family
from hakobu.provision.blueprint import render
from hakobu.provision.database_safety import (
    EngineChangeRefused,
    check_engine_change,
    replaced_databases,
)
from hakobu.provision.terraform import PlannedChange, PlanSummary
from tests.conftest import environment_of

Document = dict[str, Any]
PASSWORD_REF = "${ephemeral.aws_secretsmanager_secret_version.db_password.secret_string}"


def rendered(engine: str, **database: Any) -> Document:
    raw: dict[str, Any] = {"app": "shop", "framework": "django"}
    profile = database.pop("profile", None)
    if profile:
        raw["profile"] = profile
    raw["database"] = {"engine": engine, **database}
    return render(environment_of(raw))


def container_environment(doc: Document) -> dict[str, str]:
    task = doc["resource"]["aws_ecs_task_definition"]["app"]
    container = json.loads(task["container_definitions"])[0]
    return {item["name"]: item["value"] for item in container["environment"]}


def db_ingress(doc: Document) -> dict[str, Any]:
    rules = doc["resource"]["aws_vpc_security_group_ingress_rule"]
    db_group = "${aws_security_group.db.id}"
    return next(r for r in rules.values() if r["security_group_id"] == db_group)


# --- RDS PostgreSQL ---------------------------------------------------------------------------


def test_rds_postgresql_is_the_current_major_on_a_micro_instance() -> None:
    doc = rendered("postgres")
    db = doc["resource"]["aws_db_instance"]["main"]
    assert (db["engine"], db["engine_version"], db["instance_class"]) == (
        "postgres",
        "18",
        "db.t4g.micro",
    )
    assert db["password_wo"] == PASSWORD_REF and "password" not in db
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["final_snapshot_identifier"] == "shop-db-final"
    assert "aws_rds_cluster" not in doc["resource"]


@pytest.mark.parametrize(
    ("engine", "port", "protocol"),
    [
        ("mysql", 3306, "MySQL"),
        ("postgres", 5432, "PostgreSQL"),
        ("aurora-mysql", 3306, "MySQL"),
        ("aurora-postgresql", 5432, "PostgreSQL"),
    ],
)
def test_the_db_admits_only_the_tasks_on_the_engines_port(
    engine: str, port: int, protocol: str
) -> None:
    doc = rendered(engine)
    rule = db_ingress(doc)
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (port, port, "tcp")
    assert rule["referenced_security_group_id"] == "${aws_security_group.ecs.id}"
    assert "cidr_ipv4" not in rule
    assert rule["description"] == f"{protocol} from the app tasks"
    variables = container_environment(doc)
    # Read from the resource, which on AWS reports the engine's port (set on clusters).
    resource = "aws_rds_cluster.main" if engine.startswith("aurora") else "aws_db_instance.main"
    assert variables["DATABASE_PORT"] == f"${{{resource}.port}}"
    assert variables["DATABASE_ENGINE"] == family(engine)


# --- Aurora ----------------------------------------------------------------------------------


def test_aurora_mysql_is_a_serverless_cluster_that_can_pause() -> None:
    doc = rendered("aurora-mysql")
    cluster = doc["resource"]["aws_rds_cluster"]["main"]
    assert cluster["cluster_identifier"] == "shop-db"
    assert (cluster["engine"], cluster["engine_version"], cluster["port"]) == (
        "aurora-mysql",
        "8.0",
        3306,
    )
    assert cluster["serverlessv2_scaling_configuration"] == {
        "min_capacity": 0.0,
        "max_capacity": 2.0,
        "seconds_until_auto_pause": 300,
    }
    assert cluster["storage_encrypted"] is True
    assert cluster["backup_retention_period"] == 7
    assert cluster["deletion_protection"] is False  # as for RDS
    assert cluster["final_snapshot_identifier"] == "shop-db-final"
    assert cluster["skip_final_snapshot"] is False
    assert cluster["master_password_wo"] == PASSWORD_REF
    assert cluster["master_password_wo_version"] == 1
    assert not {"master_password", "manage_master_user_password"} & cluster.keys()
    assert cluster["lifecycle"] == {"ignore_changes": ["scaling_configuration"]}
    assert cluster["db_subnet_group_name"] == "${aws_db_subnet_group.main.name}"
    assert cluster["vpc_security_group_ids"] == ["${aws_security_group.db.id}"]
    (writer,) = doc["resource"]["aws_rds_cluster_instance"].values()
    assert writer["identifier"] == "shop-db-1"
    assert writer["instance_class"] == "db.serverless"
    assert writer["cluster_identifier"] == "${aws_rds_cluster.main.id}"
    assert writer["availability_zone"] == "${aws_subnet.private_a.availability_zone}"
    assert writer["publicly_accessible"] is False
    assert "aws_db_instance" not in doc["resource"]


def test_aurora_outputs_the_writer_and_the_reader_endpoints() -> None:
    doc = rendered("aurora-postgresql")
    assert doc["output"]["database_host"]["value"] == "${aws_rds_cluster.main.endpoint}"
    assert (
        doc["output"]["database_reader_host"]["value"] == "${aws_rds_cluster.main.reader_endpoint}"
    )
    assert container_environment(doc)["DATABASE_HOST"] == "${aws_rds_cluster.main.endpoint}"


def test_rds_outputs_the_instance_as_its_reader() -> None:
    doc = rendered("postgres")
    address = "${aws_db_instance.main.address}"
    assert doc["output"]["database_host"]["value"] == address
    assert doc["output"]["database_reader_host"]["value"] == address


def test_the_ha_profile_adds_a_reader_in_the_other_zone() -> None:
    doc = rendered("aurora-postgresql", profile="ha")
    instances = doc["resource"]["aws_rds_cluster_instance"]
    zones = sorted(i["availability_zone"] for i in instances.values())
    assert zones == [
        "${aws_subnet.private_a.availability_zone}",
        "${aws_subnet.private_c.availability_zone}",
    ]
    assert sorted(i["promotion_tier"] for i in instances.values()) == [0, 1]
    assert {i["instance_class"] for i in instances.values()} == {"db.serverless"}


def test_the_guide_profile_keeps_aurora_on_serverless() -> None:
    doc = rendered("aurora-mysql", profile="guide")
    (writer,) = doc["resource"]["aws_rds_cluster_instance"].values()
    assert writer["instance_class"] == "db.serverless"


def test_a_version_that_cannot_pause_gets_the_lowest_capacity_it_allows() -> None:
    doc = rendered("aurora-postgresql", engine_version="16.2")
    capacity = doc["resource"]["aws_rds_cluster"]["main"]["serverlessv2_scaling_configuration"]
    assert capacity == {"min_capacity": 0.5, "max_capacity": 2.0}


def test_a_provisioned_aurora_class_has_no_serverless_capacity() -> None:
    doc = rendered("aurora-mysql", instance_class="db.r7g.large")
    assert "serverlessv2_scaling_configuration" not in doc["resource"]["aws_rds_cluster"]["main"]
    (writer,) = doc["resource"]["aws_rds_cluster_instance"].values()
    assert writer["instance_class"] == "db.r7g.large"


def test_no_final_snapshot_when_the_config_says_so() -> None:
    cluster = rendered("aurora-mysql", final_snapshot=False)["resource"]["aws_rds_cluster"]["main"]
    assert cluster["skip_final_snapshot"] is True
    assert "final_snapshot_identifier" not in cluster


@pytest.mark.parametrize("engine", sorted(BY_NAME))
def test_no_password_is_written_into_the_document(engine: str) -> None:
    """Only the write-only arguments carry it, as a reference to an ephemeral value."""
    text = json.dumps(rendered(engine))
    assert "password_wo" in text
    for key in ('"password"', '"master_password"', "manage_master_user_password"):
        assert key not in text
    for resource in ("aws_db_instance", "aws_rds_cluster"):
        for body in rendered(engine)["resource"].get(resource, {}).values():
            written = {k: v for k, v in body.items() if "password" in k and k.endswith("_wo")}
            assert written and set(written.values()) == {PASSWORD_REF}


# --- Safety ----------------------------------------------------------------------------------


def _state(path: Path, kind: str, engine: str, identifier: str) -> None:
    key = "cluster_identifier" if kind == "aws_rds_cluster" else "identifier"
    state = {
        "version": 4,
        "resources": [
            {
                "mode": "managed",
                "type": kind,
                "name": "main",
                "instances": [{"attributes": {"engine": engine, key: identifier}}],
            }
        ],
    }
    path.mkdir(parents=True, exist_ok=True)
    (path / "terraform.tfstate").write_text(json.dumps(state))


def test_an_engine_change_is_refused_with_how_to_migrate(tmp_path: Path) -> None:
    _state(tmp_path, "aws_db_instance", "mysql", "shop-db")
    env = environment_of({"app": "shop", "database": {"engine": "aurora-mysql"}})
    called = []
    with pytest.raises(EngineChangeRefused) as refused:
        check_engine_change(env, tmp_path, rds=lambda: called.append("rds"))
    assert refused.value.exit_code == 2
    assert "already has a MySQL database (RDS instance shop-db)" in refused.value.problem
    assert "destroy it and its data" in refused.value.problem
    assert 'keep engine = "mysql"' in str(refused.value.fix)
    assert "restore-db-cluster-from-snapshot" in str(refused.value.fix)
    assert called == []  # the local state answered: no AWS call


def test_a_move_between_families_names_a_conversion_tool(tmp_path: Path) -> None:
    _state(tmp_path, "aws_rds_cluster", "aurora-mysql", "shop-db")
    env = environment_of({"app": "shop", "database": {"engine": "postgres"}})
    with pytest.raises(EngineChangeRefused) as refused:
        check_engine_change(env, tmp_path)
    assert "an Aurora MySQL database (Aurora cluster shop-db)" in refused.value.problem
    assert "pgloader" in str(refused.value.fix)


def test_the_same_engine_or_no_database_yet_passes(tmp_path: Path) -> None:
    env = environment_of({"app": "shop", "database": {"engine": "postgres"}})
    check_engine_change(env, tmp_path / "nothing-here")
    _state(tmp_path, "aws_db_instance", "postgres", "shop-db")
    check_engine_change(env, tmp_path)


def test_a_plan_that_replaces_or_deletes_the_data_is_flagged() -> None:
    summary = PlanSummary(
        changes=[
            PlannedChange("aws_db_instance.main", "aws_db_instance", "replace"),
            PlannedChange("aws_rds_cluster.main", "aws_rds_cluster", "delete"),
            PlannedChange("aws_rds_cluster_instance.db_2", "aws_rds_cluster_instance", "delete"),
            PlannedChange("aws_ecs_service.app", "aws_ecs_service", "replace"),
            PlannedChange("aws_db_subnet_group.main", "aws_db_subnet_group", "update"),
        ]
    )
    assert replaced_databases(summary) == ["aws_db_instance.main", "aws_rds_cluster.main"]


def test_up_shows_a_database_replacement_in_red_and_wants_the_name_typed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from hakobu.cli import ui

    out = io.StringIO()
    asked: list[str] = []
    ctx = SimpleNamespace(
        env=environment_of({"app": "shop"}),
        out=Console(file=out, force_terminal=True, width=200),
        confirm=lambda question, default=False: asked.append(question) or True,
    )
    monkeypatch.setattr(ui.typer, "prompt", lambda text: asked.append(text) or "production")
    presenter = ui.TerminalPresenter(ctx)  # type: ignore[arg-type]
    summary = PlanSummary(
        add=1,
        destroy=1,
        changes=[PlannedChange("aws_db_instance.main", "aws_db_instance", "replace")],
    )
    presenter.planned(summary, saved=False)
    shown = out.getvalue()
    assert "\x1b[1;31mThis plan replaces or deletes the database" in shown  # bold red
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert "the database (aws_db_instance.main): its data would be lost" in plain
    assert presenter.confirm(summary) is True
    assert asked == ["Type the environment name (production) to lose its data"]
    assert presenter.confirm(PlanSummary(change=1)) is True  # an ordinary plan: yes/no
    assert asked[-1] == "Apply this plan?"
