"""`engine_version()` is the engine line of `hakobu --version -v`: the real engine's own
report of its version, or why there is none, never an exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hakobu.provision.terraform import ENGINE_ENV, engine_version


def test_the_engine_on_path_reports_its_version_and_path() -> None:
    line = engine_version()
    path = shutil.which("terraform") or shutil.which("tofu")
    assert path is not None and line.endswith(f" ({path})"), line
    assert line.split()[0][0].isdigit(), line  # e.g. 1.11.4, as `terraform version` says


def test_a_missing_engine_is_said_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_ENV, "no-such-engine-here")
    assert engine_version() == "not found (neither terraform nor tofu is on PATH)"


def test_an_engine_that_prints_no_json_is_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\necho 'Terraform v1.11.4'\n")
    fake.chmod(0o755)
    monkeypatch.setenv(ENGINE_ENV, str(fake))
    assert engine_version() == "unknown (JSONDecodeError)"
