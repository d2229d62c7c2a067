"""The environment the doctor's Stubber tests check: a Rails app from `hakobu init`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hakobu.core.config import Environment
from tests.conftest import environment_of, make_rails_app


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    root = make_rails_app(tmp_path / "rails-app")
    return environment_of({"app": "rails-app", "framework": "rails"}, root=root)
