"""`hakobu init` shows the Active Storage / django-storages settings for the [storage]
bucket whenever the app's own files say it stores files, with or without a Procfile, and
not for an app that stores none."""

from __future__ import annotations

from pathlib import Path

import pytest

from hakobu.provision.scaffold import write_config
from hakobu.provision.storage_hint import storage_notes, storage_source
from tests.conftest import make_rails_app, run_hakobu

STORAGE_YML = "local:\n  service: Disk\n  root: <%= Rails.root.join('storage') %>\n"
PRODUCTION_RB = "Rails.application.configure do\n  config.active_storage.service = :local\nend\n"
SKIPPED_ACTIVE_STORAGE = 'require "rails"\n# require "active_storage/engine"\n'
GEMFILE_LOCK = "GEM\n  specs:\n    aws-sdk-s3 (1.170.0)\n    rails (8.0.1)\n"


def _django_app(root: Path, files: dict[str, str]) -> Path:
    (root / "manage.py").write_text("#!/usr/bin/env python\n")
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "settings.py").write_text("DEBUG = False\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "source"),
    [
        ({"config/storage.yml": STORAGE_YML}, "config/storage.yml"),
        (
            {"config/environments/production.rb": PRODUCTION_RB},
            "config/environments/production.rb (active_storage)",
        ),
        ({"Gemfile.lock": GEMFILE_LOCK}, "Gemfile.lock (aws-sdk-s3)"),
        ({"Gemfile": 'source "https://rubygems.org"\ngem "aws-sdk-s3"\n'}, "Gemfile (aws-sdk-s3)"),
        ({"config/application.rb": SKIPPED_ACTIVE_STORAGE}, None),  # commented out: none
        ({}, None),
    ],
    ids=["storage-yml", "production-rb", "gemfile-lock", "gemfile", "skipped", "none"],
)
def test_rails_storage_is_found_in_the_apps_own_files(
    tmp_path: Path, files: dict[str, str], source: str | None
) -> None:
    make_rails_app(tmp_path)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert storage_source(tmp_path, "rails") == source


@pytest.mark.parametrize(
    ("files", "source"),
    [
        (
            {"requirements.txt": "Django==5.1\ndjango-storages[s3]==1.14.4\n"},
            "requirements.txt (django-storages)",
        ),
        ({"requirements.txt": "Django_Storages>=1.14\n"}, "requirements.txt (django-storages)"),
        (
            {"pyproject.toml": '[project]\ndependencies = [\n  "django-storages[s3]>=1.14",\n]\n'},
            "pyproject.toml (django-storages)",
        ),
        (
            {
                "config/settings.py": 'STORAGES = {"default": {"BACKEND": '
                '"storages.backends.s3.S3Storage"}}\n'
            },
            "config/settings.py (django-storages)",
        ),
        (
            {"config/settings.py": 'INSTALLED_APPS = ["django.contrib.admin", "storages"]\n'},
            "config/settings.py (django-storages)",
        ),
        # Django's own file storage on local disk, boto3 alone: nothing stored in S3.
        (
            {
                "requirements.txt": "Django==5.1\nboto3==1.35\n",
                "config/settings.py": 'STORAGES = {"default": {"BACKEND": '
                '"django.core.files.storage.FileSystemStorage"}}\n',
            },
            None,
        ),
    ],
    ids=["requirements", "normalized-name", "pyproject", "settings", "installed-apps", "none"],
)
def test_django_storage_is_found_in_requirements_or_settings(
    tmp_path: Path, files: dict[str, str], source: str | None
) -> None:
    root = _django_app(tmp_path, files)
    assert storage_source(root, "django") == source


def test_a_container_app_gets_no_storage_hint(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "storage.yml").write_text(STORAGE_YML)
    assert storage_source(tmp_path, "container") is None
    assert storage_notes("config/storage.yml", "container") == []


def test_init_without_a_procfile_shows_active_storage_settings(tmp_path: Path) -> None:
    make_rails_app(tmp_path, app="shop")
    (tmp_path / "config" / "storage.yml").write_text(STORAGE_YML)
    assert not (tmp_path / "Procfile").exists()
    result = run_hakobu("init", "--force", cwd=tmp_path)
    assert result.code == 0, result.output
    assert "Procfile" not in result.stdout
    assert "Storage: config/storage.yml says the app stores files." in result.stdout
    wanted = (
        "uncomment [storage] bucket = true in hakobu.toml and point Active Storage at it: "
        "in config/storage.yml"
    )
    assert wanted in result.stdout
    assert 'bucket: <%= ENV["STORAGE_BUCKET"] %>' in result.stdout
    assert 'region: <%= ENV["STORAGE_REGION"] %>' in result.stdout
    assert "config.active_storage.service = :amazon" in result.stdout
    assert 'gem "aws-sdk-s3", require: false in the Gemfile' in result.stdout


def test_init_shows_django_storages_settings_and_procfile_notes_apart(tmp_path: Path) -> None:
    root = _django_app(tmp_path, {"requirements.txt": "django-storages==1.14.4\n"})
    (root / "Procfile").write_text("web: gunicorn config.wsgi\nworker: celery -A config worker\n")
    result = run_hakobu("init", "--app", "shop", cwd=root)
    assert result.code == 0, result.output
    assert "Procfile: [processes.worker]" in result.stdout
    assert "Storage: requirements.txt (django-storages) says the app stores files." in (
        result.stdout
    )
    assert "point django-storages at it: in settings.py" in result.stdout
    assert 'AWS_STORAGE_BUCKET_NAME = os.environ.get("STORAGE_BUCKET")' in result.stdout
    assert '"storages.backends.s3.S3Storage"' in result.stdout
    assert "with django-storages[s3] in the requirements" in result.stdout


def test_init_with_a_procfile_but_no_storage_shows_no_storage_settings(tmp_path: Path) -> None:
    make_rails_app(tmp_path, app="shop")
    (tmp_path / "Procfile").write_text("web: bin/rails server\nworker: bin/jobs\n")
    _, detected = write_config(tmp_path, "shop", force=True)
    assert detected.storage_source is None
    result = run_hakobu("init", "--force", cwd=tmp_path)
    assert result.code == 0, result.output
    assert "Procfile: [processes.worker]" in result.stdout
    assert "Storage:" not in result.stdout and 'STORAGE_BUCKET"]' not in result.stdout
