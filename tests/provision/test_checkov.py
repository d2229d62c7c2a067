"""checkov on the rendered Terraform JSON, offline: no finding except those listed, with a
reason, in checkov-skips.txt, and no listed skip that no longer fires."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hakobu.provision.blueprint import render
from tests.conftest import environment_of, make_rails_app

REPO = Path(__file__).resolve().parents[2]
# Listed in checkov-skips.txt for an ALB without a domain; with [domain] they must not fire.
HTTP_ONLY_FINDINGS = {"CKV_AWS_2", "CKV_AWS_103", "CKV2_AWS_20"}
SKIP_FILE = REPO / "checkov-skips.txt"


def checkov_binary() -> str:
    found = os.environ.get("CHECKOV_BIN") or shutil.which("checkov")
    local = REPO / ".venv-checkov" / "bin" / "checkov"
    if not found and local.exists():
        found = str(local)
    if not found:
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: .ci/run must run .ci/install-checkov")
        pytest.skip("checkov is not installed (run .ci/install-checkov)")
    return found


def read_skips() -> dict[str, str]:
    skips = {}
    for line in SKIP_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            check_id, _, reason = line.strip().partition(" ")
            assert reason.strip(), f"{check_id} in {SKIP_FILE.name} has no reason"
            skips[check_id] = reason.strip()
    return skips


def scan(document: dict[str, Any], workdir: Path) -> dict[str, Any]:
    # checkov 3.3's terraform_json parser crashes, and still exits 0, on non-object members
    # of the `terraform` block such as required_version (bridgecrewio/checkov#7454).
    document = dict(document)
    document["terraform"] = {k: v for k, v in document["terraform"].items() if isinstance(v, dict)}
    (workdir / "main.tf.json").write_text(json.dumps(document, indent=2))
    environment = {**os.environ, "HOME": str(workdir), "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    environment.pop("BC_API_KEY", None)
    result = subprocess.run(
        [
            checkov_binary(),
            "-d",
            str(workdir),
            "--framework",
            "terraform_json",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=workdir,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert isinstance(report, dict) and "results" in report, f"nothing scanned: {result.stderr}"
    assert report["summary"]["parsing_errors"] == 0, result.stderr
    assert report["summary"]["passed"] > 50
    return report


CONFIGS: dict[str, dict[str, Any]] = {
    "rails": {"framework": "rails"},
    "django": {"framework": "django"},
    "lean": {"framework": "rails", "profile": "lean"},
    "ha": {"framework": "rails", "profile": "ha"},
    "spot": {"framework": "container", "service": {"spot": True}},
    # The production edge: HTTPS on a domain with auto scaling and alarms; a CDN with WAF;
    # WAF on the ALB (tests/provision/test_edge_blueprint.py).
    "domain": {
        "framework": "rails",
        "domain": {"name": "app.example.com", "zone": "example.com"},
        "autoscaling": {"min": 1, "max": 4},
        "alarms": {"email": ["ops@example.com"]},
    },
    "cdn": {
        "framework": "rails",
        "domain": {"name": "app.example.com", "zone": "example.com", "cdn": True, "waf": True},
    },
    "waf": {
        "framework": "django",
        "domain": {"name": "app.example.com", "zone": "example.com", "waf": True},
    },
    # The other engines (tests/provision/test_database_engines.py): RDS PostgreSQL, and the
    # Aurora clusters with the ha profile's reader.
    "postgres": {"framework": "django", "database": {"engine": "postgres"}},
    "aurora-mysql": {"framework": "rails", "profile": "ha", "database": {"engine": "aurora-mysql"}},
    "aurora-postgresql": {"framework": "django", "database": {"engine": "aurora-postgresql"}},
    # A worker on Spot, a schedule and the storage bucket (tests/provision/test_processes.py).
    "processes": {
        "framework": "rails",
        "processes": {"worker": {"command": ["bin/jobs"], "spot": True}},
        "schedules": [{"name": "nightly", "cron": "0 3 * * *", "command": ["bin/rails", "x"]}],
        "storage": {"bucket": True},
    },
}


def test_checkov_finds_nothing_unlisted(tmp_path: Path) -> None:
    """Every profile and framework; a skip must fire for at least one of them."""
    root = make_rails_app(tmp_path / "app")
    skips = read_skips()
    fired: set[str] = set()
    unlisted: set[str] = set()
    for name, raw in CONFIGS.items():
        env = environment_of({"app": "rails-app", **raw}, root=root)
        workdir = tmp_path / f"scan-{name}"
        workdir.mkdir()
        failed = scan(render(env), workdir)["results"]["failed_checks"]
        fired |= {f["check_id"] for f in failed}
        if "domain" in raw:  # HTTPS with a redirect: the HTTP-only findings are gone
            assert not {f["check_id"] for f in failed} & HTTP_ONLY_FINDINGS, name
        unlisted |= {
            f"{name}: {f['check_id']} ({f['check_name']}) at {f['file_line_range']}"
            for f in failed
            if f["check_id"] not in skips
        }
    assert not unlisted, "checkov findings to fix or list with a reason:\n" + "\n".join(
        sorted(unlisted)
    )
    stale = sorted(set(skips) - fired)
    assert not stale, f"listed skips that no longer fire (remove them): {stale}"
