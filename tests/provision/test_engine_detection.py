"""`hakobu init` picks the database engine from the app's own files and says why; `up` and
`plan` warn (not silently accept) when hakobu.toml names the other kind of database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hakobu.core.config import load_project
from hakobu.provision.engine_detection import detect_family, mismatch_warning
from hakobu.provision.pipeline import preflight
from hakobu.provision.scaffold import write_config
from tests.conftest import make_rails_app

DATABASE_YML = """default: &default
  adapter: {adapter}
  pool: 5
development:
  <<: *default
  adapter: sqlite3
production:
  <<: *default
  database: shop_production
"""


def rails(root: Path, adapter: str | None = None, gemfile: str = "") -> Path:
    make_rails_app(root, app="shop")
    if adapter:
        (root / "config" / "database.yml").write_text(DATABASE_YML.format(adapter=adapter))
    if gemfile:
        (root / "Gemfile").write_text(gemfile)
    return root


def django(root: Path, settings: str = "", requirements: str = "") -> Path:
    (root / "config").mkdir(parents=True)
    (root / "manage.py").write_text("import django\n")
    (root / "config" / "settings.py").write_text(settings)
    if requirements:
        (root / "requirements.txt").write_text(requirements)
    return root


@pytest.mark.parametrize(
    ("adapter", "family"),
    [
        ("postgresql", "postgres"),
        ("mysql2", "mysql"),
        ("trilogy", "mysql"),
        ("postgis", "postgres"),
    ],
)
def test_rails_database_yml_adapter(tmp_path: Path, adapter: str, family: str) -> None:
    guess = detect_family(rails(tmp_path / "app", adapter), "rails")
    assert guess is not None and guess.family == family
    assert guess.source == f"config/database.yml (adapter: {adapter})"


def test_rails_gemfile_when_database_yml_says_nothing(tmp_path: Path) -> None:
    app = rails(tmp_path / "app", gemfile='source "https://rubygems.org"\ngem "pg", "~> 1.5"\n')
    guess = detect_family(app, "rails")
    assert guess is not None and (guess.family, guess.source) == (
        "postgres",
        "the Gemfile (gem 'pg')",
    )


def test_django_settings_engine_then_requirements(tmp_path: Path) -> None:
    settings = 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n'
    guess = detect_family(django(tmp_path / "a", settings=settings), "django")
    assert guess is not None and guess.family == "postgres"
    assert guess.source == "config/settings.py (ENGINE django.db.backends.postgresql)"
    guess = detect_family(
        django(tmp_path / "b", requirements="Django>=5\nPyMySQL==1.1\n"), "django"
    )
    assert guess is not None and (guess.family, guess.source) == (
        "mysql",
        "requirements.txt (pymysql)",
    )
    guess = detect_family(django(tmp_path / "c", requirements="psycopg[binary]>=3.2\n"), "django")
    assert guess is not None and guess.family == "postgres"


def test_nothing_found_is_none(tmp_path: Path) -> None:
    assert detect_family(django(tmp_path / "app", requirements="Django>=5\n"), "django") is None
    assert detect_family(rails(tmp_path / "rails"), "rails") is None


def test_init_writes_the_detected_engine_and_says_where_it_came_from(tmp_path: Path) -> None:
    app = rails(tmp_path / "app", "postgresql")
    path, detected = write_config(app, "shop", force=True)
    assert (detected.database_engine, detected.engine_source) == (
        "postgres",
        "config/database.yml (adapter: postgresql)",
    )
    database = load_project(path).environment(None).settings.database
    assert (database.engine, database.engine_version) == ("postgres", "18")
    assert "PostgreSQL, from config/database.yml (adapter: postgresql)" in path.read_text()


@pytest.mark.skipif(shutil.which("terraform") is None, reason="preflight looks for terraform")
def test_up_warns_when_hakobu_toml_names_the_other_engine(tmp_path: Path) -> None:
    app = rails(tmp_path / "app")  # init saw no database.yml: engine = "mysql"
    (app / "config" / "database.yml").write_text(DATABASE_YML.format(adapter="postgresql"))
    env = load_project(app / "hakobu.toml").environment(None)
    assert env.settings.database.engine == "mysql"
    warning = mismatch_warning(env)
    assert warning is not None
    assert "config/database.yml (adapter: postgresql) says the app uses PostgreSQL" in warning
    assert 'engine = "postgres"' in warning
    assert warning in preflight(env)
    (app / "config" / "database.yml").write_text(DATABASE_YML.format(adapter="mysql2"))
    assert mismatch_warning(env) is None
