"""Shared test fixtures: example apps on disk and hakobu run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hakobu.config import Environment, parse_project
from hakobu.scaffold import write_config

MASTER_KEY = "5f0e6c1d2b3a49588776655443322110"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


HakobuRunner = Callable[..., Run]


def run_hakobu(*args: str, cwd: Path, env: dict[str, str] | None = None,
               input_text: str | None = None, timeout: float = 600) -> Run:
    """Run `python -m hakobu ARGS` as a separate process, as a user would."""
    environment = dict(os.environ)
    environment.update(env or {})
    # Wide, plain output so assertions do not depend on terminal wrapping.
    environment.setdefault("COLUMNS", "200")
    environment.setdefault("NO_COLOR", "1")
    result = subprocess.run([sys.executable, "-m", "hakobu", *args], cwd=cwd, env=environment,
                            input=input_text, capture_output=True, text=True, timeout=timeout)
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def hakobu() -> HakobuRunner:
    return run_hakobu


def make_rails_app(root: Path, app: str = "rails-app") -> Path:
    """A directory that looks like a Rails 7.2 app, with a hakobu.toml from `hakobu init`."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "application.rb").write_text(
        "module Myapp\n  class Application < Rails::Application\n  end\nend\n")
    (root / "config" / "master.key").write_text(MASTER_KEY + "\n")
    write_config(root, app)
    return root


@pytest.fixture
def rails_app(tmp_path: Path) -> Path:
    return make_rails_app(tmp_path / "rails-app")


def environment_of(raw: dict, name: str | None = None, root: Path = Path(".")) -> Environment:
    return parse_project(raw, root).environment(name)
