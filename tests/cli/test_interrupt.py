"""Ctrl-C during `hakobu up`: a real SIGINT to a real `hakobu up --sandbox` (and the
Terraform it runs, as a terminal sends it to the whole foreground process group) once the
first resources are created. hakobu waits for Terraform to save what it finished, says
what that was and how to continue, and exits 130 without a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import make_rails_app, run_hakobu

FIRST_CREATED = 3  # interrupt once this many resources are created


def test_ctrl_c_during_up_says_what_was_finished_and_how_to_continue(tmp_path: Path) -> None:
    root = make_rails_app(tmp_path / "rails-app")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hakobu", "up", "--sandbox", "--yes"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job in a terminal
    )
    stdout_lines: list[str] = []
    reader = threading.Thread(target=lambda: stdout_lines.extend(process.stdout or []))
    reader.start()
    stderr_lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            stderr_lines.append(line)
            if sum("✓" in seen and " created " in seen for seen in stderr_lines) >= FIRST_CREATED:
                os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
                break
        stderr_lines += process.stderr.readlines()
        code = process.wait(timeout=300)
        # Read before `sandbox stop`, which forgets the sandbox's Terraform state.
        state_file = root / ".hakobu" / "sandbox" / "production" / "terraform.tfstate"
        state = json.loads(state_file.read_text())
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(timeout=10)
        run_hakobu("sandbox", "stop", cwd=root)
    stderr = "".join(stderr_lines)
    output = "".join(stdout_lines) + stderr

    assert code == 130, output
    assert "Traceback" not in output
    error = next(line for line in stderr.splitlines() if line.startswith("Error: interrupted"))
    assert "Terraform stopped after finishing" in error and "of 45 change(s)" in error, error
    assert "aws_" in error  # names what was finished
    fix = next(line for line in stderr.splitlines() if line.startswith("Fix:"))
    assert "run `hakobu up --sandbox` to continue from there" in fix

    # What it says was finished is what Terraform's state holds.
    finished = int(error.split("finishing ")[1].split(" of")[0])
    assert finished >= FIRST_CREATED
    managed = [r for r in state["resources"] if r["mode"] == "managed"]
    assert len(managed) >= finished
