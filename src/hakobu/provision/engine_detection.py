"""Which database an app was written for: MySQL or PostgreSQL, from its own files.

Rails: the adapter in config/database.yml (production's first), else the Gemfile's driver
gem. Django: the ENGINE in its settings, else the driver in requirements.txt or
pyproject.toml. `hakobu init` writes the engine it finds; `hakobu up`/`plan` warn when
hakobu.toml's engine is of the other family than the app's files say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hakobu.core.config import Environment
from hakobu.core.engines import Family, engine

RAILS_ADAPTERS: dict[str, Family] = {
    "mysql2": "mysql",
    "trilogy": "mysql",
    "postgresql": "postgres",
    "postgis": "postgres",
}
GEMS = (("pg", "postgres"), ("mysql2", "mysql"), ("trilogy", "mysql"))
DJANGO_ENGINES: dict[str, Family] = {
    "django.db.backends.postgresql": "postgres",
    "django.contrib.gis.db.backends.postgis": "postgres",
    "django.db.backends.mysql": "mysql",
}
PYTHON_DRIVERS = (
    ("psycopg", "postgres"),
    ("psycopg2", "postgres"),
    ("psycopg2-binary", "postgres"),
    ("mysqlclient", "mysql"),
    ("pymysql", "mysql"),
)
ADAPTER = re.compile(r"^\s*adapter:\s*[\"']?([a-z0-9_]+)", re.M)
DJANGO_ENGINE = re.compile(r"[\"'](django\.[a-z.]+backends\.[a-z0-9_]+)[\"']")
REQUIREMENT = re.compile(r"^\s*[\"']?([A-Za-z0-9_.-]+)", re.M)
# Per family: the RDS engine `hakobu init` writes (the guide's kind of database), Aurora's.
FAMILY_ENGINES: dict[Family, tuple[str, str]] = {
    "mysql": ("mysql", "aurora-mysql"),
    "postgres": ("postgres", "aurora-postgresql"),
}
FAMILY_LABELS: dict[Family, str] = {"mysql": "MySQL", "postgres": "PostgreSQL"}


@dataclass(frozen=True)
class Guess:
    family: Family
    source: str  # what said so, for people: "config/database.yml (adapter: postgresql)"


def detect_family(root: Path, framework: str) -> Guess | None:
    if framework == "rails":
        return _from_database_yml(root) or _from_gemfile(root)
    if framework == "django":
        return _from_django_settings(root) or _from_python_requirements(root)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _from_database_yml(root: Path) -> Guess | None:
    text = _read(root / "config" / "database.yml")
    production = text.split("\nproduction:", 1)[1] if "\nproduction:" in text else ""
    # production's own adapter, else the one it inherits (`<<: *default`), else the first.
    for adapter in ADAPTER.findall(production) + ADAPTER.findall(text):
        if adapter in RAILS_ADAPTERS:
            return Guess(RAILS_ADAPTERS[adapter], f"config/database.yml (adapter: {adapter})")
    return None


def _from_gemfile(root: Path) -> Guess | None:
    text = _read(root / "Gemfile")
    for gem, family in GEMS:
        if re.search(rf"^\s*gem\s+[\"']{re.escape(gem)}[\"']", text, re.M):
            return Guess(family, f"the Gemfile (gem {gem!r})")  # type: ignore[arg-type]
    return None


def _from_django_settings(root: Path) -> Guess | None:
    candidates = sorted(root.glob("*/settings.py")) + sorted(root.glob("*/settings/*.py"))
    for path in candidates:
        for name in DJANGO_ENGINE.findall(_read(path)):
            if name in DJANGO_ENGINES:
                where = path.relative_to(root).as_posix()
                return Guess(DJANGO_ENGINES[name], f"{where} (ENGINE {name})")
    return None


def _from_python_requirements(root: Path) -> Guess | None:
    for name in ("requirements.txt", "pyproject.toml"):
        wanted = {r.lower() for r in REQUIREMENT.findall(_read(root / name))}
        for driver, family in PYTHON_DRIVERS:
            if driver in wanted:
                return Guess(family, f"{name} ({driver})")  # type: ignore[arg-type]
    return None


def mismatch_warning(env: Environment) -> str | None:
    """A warning when hakobu.toml's engine is not the family the app's files name."""
    guess = detect_family(env.root, env.framework)
    configured = engine(env.settings.database.engine)
    if guess is None or guess.family == configured.family:
        return None
    rds, aurora = FAMILY_ENGINES[guess.family]
    return (
        f"database.engine = {configured.name!r} ({configured.label}), but {guess.source} "
        f"says the app uses {FAMILY_LABELS[guess.family]}: it will not connect. Set "
        f'engine = "{rds}" (or "{aurora}"), or change the app\'s database settings.'
    )
