"""Profiles: sets of defaults laid under what hakobu.toml says."""

from __future__ import annotations

import copy
from typing import Any

# Profiles: coherent sets of defaults for the three ways the guide's stack is usually run.
PROFILES: dict[str, dict[str, Any]] = {
    # The guide as written: private tasks behind one NAT Gateway, x86, db.t3.micro.
    "guide": {
        "network": {"nat_gateways": 1},
        "service": {"public_ip": False, "platform": "linux/amd64"},
        "database": {"instance_class": "db.t3.micro", "multi_az": False},
    },
    # The guide's first cost cut: no NAT Gateway (tasks in public subnets with a public IP,
    # reachable only from the ALB), Graviton tasks and database.
    "lean": {
        "network": {"nat_gateways": 0},
        "service": {"public_ip": True, "platform": "linux/arm64"},
        "database": {"instance_class": "db.t4g.micro"},
    },
    # Survives a zone outage: two tasks over both zones, a NAT Gateway per zone, Multi-AZ DB.
    "ha": {
        "network": {"nat_gateways": 2},
        "service": {"desired_count": 2, "public_ip": False},
        "database": {"multi_az": True},
    },
}


def apply_profile(merged: dict[str, Any]) -> dict[str, Any]:
    """The profile's defaults under what the file says: explicit keys always win."""
    profile = merged.get("profile")
    if profile not in PROFILES:
        return merged  # no profile, or an unknown one that validation will report
    defaults = PROFILES[profile]
    engine = (merged.get("database") or {}).get("engine")
    if isinstance(engine, str) and engine.startswith("aurora"):
        # The profiles' classes are RDS micros that Aurora does not have: Aurora keeps
        # its own default (Serverless v2); multi_az still means a copy in the other zone.
        defaults = copy.deepcopy(defaults)
        defaults.get("database", {}).pop("instance_class", None)
    return deep_merge(defaults, merged)


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
