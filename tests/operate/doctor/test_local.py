"""`hakobu doctor`'s local-machine checks: a PATH without the tools, a Terraform too old
for write-only arguments, a machine with every tool."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hakobu.core.config import Environment
from hakobu.operate.doctor import CheckResult, default_checks, exit_code, run_checks
from tests.support.stubbed_aws import StubbedAws

# --- local machine --------------------------------------------------------------------------


def _tool(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _local(env: Environment) -> dict[str, CheckResult]:
    checks = [c for c in default_checks(env) if c.group == "local machine"]
    return {r.name: r for r in run_checks(env, StubbedAws(), checks=checks)}


def test_a_machine_without_the_tools(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("HAKOBU_TERRAFORM", raising=False)

    results = _local(env)

    assert results["terraform"].status == "problem"
    assert results["terraform"].message.startswith("neither terraform nor tofu was found on PATH")
    assert results["image builder"].status == "problem"
    assert results["image builder"].message == (
        "no image builder found: hakobu builds with docker, podman or buildah: `hakobu "
        "deploy` cannot build (it can still deploy --image)"
    )
    assert (results["session-manager-plugin"].status, results["mysql client"].status) == (
        "warning",
        "warning",
    )
    assert results["mysql client"].message == "not installed: `hakobu db shell` needs it"
    assert exit_code(results.values()) == 1


def test_a_terraform_too_old_for_write_only_arguments(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old-bin"
    old.mkdir()
    _tool(old, "terraform", 'echo "Terraform v1.5.7"; echo "on linux_amd64"')
    monkeypatch.setenv("PATH", str(old))
    monkeypatch.delenv("HAKOBU_TERRAFORM", raising=False)

    engine = _local(env)["terraform"]

    assert engine.status == "problem"
    assert engine.message.startswith(
        f"terraform 1.5.7 at {old}/terraform is too old: hakobu needs 1.11"
    )


def test_a_machine_with_every_tool(
    env: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    _tool(tools, "tofu", 'echo "OpenTofu v1.11.2"')
    for name in ("buildah", "session-manager-plugin", "mysql"):
        _tool(tools, name, "exit 0")
    monkeypatch.setenv("PATH", str(tools))
    monkeypatch.delenv("HAKOBU_TERRAFORM", raising=False)

    results = _local(env)

    assert results["terraform"].message == f"tofu 1.11.2 at {tools}/tofu"
    assert results["image builder"].message == f"buildah at {tools}/buildah"
    assert {r.status for r in results.values()} == {"ok"}
