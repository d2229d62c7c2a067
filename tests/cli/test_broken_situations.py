"""Broken situations a user runs into: each ends in one `Error:` line and a `Fix:` line,
exit code 1 or 2, and never a traceback (unless asked for with --traceback or
HAKOBU_TRACEBACK=1). Every case runs hakobu as a real process; the sandbox cases use the
real emulator and the real Terraform CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hakobu.sandbox import emulator
from tests.conftest import Run, run_hakobu

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Broken:
    id: str
    args: tuple[str, ...]
    setup: Setup
    error: str  # what the Error: line says
    code: int = 1


def _container_app(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    assert run_hakobu("init", cwd=root).code == 0


def _write(relative: str, text: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return setup


def _toml_is_a_directory(root: Path) -> None:
    (root / "hakobu.toml").unlink()
    (root / "hakobu.toml").mkdir()


def _work_dir_is_a_file(root: Path) -> None:
    shutil.rmtree(root / ".hakobu", ignore_errors=True)
    (root / ".hakobu").write_text("not a directory\n")


def _toml_not_text(root: Path) -> None:
    (root / "hakobu.toml").write_bytes(b"\xff\xfe\x00app = 1\n")


def _no_dot_on_path(root: Path) -> None:
    del root  # PATH is set by the case's environment


CASES = [
    Broken("unwritable-output", ("eject", "-o", "/proc/hakobu/terraform"),
           lambda root: None, "cannot use /proc/hakobu", code=2),
    Broken("toml-is-a-directory", ("plan",), _toml_is_a_directory, "hakobu.toml", code=2),
    Broken("toml-not-utf8", ("plan",), _toml_not_text, "hakobu.toml", code=2),
    Broken("work-dir-is-a-file", ("eject", "-o", ".hakobu/terraform"), _work_dir_is_a_file,
           "cannot use", code=2),
    Broken("corrupt-pause-record", ("plan", "--sandbox"),
           _write(".hakobu/sandbox/production/paused.json", "{not json"), "paused.json"),
    Broken("corrupt-restored-secrets", ("up", "--sandbox", "--yes"),
           _write(".hakobu/sandbox/production/restored-secrets.json", "[oops"), "JSON"),
    Broken("diagram-svg-without-graphviz", ("diagram", "-f", "svg"), _no_dot_on_path,
           "dot", code=2),
    Broken("missing-config", ("plan", "--config", "nowhere/hakobu.toml"), lambda root: None,
           "no hakobu.toml in", code=2),
]  # fmt: skip


def _assert_reported(run: Run, error: str, code: int) -> None:
    assert "Traceback" not in run.output, run.output
    assert run.code == code, run.output
    lines = run.stderr.splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    fixes = [line for line in lines if line.startswith("Fix:")]
    assert len(errors) == 1 and len(fixes) == 1, run.stderr
    assert error in errors[0], run.stderr


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_broken_situation_is_one_message_and_no_traceback(case: Broken, tmp_path: Path) -> None:
    root = tmp_path / "app"
    _container_app(root)
    case.setup(root)
    env = {"PATH": _path_without("dot")} if case.id == "diagram-svg-without-graphviz" else {}
    try:
        run = run_hakobu(*case.args, cwd=root, env=env, timeout=300)
    finally:
        run_hakobu("sandbox", "stop", cwd=root)
    _assert_reported(run, case.error, case.code)


def _path_without(tool: str) -> str:
    """PATH with every directory holding `tool` replaced by links to all else it holds."""
    found = shutil.which(tool)
    if found is None:
        return os.environ["PATH"]
    kept = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / tool).exists()]
    return os.pathsep.join([*kept, str(Path(sys.executable).parent)])


def test_a_corrupt_terraform_state_is_reported(tmp_path: Path) -> None:
    """The emulator runs (so the state is kept) and the state file is garbage."""
    root = tmp_path / "app"
    _container_app(root)
    try:
        assert run_hakobu("sandbox", "start", cwd=root).code == 0
        work = root / ".hakobu" / "sandbox" / "production"
        (work / ".terraform").mkdir(parents=True)
        (work / "terraform.tfstate").write_text("{ this is not a state")
        run = run_hakobu("outputs", "--sandbox", cwd=root, timeout=120)
    finally:
        run_hakobu("sandbox", "stop", cwd=root)
    # hakobu's Error line first, then Terraform's own diagnostics (their "Error:" lines
    # included), then one Fix line.
    assert "Traceback" not in run.output, run.output
    assert run.code == 1, run.output
    assert run.stderr.startswith("Error: `terraform output` failed"), run.stderr
    assert "Unsupported state file format" in run.stderr
    assert sum(line.startswith("Fix:") for line in run.stderr.splitlines()) == 1


def test_a_corrupt_sandbox_record_is_replaced_not_a_crash(tmp_path: Path) -> None:
    """A `.hakobu/sandbox.json` cut short: the emulator it named is unknown, a new one
    starts (and says so), and the command's own answer follows."""
    root = tmp_path / "app"
    _container_app(root)
    (root / ".hakobu").mkdir(exist_ok=True)
    emulator.state_path(root).write_text('{"pid": 12')
    try:
        run = run_hakobu("status", "--sandbox", cwd=root, timeout=120)
    finally:
        run_hakobu("sandbox", "stop", cwd=root)
    assert "Started the sandbox AWS emulator" in run.stderr
    _assert_reported(run, "does not exist", 1)


