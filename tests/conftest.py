"""Shared test fixtures: example apps on disk and hakobu run as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hakobu.core.config import Environment, parse_project
from hakobu.provision.scaffold import write_config
from hakobu.sandbox import emulator as sandbox

# A suite started in the background of a non-interactive shell (`.ci/run &`, nohup) inherits
# SIGINT ignored, and so would every hakobu child that a test interrupts with a real SIGINT
# (the Ctrl-C tests, the tunnel a db shell stops): give them the default back.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

MASTER_KEY = "5f0e6c1d2b3a49588776655443322110"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


HakobuRunner = Callable[..., Run]


def run_hakobu(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 600,
) -> Run:
    """Run `python -m hakobu ARGS` as a separate process, as a user would."""
    # Wide, plain output so assertions do not depend on terminal wrapping (nor on a COLUMNS
    # that an in-process test left in os.environ); a test's own `env` still wins.
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "hakobu", *args],
        cwd=cwd,
        env=environment,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(result.returncode, result.stdout, result.stderr)


@pytest.fixture
def hakobu() -> HakobuRunner:
    return run_hakobu


def make_rails_app(root: Path, app: str = "rails-app") -> Path:
    """A directory that looks like a Rails 7.2 app, with a hakobu.toml from `hakobu init`."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "application.rb").write_text(
        "module Myapp\n  class Application < Rails::Application\n  end\nend\n"
    )
    (root / "config" / "master.key").write_text(MASTER_KEY + "\n")
    write_config(root, app)
    return root


@pytest.fixture
def rails_app(tmp_path: Path) -> Path:
    return make_rails_app(tmp_path / "rails-app")


def environment_of(raw: dict, name: str | None = None, root: Path = Path(".")) -> Environment:
    return parse_project(raw, root).environment(name)


# --- The shared sandbox stack -----------------------------------------------------------
# `hakobu up --sandbox` takes about 100 s (the AWS provider's own waiters on the ALB and
# RDS), so one stack is applied per test session and shared; the test that destroys it is
# moved to the end of the run. With pytest-xdist (pyproject's addopts) every test on it runs
# in one worker, so it is still applied once.


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the shared stack's tests, and group tests for `pytest -n N --dist loadgroup`
    (each group runs in one worker, in order): every module on the shared stack in one
    group (they build on each other's deploys, and the stack is applied once), any other
    module as its own (its module-scoped emulator, stack or images are made once)."""
    on_shared_stack = {
        _module(item) for item in items if "sandbox_stack" in getattr(item, "fixturenames", ())
    }
    groups = {
        item.nodeid: "shared-sandbox-stack" if _module(item) in on_shared_stack else _module(item)
        for item in items
    }
    items.sort(key=lambda item: (_group_order(groups[item.nodeid]), _stack_order(item)))
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))


# The longest groups, longest first (minutes in CI, stop 17): xdist hands groups out in the
# order the items come (pytest_configure turns its own reorder by test count off), so the
# long ones start at once on separate workers instead of one of them starting 20 minutes in.
_LONGEST_GROUPS = (
    "tests/integration/test_profiles_sandbox.py",  # five stacks, one test
    "shared-sandbox-stack",
    "tests/integration/test_engines_sandbox.py",
    "tests/integration/test_sandbox_isolation.py",
    "tests/integration/test_example_app_sandbox.py",
)


def _group_order(group: str) -> int:
    if group in _LONGEST_GROUPS:
        return _LONGEST_GROUPS.index(group)
    return len(_LONGEST_GROUPS) + (0 if group.startswith("tests/integration/") else 1)


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _stack_order(item: pytest.Item) -> int:
    if item.get_closest_marker("fresh_stack") is not None:
        return 0
    return 2 if item.get_closest_marker("destroys_stack") is not None else 1


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's loadgroup scheduler reorders groups by test count unless told not to;
    # _LONGEST_GROUPS' order is the one that keeps CI short.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    config.addinivalue_line("markers", "destroys_stack: runs after every other test")
    config.addinivalue_line(
        "markers", "fresh_stack: runs first, on the shared stack as `hakobu up` left it"
    )


@dataclass
class SandboxStack:
    root: Path
    up: Run

    def client(self, service: str) -> Any:

        server = sandbox.running(self.root)
        assert server is not None, "the sandbox emulator is not running"
        return sandbox.client(server, "ap-northeast-1", service)


@pytest.fixture(scope="session")
def sandbox_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    root = make_rails_app(tmp_path_factory.mktemp("stack") / "rails-app")
    up = run_hakobu("up", "--sandbox", "--yes", cwd=root)
    assert up.code == 0, f"hakobu up --sandbox failed:\n{up.output}"
    yield SandboxStack(root=root, up=up)
    run_hakobu("sandbox", "stop", cwd=root)
