"""An environment as hakobu.toml says, or as it would be with another profile
(`hakobu cost --profile`, `hakobu diagram --profile`)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hakobu.core.config import Environment, load_project, with_profile


def environment_and_file(
    config: Path, env_name: str | None, profile: str | None = None
) -> tuple[Environment, dict[str, Any]]:
    """The environment (with `profile` swapped in when given) and the parsed file.

    The file is validated first, as written, so its own errors come before any
    profile's; reading it a second time for the raw table is cheap and keeps
    `load_project`'s messages for a missing or broken file.
    """
    env = load_project(config).environment(env_name)
    raw = tomllib.loads(config.read_text(encoding="utf-8"))  # valid: loaded just above
    return (with_profile(raw, env, profile) if profile else env), raw
