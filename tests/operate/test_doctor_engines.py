"""`hakobu doctor`'s engine check for PostgreSQL and Aurora: the end of standard support of
the configured major, a warning once it has passed (dates from core.engines)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from hakobu.operate.doctor.database import check_engine_version
from tests.conftest import environment_of


def _check(database: dict[str, object], today: date) -> object:
    facts = SimpleNamespace(env=environment_of({"app": "shop", "database": database}), today=today)
    return check_engine_version(facts)  # type: ignore[arg-type]


def test_postgresql_in_standard_support_names_its_end() -> None:
    found = _check({"engine": "postgres"}, date(2026, 12, 2))
    assert (found.status, found.message) == (  # type: ignore[attr-defined]
        "ok",
        "PostgreSQL 18 (standard support until 2031-02-28)",
    )


def test_a_major_past_its_end_is_a_warning_with_the_fix() -> None:
    found = _check({"engine": "aurora-postgresql", "engine_version": "16"}, date(2029, 3, 1))
    assert found.status == "warning"  # type: ignore[attr-defined]
    assert "Aurora PostgreSQL 16 left standard support on 2029-02-28" in found.message  # type: ignore[attr-defined]
    assert "database.engine_version" in found.fix  # type: ignore[attr-defined]


def test_aurora_mysql_is_not_mistaken_for_rds_mysql_80() -> None:
    found = _check({"engine": "aurora-mysql"}, date(2026, 12, 2))
    assert found.status == "ok"  # type: ignore[attr-defined]
    assert found.message.startswith("Aurora MySQL 8.0")  # type: ignore[attr-defined]
    assert "Extended Support" not in found.message  # type: ignore[attr-defined]
