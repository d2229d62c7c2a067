"""`hakobu --version [-v]`: hakobu's version, and with -v what a bug report needs."""

from __future__ import annotations

import platform
from importlib import metadata

from hakobu import __version__


def version_lines(verbose: bool) -> list[str]:
    lines = [f"hakobu {__version__}"]
    if not verbose:
        return lines
    # Only -v runs the engine: a plain --version imports none of the engine driver.
    from hakobu.provision.terraform import engine_version

    lines.append(f"Python {platform.python_version()} ({platform.platform(terse=True)})")
    for package in ("boto3", "botocore", "typer", "rich", "msgspec", "moto"):
        lines.append(f"{package} {_package_version(package)}")
    lines.append(f"engine {engine_version()}")
    return lines


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed" + (" (pip install 'hakobu[sandbox]')" if name == "moto" else "")
