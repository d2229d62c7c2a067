"""`hakobu sandbox start|status|env|stop` as a user runs them, with the guide's own `aws`
commands run through `eval "$(hakobu sandbox env)"`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HakobuRunner
from tests.support.needs import missing


@pytest.fixture
def app_dir(tmp_path: Path, hakobu: HakobuRunner) -> Iterator[Path]:
    yield tmp_path
    hakobu("sandbox", "stop", cwd=tmp_path)


def test_sandbox_lifecycle_and_the_guides_aws_commands(app_dir: Path, hakobu: HakobuRunner) -> None:
    started = hakobu("sandbox", "start", cwd=app_dir)
    assert started.code == 0, started.output
    assert "Started sandbox on http://127.0.0.1:" in started.stdout
    again = hakobu("sandbox", "start", cwd=app_dir)
    assert "Already running" in again.stdout
    status = hakobu("sandbox", "status", cwd=app_dir)
    assert status.code == 0 and "Sandbox running on http://127.0.0.1:" in status.stdout

    if shutil.which("aws") is None:
        missing("the aws CLI", "pip install -e '.[test]'")
    # Step 1 of the guide, unchanged, against the sandbox.
    script = (
        f'eval "$({sys.executable} -m hakobu sandbox env)" && '
        "aws sts get-caller-identity --output json"
    )
    identity = subprocess.run(
        ["bash", "-c", script], cwd=app_dir, capture_output=True, text=True, timeout=60
    )
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Account"] == "123456789012"

    stopped = hakobu("sandbox", "stop", cwd=app_dir)
    assert stopped.code == 0 and "Stopped the sandbox." in stopped.stdout
    after = hakobu("sandbox", "status", cwd=app_dir)
    assert after.code == 1 and "No sandbox is running" in after.stdout
    env = hakobu("sandbox", "env", cwd=app_dir)
    assert env.code == 1 and "hakobu sandbox start" in env.stderr
