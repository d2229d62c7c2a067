"""Quick probes of local tools (`docker info`, `podman --version`, `terraform version`):
run, captured as text, never waited on for long and never given the user's terminal."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping

# `docker info` can hang while Docker Desktop is still starting.
PROBE_TIMEOUT_S = 15.0


def probe(
    argv: list[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    """What `argv` printed and its exit code; None if it could not start or hung."""
    try:
        return subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def probe_output(argv: list[str], env: Mapping[str, str] | None = None) -> str | None:
    """stdout of `argv`, or None if it failed, could not start or hung."""
    result = probe(argv, env)
    return result.stdout if result is not None and result.returncode == 0 else None
