"""`hakobu doctor` before the first `hakobu up`: one line saying so, with the fix, beside
the local-machine checks; exit 1. Run as a real process against the sandbox emulator,
where nothing was ever created."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import HakobuRunner, make_rails_app


def test_doctor_before_up_says_once_that_nothing_is_provisioned(
    tmp_path: Path, hakobu: HakobuRunner
) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    try:
        text = hakobu("doctor", "--sandbox", cwd=root)
        report = hakobu("doctor", "--sandbox", "--json", cwd=root)
    finally:
        hakobu("sandbox", "stop", cwd=root)

    assert text.code == 1, text.output
    assert "Traceback" not in text.output
    assert text.stdout.count("not provisioned yet") == 1, text.stdout
    assert "run `hakobu up --sandbox`" in text.stdout
    assert "[PROBLEM]" in text.stdout and text.stdout.count("[PROBLEM]") == 1, text.stdout
    assert "does not exist" not in text.stdout  # no per-resource "run hakobu up" chorus

    assert report.code == 1, report.output
    checks = json.loads(report.stdout)["checks"]
    groups = [check["group"] for check in checks]
    assert groups.count("local machine") >= 4  # the machine is still checked
    assert [c["name"] for c in checks if c["status"] == "problem"] == ["provisioned"]
    assert not any(c["group"] in ("secrets", "service", "database") for c in checks)


def test_doctor_warns_when_service_port_is_not_the_port_the_image_exposes(
    tmp_path: Path, hakobu: HakobuRunner
) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    (root / "Dockerfile").write_text('FROM ruby:3.3-slim\nEXPOSE 80\nCMD ["./bin/thrust"]\n')
    try:
        report = hakobu("doctor", "--sandbox", "--json", cwd=root)
    finally:
        hakobu("sandbox", "stop", cwd=root)

    checks = {c["name"]: c for c in json.loads(report.stdout)["checks"]}
    port = checks["service port"]
    assert port["status"] == "warning", port
    assert "service.port = 3000" in port["message"] and "listens on 80" in port["message"]
    assert "service.port = 80" in port["fix"]
