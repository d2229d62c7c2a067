"""Whether an app stores files (Active Storage, django-storages), and what `hakobu init`
tells it about the [storage] bucket. Independent of the Procfile: an app with uploads
needs the settings whether or not it runs workers.

Rails: config/storage.yml (Active Storage's services), a `config.active_storage` line in
the app's config, or the aws-sdk-s3 gem (Active Storage's S3 service needs it). Django:
django-storages in requirements.txt or pyproject.toml, or its backend in the settings.
"""

from __future__ import annotations

import re
from pathlib import Path

from hakobu.provision.engine_detection import REQUIREMENT

RAILS_CONFIG = ("config/application.rb", "config/environments/production.rb")
# Not commented out: `rails new --skip-active-storage` leaves `# require "active_storage/engine"`.
ACTIVE_STORAGE = re.compile(r"^[ \t]*[^#\n]*\bactive_storage\b", re.M)
S3_GEM = re.compile(r"^\s*(?:gem\s+[\"'])?aws-sdk-s3\b", re.M)
DJANGO_STORAGES = "django-storages"
# Its backend in STORAGES / DEFAULT_FILE_STORAGE, or the app in INSTALLED_APPS.
STORAGES_BACKEND = re.compile(r"[\"']storages(?:\.backends\.[A-Za-z0-9_.]+)?[\"']")

STORAGE_HINT = {
    "rails": (
        "point Active Storage at it: in config/storage.yml\n"
        "  amazon:\n    service: S3\n"
        '    bucket: <%= ENV["STORAGE_BUCKET"] %>\n'
        '    region: <%= ENV["STORAGE_REGION"] %>\n'
        "and config.active_storage.service = :amazon in config/environments/production.rb,\n"
        '  with gem "aws-sdk-s3", require: false in the Gemfile '
        "(credentials come from the task role)."
    ),
    "django": (
        "point django-storages at it: in settings.py\n"
        '  STORAGES = {"default": {"BACKEND": "storages.backends.s3.S3Storage"}, ...}\n'
        '  AWS_STORAGE_BUCKET_NAME = os.environ.get("STORAGE_BUCKET")\n'
        '  AWS_S3_REGION_NAME = os.environ.get("STORAGE_REGION")\n'
        "with django-storages[s3] in the requirements (credentials come from the task role)."
    ),
}


def storage_source(root: Path, framework: str) -> str | None:
    """The file that says the app stores files, for people; None when none says so."""
    if framework == "rails":
        return _rails(root)
    if framework == "django":
        return _django(root)
    return None


def storage_notes(source: str | None, framework: str) -> list[str]:
    """What `hakobu init` says when the app stores files: the bucket, and its settings."""
    if source is None or framework not in STORAGE_HINT:
        return []
    return [
        f"Storage: {source} says the app stores files. For a private S3 bucket, uncomment "
        "[storage] bucket = true in hakobu.toml and " + STORAGE_HINT[framework]
    ]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _rails(root: Path) -> str | None:
    if (root / "config" / "storage.yml").is_file():
        return "config/storage.yml"
    for name in RAILS_CONFIG:
        if ACTIVE_STORAGE.search(_read(root / name)):
            return f"{name} (active_storage)"
    for name in ("Gemfile.lock", "Gemfile"):
        if S3_GEM.search(_read(root / name)):
            return f"{name} (aws-sdk-s3)"
    return None


def _django(root: Path) -> str | None:
    for name in ("requirements.txt", "pyproject.toml"):
        wanted = {_normal(r) for r in REQUIREMENT.findall(_read(root / name))}
        if DJANGO_STORAGES in wanted:
            return f"{name} ({DJANGO_STORAGES})"
    candidates = sorted(root.glob("*/settings.py")) + sorted(root.glob("*/settings/*.py"))
    for path in candidates:
        if STORAGES_BACKEND.search(_read(path)):
            return f"{path.relative_to(root).as_posix()} (django-storages)"
    return None


def _normal(requirement: str) -> str:
    """PEP 503's normal form: `Django_Storages` and `django.storages` are django-storages."""
    return re.sub(r"[-_.]+", "-", requirement).lower()
