"""`hakobu doctor`'s results: the exit code, the versioned JSON envelope, the screen (one
tree per group), and the checks listed for each framework."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from hakobu.cli import doctor_commands
from hakobu.core.config import Environment
from hakobu.operate.doctor import CheckResult, default_checks, exit_code, report_json
from tests.conftest import environment_of
from tests.support.doctor_aws import REGION
from tests.support.stubbed_aws import StubbedAws

# --- results, envelope and rendering -------------------------------------------------------


RESULTS = [
    CheckResult("terraform", "local machine", "ok", "terraform 1.11.4 at /usr/bin/terraform"),
    CheckResult("mysql client", "local machine", "warning", "not installed", "apt install it"),
    CheckResult("credentials", "AWS account", "ok", "account 1", None, ("{", "}")),
    CheckResult("routes", "network", "problem", "no route [rails-app]", "run `hakobu up`"),
    CheckResult("service image", "registry", "skipped", "needs network › routes: no route"),
]


def test_exit_code_is_1_only_with_a_problem() -> None:
    assert exit_code(RESULTS) == 1
    assert exit_code(r for r in RESULTS if r.status != "problem") == 0


def test_json_envelope_is_versioned(env: Environment) -> None:
    report = report_json(env, StubbedAws(), RESULTS)
    assert report["version"] == 1
    assert (report["environment"], report["region"], report["sandbox"]) == (
        "production",
        REGION,
        False,
    )
    assert report["healthy"] is False
    assert report["counts"] == {"ok": 2, "warning": 1, "problem": 1, "skipped": 1}
    assert report["checks"][3] == {
        "name": "routes",
        "group": "network",
        "status": "problem",
        "message": "no route [rails-app]",
        "fix": "run `hakobu up`",
        "details": [],
    }


def test_screen_renders_one_tree_per_group() -> None:
    console = Console(file=io.StringIO(), width=100, no_color=True)
    console.print(doctor_commands.screen("rails-app (production, ap-northeast-1)", RESULTS))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.splitlines() == [
        "hakobu doctor: rails-app (production, ap-northeast-1)",
        "",
        "local machine",
        "├── [OK] terraform: terraform 1.11.4 at /usr/bin/terraform",
        "└── [WARNING] mysql client: not installed",
        "    └── fix: apt install it",
        "",
        "AWS account",
        "└── [OK] credentials: account 1",
        "    └── {",
        "        }",
        "",
        "network",
        "└── [PROBLEM] routes: no route [rails-app]",
        "    └── fix: run `hakobu up`",
        "",
        "registry",
        "└── [SKIPPED] service image: needs network › routes: no route",
        "",
        "1 problem(s), 1 warning(s), 2 ok, 1 skipped",
    ]


def test_the_doctor_lists_its_checks_for_each_framework(tmp_path: Path) -> None:
    rails = environment_of({"app": "rails-app", "framework": "rails"}, root=tmp_path)
    django = environment_of({"app": "blog", "framework": "django"}, root=tmp_path)
    assert [(c.group, c.name) for c in default_checks(rails)] == [
        ("local machine", "terraform"),
        ("local machine", "image builder"),
        ("local machine", "session-manager-plugin"),
        ("local machine", "mysql client"),
        ("local machine", "service port"),
        ("AWS account", "credentials"),
        ("AWS account", "region"),
        ("secrets", "rails-app-db-password"),
        ("secrets", "rails-app-rails-master-key"),
        ("secrets", "master key"),
        ("service", "service"),
        ("service", "stopped tasks"),
        ("service", "target health"),
        ("network", "routes"),
        ("database", "db instance"),
        ("database", "security groups"),
        ("database", "db password"),
        ("database", "engine version"),
        ("registry", "service image"),
    ]
    secrets = [c.name for c in default_checks(django) if c.group == "secrets"]
    assert secrets == ["blog-db-password", "blog-django-secret-key"]
