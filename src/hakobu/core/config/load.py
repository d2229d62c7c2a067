"""Reading hakobu.toml: the shared settings, then each environment with its overrides.

Everything is validated before hakobu calls AWS or Terraform: a wrong value raises
`ConfigError` naming the key, what was expected and the fix (docs/design.md, "Bad input").
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from hakobu.core.config.messages import config_error, problem_error, toml_problem
from hakobu.core.config.processes import check_process_environments
from hakobu.core.config.profiles import apply_profile, deep_merge
from hakobu.core.config.schema import (
    APP_NAME_PATTERN,
    CONFIG_FILE,
    DEFAULT_ENVIRONMENT,
    ENV_NAME_PATTERN,
    MAX_PREFIX_LENGTH,
    Environment,
    EnvironmentSettings,
    Project,
    ProjectFile,
    before_reading,
)
from hakobu.core.config.section import KeyProblem
from hakobu.core.errors import ConfigError

ModelT = TypeVar("ModelT", bound=msgspec.Struct)


def load_project(path: Path) -> Project:
    """Read and validate `hakobu.toml`; raise `ConfigError` with one clear message."""
    if not path.is_file():
        raise ConfigError(
            None,
            f"no {CONFIG_FILE} in {path.parent.resolve()}",
            "run `hakobu init` in the app's directory, or pass --config PATH",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            None,
            f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason})",
            "save it as UTF-8 (TOML files are UTF-8), or run `hakobu init --force` again",
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            None,
            f"not valid TOML: {toml_problem(exc, text)}",
            "fix the syntax at that line (strings need quotes, tables [brackets])",
        ) from None
    return parse_project(raw, path.parent.resolve())


def parse_project(raw: dict[str, Any], root: Path) -> Project:
    """Validate the parsed TOML: the shared settings first, then each environment."""
    base = _validate(ProjectFile, raw, prefix="")
    app = base.app
    if not APP_NAME_PATTERN.match(app):
        raise ConfigError(
            "app",
            f"{app!r} cannot name AWS resources",
            "use 2-21 lowercase letters, digits and hyphens, starting with a letter",
        )
    shared = {k: v for k, v in raw.items() if k not in ("app", "framework", "environments")}
    declared = base.environments or {DEFAULT_ENVIRONMENT: {}}
    environments = {}
    for env_name, overrides in declared.items():
        if not ENV_NAME_PATTERN.match(env_name):
            raise ConfigError(
                f"environments.{env_name}",
                "an environment name must be 1-10 "
                "lowercase letters or digits, starting with a letter",
                "rename the section, for example [environments.staging]",
            )
        if env_name == "app":
            # "<app>-app-*" is the pattern production's tasks may read app secrets from:
            # an environment named "app" would put its own secrets inside it.
            raise ConfigError(
                "environments.app",
                'an environment cannot be named "app" (its AWS names would fall inside '
                "production's app-secret names)",
                "rename the section, for example [environments.apps] or [environments.staging]",
            )
        merged = apply_profile(deep_merge(shared, overrides))
        settings = _validate(
            EnvironmentSettings, merged, prefix=f"environments.{env_name}.", overridden=overrides
        )
        environment = Environment(
            app=app, framework=base.framework, name=env_name, settings=settings, root=root
        )
        _check_prefix(environment, overrides)
        check_process_environments(environment, declared)
        environments[env_name] = environment
    return Project(app=app, framework=base.framework, root=root, environments=environments)


def _check_prefix(env: Environment, overrides: dict[str, Any]) -> None:
    """The names built from the prefix must be names AWS accepts."""
    prefix = env.prefix
    if "name" in overrides:
        key = f"environments.{env.name}.name"
    elif env.settings.name:
        key = "name"
    else:
        key = "app" if env.name == DEFAULT_ENVIRONMENT else f"environments.{env.name}"
    problem = None
    if len(prefix) > MAX_PREFIX_LENGTH:
        problem = (
            f"the names of {env.name!r} would start with {prefix!r} "
            f"({len(prefix)} characters), too long for {prefix}-alb (AWS allows 32)"
        )
    elif not re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", prefix) or "--" in prefix:
        problem = (
            f"{prefix!r} cannot start AWS names: use lowercase letters, digits and "
            "single hyphens, starting with a letter"
        )
    elif prefix.startswith("internal-"):
        problem = f'{prefix!r} cannot start an ALB name (AWS reserves "internal-")'
    if problem:
        raise ConfigError(
            key,
            problem,
            f'choose another app name, or set name = "..." in '
            f"[environments.{env.name}] (lowercase letters, digits and single "
            f"hyphens, at most {MAX_PREFIX_LENGTH} characters)",
        )


def _validate(
    model: type[ModelT], data: dict[str, Any], prefix: str, overridden: dict[str, Any] | None = None
) -> ModelT:
    try:
        prepared = before_reading(data)
    except KeyProblem as problem:
        raise problem_error(problem, prefix, overridden) from None
    try:
        return msgspec.convert(prepared, model)
    except msgspec.ValidationError as exc:
        raise config_error(exc, model, prepared, prefix, overridden) from None


def with_profile(raw: Mapping[str, Any], env: Environment, profile: str) -> Environment:
    """`env` as if hakobu.toml set `profile` for it; keys written in the file still win.

    `raw` is the parsed file (for `hakobu cost --profile` and `hakobu diagram --profile`).
    """
    changed = copy.deepcopy(dict(raw))
    sections = changed.get("environments") or {}
    if env.name in sections:
        sections[env.name]["profile"] = profile
    else:
        changed["profile"] = profile
    return parse_project(changed, env.root).environment(env.name)
