"""The dependency rule holds: cli > operate > ship | provision > aws | sandbox > core, and
cli imports no hakobu.aws module.

The contracts are `[tool.importlinter]` in pyproject.toml (docs/design.md, "Layout and the
dependency rule"); this runs import-linter on them, so an import that breaks the layering
fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[1]


def test_the_layers_contract_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    exit_code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True)
    assert exit_code == 0, "an import breaks the layering: run `lint-imports` to see which"
