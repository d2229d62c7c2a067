"""The checks, in the order (and groups) they are shown."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from hakobu.core.config import Environment
from hakobu.core.engines import engine
from hakobu.core.managed_secrets import managed_secrets, uses_master_key
from hakobu.core.names import Names
from hakobu.operate.doctor.account import check_credentials, check_region
from hakobu.operate.doctor.ci import ci_checks
from hakobu.operate.doctor.database import (
    check_db_instance,
    check_db_password,
    check_db_path,
    check_engine_version,
)
from hakobu.operate.doctor.edge import edge_checks
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.local import check_builder, check_db_client, check_engine, check_plugin
from hakobu.operate.doctor.network import check_routes
from hakobu.operate.doctor.port import check_port
from hakobu.operate.doctor.processes import process_checks
from hakobu.operate.doctor.registry import check_image
from hakobu.operate.doctor.results import (
    ACCOUNT,
    DATABASE,
    LOCAL,
    NETWORK,
    REGISTRY,
    SECRETS,
    SERVICE,
    Finding,
)
from hakobu.operate.doctor.secrets import check_master_key, check_secret
from hakobu.operate.doctor.service import check_service, check_stopped_tasks, check_targets


@dataclass(frozen=True)
class Check:
    name: str
    group: str
    run: Callable[[Facts], Finding]
    # Checks that must have passed (ok or warning) for this one to mean anything.
    requires: tuple[str, ...] = ()


AWS_GATE = ("credentials",)


def default_checks(env: Environment) -> list[Check]:
    """Every check for `env`: one per managed secret, the master key for Rails only."""
    names = Names.of(env)
    checks = [
        Check("terraform", LOCAL, check_engine),
        Check("image builder", LOCAL, check_builder),
        Check("session-manager-plugin", LOCAL, check_plugin),
        Check(f"{engine(env.settings.database.engine).client} client", LOCAL, check_db_client),
        Check("service port", LOCAL, check_port),
        Check("credentials", ACCOUNT, check_credentials),
        Check("region", ACCOUNT, check_region),
        *(Check(name, ACCOUNT, run, AWS_GATE) for name, run in ci_checks(env)),
    ]
    for managed in managed_secrets(env):
        run = functools.partial(check_secret, secret=managed.secret, what=managed.what)
        checks.append(Check(managed.secret, SECRETS, run, AWS_GATE))
    if uses_master_key(env):
        checks.append(
            Check("master key", SECRETS, check_master_key, (*AWS_GATE, names.master_key_secret))
        )
    return [
        *checks,
        Check("service", SERVICE, check_service, AWS_GATE),
        Check("stopped tasks", SERVICE, check_stopped_tasks, AWS_GATE),
        Check("target health", SERVICE, check_targets, AWS_GATE),
        Check("routes", NETWORK, check_routes, AWS_GATE),
        Check("db instance", DATABASE, check_db_instance, AWS_GATE),
        Check("security groups", DATABASE, check_db_path, AWS_GATE),
        Check("db password", DATABASE, check_db_password, (*AWS_GATE, names.db_password_secret)),
        Check("engine version", DATABASE, check_engine_version, AWS_GATE),
        Check("service image", REGISTRY, check_image, AWS_GATE),
        *(Check(name, SERVICE, run, AWS_GATE) for name, run in edge_checks(env)),
        *(Check(name, SERVICE, run, AWS_GATE) for name, run in process_checks(env)),
    ]