def test_terraform_removed_between_plan_and_apply(tmp_path: Path) -> None:
    root = tmp_path / "app"
    _container_app(root)
    engine = tmp_path / "bin" / "terraform"
    engine.parent.mkdir()
    engine.symlink_to(shutil.which("terraform") or "terraform")
    env = {"HAKOBU_TERRAFORM": str(engine)}
    try:
        planned = run_hakobu("plan", "--sandbox", cwd=root, env=env, timeout=300)
        assert planned.code == 0, planned.output
        engine.unlink()
        run = run_hakobu("up", "--sandbox", "--yes", cwd=root, env=env, timeout=300)
    finally:
        run_hakobu("sandbox", "stop", cwd=root)
    _assert_reported(run, "was not found", 2)


def test_the_emulator_killed_mid_command(tmp_path: Path) -> None:
    """`hakobu plan --sandbox` while the emulator it started is killed: Terraform cannot
    reach it, and hakobu says so."""
    root = tmp_path / "app"
    _container_app(root)
    process = subprocess.Popen(
        [sys.executable, "-m", "hakobu", "plan", "--sandbox"],
        cwd=root,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        stderr = [process.stderr.readline()]  # "Started the sandbox AWS emulator on ..."
        assert "Started the sandbox" in stderr[0], stderr
        server = emulator.read_state(emulator.state_path(root))
        assert server is not None
        os.kill(server.pid, signal.SIGKILL)
        out, rest = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        run_hakobu("sandbox", "stop", cwd=root)
    run = Run(process.returncode, out, "".join(stderr) + rest)
    assert "Traceback" not in run.output, run.output
    assert run.code == 1, run.output
    assert any(line.startswith("Error:") for line in run.stderr.splitlines()), run.stderr
    assert any(line.startswith("Fix:") for line in run.stderr.splitlines()), run.stderr


@pytest.mark.parametrize("how", ["--traceback", "HAKOBU_TRACEBACK=1"])
def test_the_traceback_is_there_when_asked_for(how: str, tmp_path: Path) -> None:
    root = tmp_path / "app"
    _container_app(root)
    args = ["eject", "-o", "/proc/hakobu/terraform"]
    env = {}
    if how == "--traceback":
        args.append(how)
    else:
        env["HAKOBU_TRACEBACK"] = "1"
    run = run_hakobu(*args, cwd=root, env=env)
    assert run.code == 2, run.output
    assert run.stderr.startswith("Error: cannot use /proc/hakobu"), run.stderr
    assert "Traceback (most recent call last)" in run.stderr
    assert "FileNotFoundError" in run.stderr or "PermissionError" in run.stderr


def test_version_verbose_says_what_a_bug_report_needs(tmp_path: Path) -> None:
    started = time.monotonic()
    run = run_hakobu("--version", "-v", cwd=tmp_path)
    del started
    assert run.code == 0, run.output
    lines = run.stdout.splitlines()
    assert lines[0] == "hakobu 0.1.0"
    words = {line.split()[0] for line in lines[1:]}
    assert {"Python", "boto3", "moto", "engine"} <= words, run.stdout
    engine = next(line for line in lines if line.startswith("engine "))
    assert "terraform" in engine or "tofu" in engine, engine
