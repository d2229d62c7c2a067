"""`hakobu --version [-v]`: hakobu's version, and with -v what a bug report needs."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata

from hakobu import __version__

ENGINE_PROBE_TIMEOUT_S = 10


def version_lines(verbose: bool) -> list[str]:
    lines = [f"hakobu {__version__}"]
    if not verbose:
        return lines
    lines.append(f"Python {platform.python_version()} ({platform.platform(terse=True)})")
    for package in ("boto3", "botocore", "typer", "rich", "pydantic", "moto"):
        lines.append(f"{package} {_package_version(package)}")
    lines.append(f"engine {engine_version()}")
    return lines


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed" + (" (pip install 'hakobu[sandbox]')" if name == "moto" else "")


def engine_version() -> str:
    """Terraform's or OpenTofu's version as the engine itself reports it."""
    from hakobu.core.errors import HakobuError
    from hakobu.provision.terraform import find_engine

    try:
        engine = find_engine()
        result = subprocess.run(
            [engine, "version", "-json"],
            capture_output=True,
            text=True,
            timeout=ENGINE_PROBE_TIMEOUT_S,
            env=_quiet_environment(),
            check=False,
        )
        found = json.loads(result.stdout).get("terraform_version", "?")
    except HakobuError:
        return "not found (neither terraform nor tofu is on PATH)"
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return f"unknown ({type(exc).__name__})"
    return f"{found} ({engine})"


def _quiet_environment() -> dict[str, str]:
    import os

    return {**os.environ, "CHECKPOINT_DISABLE": "1"}  # no version check call home
