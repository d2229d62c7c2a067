"""A test whose tool `.ci/run` installs fails under CI=true instead of skipping: in CI a
missing tool is a broken CI, not a reason to test less."""

from __future__ import annotations

import os

import pytest


def missing(what: str, install: str) -> None:
    """Skip on a developer's machine; fail in CI, where `.ci/run` installs `what`."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is not installed, but .ci/run installs it ({install})")
    pytest.skip(f"{what} is not installed ({install})")
