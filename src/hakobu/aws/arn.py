"""The parts of an ARN hakobu shows."""

from __future__ import annotations


def last_part(arn: str) -> str:
    """What follows the last "/": a task's id, a revision's `family:revision`, a service's
    name (in the short and the long ARN formats alike; a string without "/" is returned)."""
    return arn.rsplit("/", 1)[-1]
