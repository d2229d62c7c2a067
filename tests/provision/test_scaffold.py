"""`hakobu init`: detection of the kind of app and the file it writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hakobu.core.config import load_project
from tests.conftest import HakobuRunner, make_rails_app


def test_init_detects_rails_and_writes_a_valid_commented_config(
    tmp_path: Path, hakobu: HakobuRunner
) -> None:
    root = tmp_path / "shop"
    (root / "config").mkdir(parents=True)
    (root / "config" / "application.rb").write_text("module Shop\n  class Application\n")
    (root / "config" / "master.key").write_text("k" * 32)
    result = hakobu("init", cwd=root)
    assert result.code == 0, result.output
    assert "rails app" in result.stdout
    text = (root / "hakobu.toml").read_text()
    raw = tomllib.loads(text)
    assert raw["app"] == "shop" and raw["framework"] == "rails"
    # Keys a profile sets are commented out, so that `profile = ...` alone takes effect.
    assert raw["service"] == {"cpu": 256, "memory": 512, "port": 3000, "health_check_path": "/up"}
    assert "profile" not in raw and '# profile = "lean"' in text
    assert raw["database"]["username"] == "shop" and raw["database"]["name"] == "shop_production"
    assert raw["secrets"]["database_password_env"] == "SHOP_DATABASE_PASSWORD"
    # The reasons for the defaults are in the file, where the user reads them.
    assert "Extended" in text and "db.t3.micro" in text
    env = load_project(root / "hakobu.toml").environment(None)
    assert env.name == "production" and env.prefix == "shop"
    assert (root / ".gitignore").read_text() == ".hakobu/\n"


def test_init_detects_django_and_plain_containers(tmp_path: Path, hakobu: HakobuRunner) -> None:
    django = tmp_path / "blog"
    django.mkdir()
    (django / "manage.py").write_text("#!/usr/bin/env python\n")
    assert hakobu("init", cwd=django).code == 0
    raw = tomllib.loads((django / "hakobu.toml").read_text())
    assert (raw["framework"], raw["service"]["port"]) == ("django", 8000)
    assert "master_key_file" not in raw["secrets"]

    plain = tmp_path / "Some App_2"
    plain.mkdir()
    assert hakobu("init", cwd=plain).code == 0
    raw = tomllib.loads((plain / "hakobu.toml").read_text())
    assert (raw["app"], raw["framework"]) == ("some-app-2", "container")


def test_init_keeps_the_work_dir_out_of_the_image_build(
    tmp_path: Path, hakobu: HakobuRunner
) -> None:
    """.hakobu/ holds the sandbox's databases and Terraform's providers: a build context
    that includes it sends hundreds of MB to the builder on every deploy."""
    root = make_rails_app(tmp_path / "rails-app")
    (root / "hakobu.toml").unlink()
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / ".dockerignore").write_text("/.git\n/log/*")  # Rails' own, without a newline
    assert hakobu("init", cwd=root).code == 0
    assert (root / ".dockerignore").read_text() == "/.git\n/log/*\n/.hakobu/\n"
    assert hakobu("init", "--force", cwd=root).code == 0
    assert (root / ".dockerignore").read_text().count(".hakobu") == 1


def test_init_never_overwrites_without_force(tmp_path: Path, hakobu: HakobuRunner) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    (root / "hakobu.toml").write_text('app = "mine"\n')
    (root / ".gitignore").write_text("log/\n.hakobu/\n")
    result = hakobu("init", cwd=root)
    assert result.code == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert (root / "hakobu.toml").read_text() == 'app = "mine"\n'
    assert hakobu("init", "--force", "--app", "other", cwd=root).code == 0
    assert tomllib.loads((root / "hakobu.toml").read_text())["app"] == "other"
    assert (root / ".gitignore").read_text() == "log/\n.hakobu/\n"


def test_eject_writes_terraform_without_secrets(rails_app: Path, hakobu: HakobuRunner) -> None:
    result = hakobu("eject", "-o", "infra", cwd=rails_app)
    assert result.code == 0, result.output
    document = (rails_app / "infra" / "main.tf.json").read_text()
    assert '"rails-app-cluster"' in document
    assert (rails_app / "config" / "master.key").read_text().strip() not in document
    assert not (rails_app / "infra" / "terraform.rc").exists()


def test_init_with_a_profile_takes_effect(tmp_path: Path, hakobu: HakobuRunner) -> None:
    result = hakobu("init", "--app", "shop", "--profile", "lean", cwd=tmp_path)
    assert result.code == 0, result.output
    env = load_project(tmp_path / "hakobu.toml").environment(None)
    settings = env.settings
    assert settings.profile == "lean"
    assert (
        settings.network.nat_gateways,
        settings.service.public_ip,
        settings.service.platform,
    ) == (0, True, "linux/arm64")


def test_init_says_how_a_rails_app_sits_behind_tls(tmp_path: Path, hakobu: HakobuRunner) -> None:
    """With [domain] the ALB terminates TLS: the lines production.rb needs, the health
    check path exempt from the redirect (the ALB checks over plain HTTP)."""
    root = tmp_path / "shop"
    (root / "config").mkdir(parents=True)
    (root / "config" / "application.rb").write_text("module Shop\n  class Application\n")
    (root / "config" / "master.key").write_text("k" * 32)
    assert hakobu("init", cwd=root).code == 0
    lines = (root / "hakobu.toml").read_text().splitlines()
    start = lines.index("# config/environments/production.rb write")
    assert lines[start + 1 : start + 5] == [
        '#   config.assume_ssl = ENV["RAILS_ASSUME_SSL"] == "1"',
        '#   config.force_ssl = ENV["RAILS_ASSUME_SSL"] == "1"',
        "#   config.ssl_options = { redirect: { exclude: ->(request) {",
        '#     request.path == "/up" } } }  # the ALB checks over HTTP',
    ]
    assert any("DJANGO_HTTPS=1 and DJANGO_CSRF_TRUSTED_ORIGINS" in line for line in lines)
