"""`hakobu init` takes service.port from the final stage's EXPOSE of the app's Dockerfile
and says where it came from; `plan` warns when hakobu.toml disagrees with the image."""

from __future__ import annotations

from pathlib import Path

import pytest

from hakobu.provision.dockerfile import exposed_port
from tests.conftest import HakobuRunner, make_rails_app

# The shape of `rails new` 8.0's Dockerfile: a base stage, a build stage that exposes
# nothing, and the final stage behind Thruster on port 80.
RAILS_8 = """# syntax=docker/dockerfile:1
ARG RUBY_VERSION=3.3.6
FROM docker.io/library/ruby:$RUBY_VERSION-slim AS base
WORKDIR /rails
FROM base AS build
RUN bundle install
FROM base
COPY --from=build /rails /rails
USER 1000:1000
ENTRYPOINT ["/rails/bin/docker-entrypoint"]
EXPOSE 80
CMD ["./bin/thrust", "./bin/rails", "server"]
"""
# Rails 7.2's: Puma itself on 3000.
RAILS_7_2 = """FROM ruby:3.3-slim AS base
FROM base AS build
RUN bundle install
FROM base
EXPOSE 3000
CMD ["./bin/rails", "server"]
"""
EXAMPLE_DJANGO = Path(__file__).parents[2] / "examples" / "django-app"


@pytest.mark.parametrize(
    ("dockerfile", "port", "said"),
    [
        (RAILS_8, 80, "EXPOSE 80 in Dockerfile's final stage (Thruster serves the app there)"),
        (RAILS_7_2, 3000, "EXPOSE 3000 in Dockerfile's final stage"),
        ('FROM scratch\nEXPOSE 9000\nFROM scratch\nCMD ["x"]\n', 3000, "the rails default"),
    ],
    ids=["rails-8-thruster", "rails-7.2", "expose-only-in-an-earlier-stage"],
)
def test_init_takes_the_port_from_the_final_stage(
    tmp_path: Path, hakobu: HakobuRunner, dockerfile: str, port: int, said: str
) -> None:
    root = make_rails_app(tmp_path / "app")
    (root / "hakobu.toml").unlink()
    (root / "Dockerfile").write_text(dockerfile)

    run = hakobu("init", cwd=root)

    assert run.code == 0, run.output
    assert f"\nport = {port}\n" in (root / "hakobu.toml").read_text()
    assert f"service.port = {port}: {said}" in run.stdout


def test_the_django_example_exposes_8000() -> None:
    found = exposed_port(EXAMPLE_DJANGO)
    assert found is not None and found.port == 8000


def test_plan_warns_when_service_port_and_expose_disagree(
    tmp_path: Path, hakobu: HakobuRunner
) -> None:
    root = make_rails_app(tmp_path / "app")  # hakobu.toml says port = 3000 (no Dockerfile yet)
    (root / "Dockerfile").write_text(RAILS_8)
    try:
        run = hakobu("plan", "--sandbox", cwd=root)
    finally:
        hakobu("sandbox", "stop", cwd=root)

    assert run.code == 0, run.output
    warning = next(line for line in run.stderr.splitlines() if line.startswith("Warning:"))
    assert "service.port = 3000 in hakobu.toml, but the image listens on 80" in warning
    assert "Set service.port = 80" in warning
