"""The architecture as Python: each part turns the validated config into Terraform JSON.

`render` assembles the parts into one document that Terraform (or OpenTofu) applies and
that `hakobu eject` writes out for teams that want to own it. It is a pure function of
the configuration: the same config gives the same JSON, byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hakobu.core.config import Environment
from hakobu.provision.blueprint.alarms import alarms
from hakobu.provision.blueprint.autoscaling import autoscaling
from hakobu.provision.blueprint.cdn import cdn
from hakobu.provision.blueprint.ci import ci
from hakobu.provision.blueprint.database import database
from hakobu.provision.blueprint.document import Fragment, merge
from hakobu.provision.blueprint.domain import domain
from hakobu.provision.blueprint.iam import roles
from hakobu.provision.blueprint.load_balancer import load_balancer
from hakobu.provision.blueprint.network import network
from hakobu.provision.blueprint.observability import observability
from hakobu.provision.blueprint.paused import deep_paused
from hakobu.provision.blueprint.processes import processes
from hakobu.provision.blueprint.registry import registry
from hakobu.provision.blueprint.schedules import schedules
from hakobu.provision.blueprint.secrets import secrets
from hakobu.provision.blueprint.security import security_groups
from hakobu.provision.blueprint.service import service
from hakobu.provision.blueprint.storage import storage
from hakobu.provision.blueprint.waf import waf

# Write-only arguments (the DB password) need Terraform 1.11 or OpenTofu 1.11.
REQUIRED_TERRAFORM = ">= 1.11"
# 5.87 brought the write-only `password_wo` and `secret_string_wo` arguments.
REQUIRED_PROVIDER = ">= 5.87, < 7.0"

PARTS = (
    network,
    security_groups,
    load_balancer,
    roles,
    service,
    processes,
    schedules,
    storage,
    database,
    registry,
    secrets,
    observability,
    domain,
    cdn,
    autoscaling,
    alarms,
    waf,
    ci,
)


def fragments(env: Environment) -> list[Fragment]:
    return [build(env) for build in PARTS]


def render(
    env: Environment, backend: dict[str, Any] | None = None, paused: bool = False
) -> dict[str, Any]:
    """The whole Terraform JSON document for one environment.

    `backend` is a Terraform backend block such as `{"s3": {...}}`; the default keeps the
    state in the working directory. `paused` renders the deep-paused shape of
    `hakobu pause --deep` (no NAT Gateway, no ALB, no tasks: see `blueprint.paused`).
    """
    header = {
        "//": f"Rendered by hakobu for {env.app} ({env.name}). Edit hakobu.toml, not this file.",
        "terraform": {
            "required_version": REQUIRED_TERRAFORM,
            "required_providers": {
                "aws": {"source": "hashicorp/aws", "version": REQUIRED_PROVIDER},
            },
            "backend": backend or {"local": {"path": "terraform.tfstate"}},
        },
        "provider": {
            "aws": {
                "region": env.region,
                "default_tags": {
                    "tags": {
                        "App": env.app,
                        "Environment": env.name,
                        "ManagedBy": "hakobu",
                    }
                },
            },
        },
    }
    document = merge(header, fragments(env))
    return deep_paused(document) if paused else document


# Every production-edge part switched on, so its resource types are named in summaries.
EDGE_PROBE = {
    "domain": {"name": "app.example.com", "zone": "example.com", "cdn": True, "waf": True},
    "autoscaling": {},
    "alarms": {"email": ["probe@example.com"]},
}


def part_of_resource_type() -> dict[str, str]:
    """Which part (network, database, ...) each resource type belongs to, for summaries."""
    # Rendering a default environment is cheap and keeps this table from drifting.
    from hakobu.core.config import parse_project

    table: dict[str, str] = {}
    # An Aurora probe too: its database resources are of other types than RDS's.
    for engine in ("mysql", "aurora-mysql"):
        raw = {"app": "probe", "framework": "rails", "database": {"engine": engine}, **EDGE_PROBE}
        env = parse_project(raw, root=Path(".")).environment(None)
        for fragment in fragments(env):
            for kind in fragment.resources:
                table.setdefault(kind, fragment.part)
    return table
