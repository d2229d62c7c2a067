"""hakobu.toml: its schema, how it is read, its profiles and its error messages.

`from hakobu.core.config import X` is the way in; the submodules are the parts:
`schema` (sections and their checks), `load` (file -> Project), `profiles` (sets of
defaults), `messages` (validation errors -> one ConfigError with key and fix).
"""

from hakobu.core.config.load import load_project, parse_project, with_profile
from hakobu.core.config.profiles import PROFILES
from hakobu.core.config.schema import (
    APP_NAME_PATTERN,
    CONFIG_FILE,
    DEFAULT_ENVIRONMENT,
    DEFAULT_RELEASE_COMMANDS,
    LOG_RETENTION_DAYS,
    MAX_PREFIX_LENGTH,
    DatabaseSettings,
    DeploySettings,
    Environment,
    EnvironmentSettings,
    LogsSettings,
    NetworkSettings,
    Project,
    ProjectFile,
    RegistrySettings,
    SecretsSettings,
    ServiceSettings,
    known_regions,
)

__all__ = [
    "APP_NAME_PATTERN",
    "CONFIG_FILE",
    "DEFAULT_ENVIRONMENT",
    "DEFAULT_RELEASE_COMMANDS",
    "LOG_RETENTION_DAYS",
    "MAX_PREFIX_LENGTH",
    "PROFILES",
    "DatabaseSettings",
    "DeploySettings",
    "Environment",
    "EnvironmentSettings",
    "LogsSettings",
    "NetworkSettings",
    "Project",
    "ProjectFile",
    "RegistrySettings",
    "SecretsSettings",
    "ServiceSettings",
    "known_regions",
    "load_project",
    "parse_project",
    "with_profile",
]
