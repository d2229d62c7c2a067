"""The [database] section's engine-dependent defaults and checks (engine facts: core.engines)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hakobu.core.config.section import KeyProblem
from hakobu.core.engines import (
    ACU_STEP,
    AURORA_POSTGRES_PAUSE_FROM,
    BY_NAME,
    MAX_ACU,
    SERVERLESS_CLASS,
    Engine,
    describe_versions,
)

if TYPE_CHECKING:
    from hakobu.core.config.schema import DatabaseSettings

# 2 ACUs is ~4 GiB of memory (twice a db.t4g.small) and caps the bill at 2 ACU-hours an hour.
DEFAULT_MAX_ACU = 2.0
# Aurora has no micro or small classes; its smallest provisioned ones are the mediums.
NOT_ON_AURORA = ("db.t3.micro", "db.t4g.micro", "db.t3.small", "db.t4g.small")


def engine_defaults(data: Any) -> Any:
    """The engine's own defaults under what the file says (a version, Serverless v2)."""
    if not isinstance(data, dict) or data.get("engine", "mysql") not in BY_NAME:
        return data  # an unknown engine is reported by the field's own check
    facts = BY_NAME[data.get("engine", "mysql")]
    filled = {"engine_version": facts.default_version, **data}
    if facts.aurora:
        filled.setdefault("instance_class", SERVERLESS_CLASS)
        version = filled["engine_version"]
        if filled["instance_class"] == SERVERLESS_CLASS and isinstance(version, str):
            filled.setdefault("min_capacity", facts.min_capacity(version))
            filled.setdefault("max_capacity", DEFAULT_MAX_ACU)
    return filled


def check_engine_settings(settings: DatabaseSettings) -> None:
    facts = BY_NAME[settings.engine]
    if facts.version(settings.engine_version) is None:
        raise KeyProblem(
            "engine_version",
            f"{settings.engine_version!r} is not a version of {facts.label} that hakobu knows",
            f"use {describe_versions(facts.name)}",
        )
    if not facts.aurora:
        _check_rds(settings, facts)
    elif settings.instance_class == SERVERLESS_CLASS:
        _check_capacity(settings, facts)
    else:
        _check_provisioned_aurora(settings, facts)


def _check_rds(settings: DatabaseSettings, facts: Engine) -> None:
    aurora = f"aurora-{'mysql' if facts.family == 'mysql' else 'postgresql'}"
    for key in ("min_capacity", "max_capacity"):
        if getattr(settings, key) is not None:
            raise KeyProblem(
                key,
                f"{key} is Aurora Serverless v2 capacity; engine = {facts.name!r} is RDS, "
                "sized by instance_class",
                f'remove {key}, or set engine = "{aurora}"',
            )
    if settings.instance_class == SERVERLESS_CLASS:
        raise KeyProblem(
            "instance_class",
            f"{SERVERLESS_CLASS} exists on Aurora only, not on engine = {facts.name!r}",
            f'use a class such as "db.t4g.micro", or set engine = "{aurora}"',
        )


def _check_capacity(settings: DatabaseSettings, facts: Engine) -> None:
    low, high = settings.min_capacity, settings.max_capacity
    assert low is not None and high is not None  # filled in by engine_defaults
    for key, value in (("min_capacity", low), ("max_capacity", high)):
        if not 0 <= value <= MAX_ACU or value % ACU_STEP:
            raise KeyProblem(
                key,
                f"{value:g} ACUs is not a Serverless v2 capacity",
                f"use a multiple of {ACU_STEP:g} from 0.5 to {MAX_ACU:g} "
                "(min_capacity may be 0 where the version can pause itself)",
            )
    if high < 1:
        raise KeyProblem(
            "max_capacity",
            f"Serverless v2 needs a maximum above 0.5 ACUs, got {high:g}",
            "use max_capacity = 1 or more (2 is hakobu's default)",
        )
    if low > high:
        raise KeyProblem(
            "min_capacity",
            f"min_capacity ({low:g}) is above max_capacity ({high:g})",
            f"lower min_capacity or raise max_capacity to at least {low:g}",
        )
    if low == 0 and not facts.supports_auto_pause(settings.engine_version):
        raise KeyProblem(
            "min_capacity",
            f"{facts.label} {settings.engine_version} cannot pause itself, so 0 ACUs is not "
            "allowed",
            f"use min_capacity = 0.5, or {_pausing_versions(facts)}",
        )


def _pausing_versions(facts: Engine) -> str:
    if facts.name == "aurora-mysql":
        return 'a version that can: "8.0" or "8.0.mysql_aurora.3.08.0" and later'
    firsts = ", ".join(
        f"{major}.{minor}"
        for major, minor in sorted(AURORA_POSTGRES_PAUSE_FROM.items())
        if str(major) in facts.versions and minor
    )
    return f'a version that can: a major ("{facts.default_version}") or {firsts} and later'


def _check_provisioned_aurora(settings: DatabaseSettings, facts: Engine) -> None:
    for key in ("min_capacity", "max_capacity"):
        if getattr(settings, key) is not None:
            raise KeyProblem(
                key,
                f"{key} sizes Serverless v2 only; instance_class = "
                f"{settings.instance_class!r} is provisioned",
                f'remove {key}, or set instance_class = "{SERVERLESS_CLASS}"',
            )
    if settings.instance_class in NOT_ON_AURORA:
        raise KeyProblem(
            "instance_class",
            f"{facts.label} has no {settings.instance_class} instances",
            f'use "{SERVERLESS_CLASS}" (the default), or a class such as "db.t4g.medium" '
            'or "db.r7g.large"',
        )
