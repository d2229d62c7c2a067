"""Checks of the local machine: Terraform, an image builder, the session plugin, the DB client."""

from __future__ import annotations

import os
import re
import shutil

from hakobu.core.engines import engine
from hakobu.core.errors import HakobuError
from hakobu.core.probe import probe
from hakobu.operate.db_clients import require_client
from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, ok, problem, warning
from hakobu.operate.sessions import PLUGIN, PLUGIN_INSTALL
from hakobu.provision.terraform import find_engine
from hakobu.ship.image import find_builder

# Write-only arguments (the DB password never in state) need Terraform / OpenTofu 1.11.
MIN_ENGINE = (1, 11)


def check_engine(facts: Facts) -> Finding:
    """Terraform or OpenTofu on PATH (or $HAKOBU_TERRAFORM), new enough for hakobu."""
    try:
        path = find_engine()
    except HakobuError as exc:
        return problem(exc.problem, exc.fix)
    name = os.path.basename(path)
    version = engine_version(path)
    if version is None:
        return warning(
            f"{name} at {path} did not say its version",
            f"run `{name} version`; hakobu needs {_dotted(MIN_ENGINE)} or newer",
        )
    if version[:2] < MIN_ENGINE:
        return problem(
            f"{name} {_dotted(version)} at {path} is too old: hakobu needs "
            f"{_dotted(MIN_ENGINE)} or newer (write-only arguments keep the DB password out "
            "of the state)",
            "upgrade it (https://developer.hashicorp.com/terraform/install, or "
            "`brew upgrade hashicorp/tap/terraform`), or set HAKOBU_TERRAFORM to a newer one",
        )
    return ok(f"{name} {_dotted(version)} at {path}")


def engine_version(path: str) -> tuple[int, ...] | None:
    """`terraform version` (or tofu's) as numbers; None if it failed or said nothing."""
    # CHECKPOINT_DISABLE: `terraform version` otherwise asks HashiCorp for a newer release.
    environ = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    answer = probe([path, "version"], environ)
    if answer is None:
        return None
    found = re.search(r"v(\d+)\.(\d+)\.(\d+)", answer.stdout)
    return tuple(int(part) for part in found.groups()) if found else None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def check_builder(facts: Facts) -> Finding:
    """What `hakobu deploy` builds with: deploy.builder, else docker (with a daemon),
    podman or buildah."""
    preferred = facts.env.settings.deploy.builder
    try:
        builder = find_builder(preferred)
    except HakobuError as exc:
        return problem(
            f"{exc.problem}: `hakobu deploy` cannot build (it can still deploy --image)",
            exc.fix,
        )
    chosen = " (deploy.builder)" if preferred else ""
    return ok(f"{builder.name} at {builder.path}{chosen}")


def check_plugin(facts: Facts) -> Finding:
    path = shutil.which(PLUGIN)
    if path is None:
        return warning(
            "not installed: `hakobu exec`, `console` and `db` hand their sessions to it "
            "(deploys do not need it)",
            PLUGIN_INSTALL,
        )
    return ok(f"at {path}")


def check_db_client(facts: Facts) -> Finding:
    """The client `db shell` runs for this engine: mysql (or mariadb), or psql."""
    try:
        path = require_client(engine(facts.env.settings.database.engine).family)
    except HakobuError as exc:
        return warning("not installed: `hakobu db shell` needs it", exc.fix)
    return ok(f"at {path}")
