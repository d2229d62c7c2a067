"""The port check: hakobu.toml's service.port against the port the image exposes."""

from __future__ import annotations

from hakobu.operate.doctor.facts import Facts
from hakobu.operate.doctor.results import Finding, ok, warning
from hakobu.provision.dockerfile import exposed_port, port_mismatch


def check_port(facts: Facts) -> Finding:
    """A health check on a port nothing listens on fails every deploy: say so before."""
    configured = facts.env.settings.service.port
    exposed = exposed_port(facts.env.root)
    mismatch = port_mismatch(facts.env.root, configured)
    if exposed is not None and mismatch:
        return warning(mismatch, f"set service.port = {exposed.port} in hakobu.toml, then "
                       "`hakobu up`")  # fmt: skip
    where = f", as {exposed.source}" if exposed else " (no EXPOSE in a Dockerfile to compare)"
    return ok(f"service.port = {configured}{where}")
