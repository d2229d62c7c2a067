"""What hakobu's start-up imports, and the help screens it draws without typer's rich help.

Speed itself is measured by bench/startup.py, never asserted here; these tests pin what
makes it: `--version` imports no typer and no rich; no help screen imports typer's rich
help module (which loads rich.markdown, pygments and rich.traceback), pydantic or
boto3/botocore; `cost` and `diagram`, which call no AWS, never import boto3 or botocore.
Each runs hakobu as a real process and reads the modules it loaded from `-X importtime`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_hakobu

HEAVY_FOR_HELP = ("typer.rich_utils", "rich.markdown", "rich.syntax", "rich.traceback",
                  "markdown_it", "pygments", "pydantic", "boto3", "botocore")  # fmt: skip
SUBCOMMANDS = ["init", "plan", "up", "outputs", "destroy", "eject", "cost", "diagram",
               "deploy", "rollback", "releases", "images", "ci", "status", "doctor", "logs",
               "exec", "console", "run", "scale", "alarms", "pause", "resume", "iam", "db",
               "schedules", "domain", "secrets", "sandbox"]  # fmt: skip
# Prints which of the heavy modules one process loaded while showing every help screen
# in turn, each through hakobu's real entry point (`hakobu.cli.main`).
_EVERY_HELP = """
import sys
from hakobu.cli import main
for args in [["--help"]] + [[name, "--help"] for name in sys.argv[1:]]:
    sys.argv = ["hakobu", *args]
    try:
        main()
    except SystemExit as exit:
        assert exit.code in (0, None), (args, exit.code)
heavy = %r
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy))
"""


def _imported(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hakobu", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, modules


def test_version_answers_without_typer_or_rich(tmp_path: Path) -> None:
    for args in (["--version"], ["--version", "-v"], ["--verbose", "--version"]):
        done, modules = _imported(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == "hakobu 0.1.0"
        assert not {m for m in modules if m.split(".")[0] in ("typer", "rich", "pydantic")}
    verbose = run_hakobu("--version", "--verbose", cwd=tmp_path)
    for part in ("Python ", "boto3 ", "typer ", "moto ", "engine "):
        assert part in verbose.stdout, verbose.stdout


def test_no_help_screen_imports_rich_help_pydantic_or_boto3(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EVERY_HELP % (HEAVY_FOR_HELP,), *SUBCOMMANDS],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    for name in SUBCOMMANDS:  # every help screen was drawn, with its usage line
        assert f"Usage: hakobu {name} " in done.stdout, name


def test_cost_and_diagram_import_no_aws_sdk(tmp_path: Path) -> None:
    assert run_hakobu("init", "--app", "shop", cwd=tmp_path).code == 0
    for command in ("cost", "diagram"):
        done, modules = _imported(command, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not {m for m in modules if m.split(".")[0] in ("boto3", "botocore")}, command
        # Nor what they do not use: cost renders no Terraform (the blueprint package), and
        # without [ci] the render builds no IAM policy document (provision/edge_parts.py).
        unused = {"hakobu.provision.iam_policies", "hakobu.aws.sts"}
        if command == "cost":
            unused |= {m for m in modules if m.startswith("hakobu.provision.blueprint")}
            assert "hakobu.provision.blueprint" not in modules
        assert not unused & modules, command


def test_values_are_converted_without_typers_pydantic_adapters(tmp_path: Path) -> None:
    """typer 0.29 converts values through pydantic adapters (`typer._adapters`); hakobu's
    plain parameters do not load them (cli/plain_params.py): not for a help screen, nor
    for a str, an int, a Path or an Enum given on the command line, nor for defaults."""
    app_dir, empty = tmp_path / "app", tmp_path / "empty"
    app_dir.mkdir()
    empty.mkdir()
    runs = [
        (["init", "--app", "shop", "--profile", "lean", "--dir", str(empty)], tmp_path),
        (["init", "--app", "shop"], app_dir),
        (["cost", "--help"], app_dir),
        (["eject", "--help"], app_dir),
        (["cost", "production", "--profile", "lean", "--json"], app_dir),
        (["diagram", "--format", "mermaid", "-c", "hakobu.toml"], app_dir),
        (["eject", "--output", "out"], app_dir),
    ]
    for args, cwd in runs:
        done, modules = _imported(*args, cwd=cwd)
        assert done.returncode == 0, (args, done.stdout, done.stderr[-2000:])
        assert "typer._adapters" not in modules, args
    # A value typer rejects still gets typer's own message (its coercion, on demand).
    rejected = run_hakobu("diagram", "--format", "png", cwd=app_dir)
    assert rejected.code == 2, rejected.output
    assert "'png' is not one of 'mermaid', 'svg'" in rejected.stderr


def test_root_help_lists_every_command_in_its_panel(tmp_path: Path) -> None:
    helped = run_hakobu("--help", cwd=tmp_path)

    assert helped.code == 0, helped.output
    lines = helped.stdout.splitlines()
    assert lines[1].strip() == "Usage: hakobu [OPTIONS] COMMAND [ARGS]..."
    # The docstring's `code` spans are drawn without their backticks.
    assert "Start with hakobu init, try everything locally with hakobu up --sandbox" in (
        helped.stdout
    )
    assert "`" not in helped.stdout
    panels = [line.split("─")[1].strip() for line in lines if line.startswith("╭─")]
    assert panels == ["Options", "Provision", "Ship", "Operate", "Try it locally"]
    listed = {line.split()[1] for line in lines if line.startswith("│ ") and len(line.split()) > 2}
    assert set(SUBCOMMANDS) <= listed
    assert "--version" in helped.stdout and "--traceback" in helped.stdout


def test_command_help_shows_arguments_options_defaults_and_env_vars(tmp_path: Path) -> None:
    helped = run_hakobu("deploy", "--help", cwd=tmp_path)

    assert helped.code == 0, helped.output
    out = helped.stdout
    assert "Usage: hakobu deploy [OPTIONS] [[ENV]]" in out
    assert "Build, push, migrate and roll out the app in one command." in out
    assert "No Terraform runs: a code deploy changes no infrastructure." in out
    assert [line.split("─")[1].strip() for line in out.splitlines() if "╭─" in line] == [
        "Arguments",
        "Options",
    ]
    config_line = next(line for line in out.splitlines() if "--config" in line)
    assert "-c, --config" in config_line and "<path>" in config_line
    assert "[env var: HAKOBU_CONFIG; default: hakobu.toml]" in out
    assert "[x>=30]" in out  # --timeout's range

    secret = run_hakobu("secrets", "set", "--help", cwd=tmp_path)
    assert "[required]" in secret.stdout, secret.stdout


def test_bad_usage_still_exits_2_without_traceback(tmp_path: Path) -> None:
    done = run_hakobu("deploy", "--timeout", "5", cwd=tmp_path)

    assert done.code == 2, done.output
    assert "Traceback" not in done.output
    assert "--timeout" in done.stderr
