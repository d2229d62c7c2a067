"""The real account a command acts on: its target, the credentials checked first.

Every command (provision, ship and operate alike) asks for it through the CLI's context;
it lives here, in the top library layer, so that the CLI imports no `hakobu.aws` module
(the dependency rule, docs/design.md "Layout and the dependency rule").
"""

from __future__ import annotations

from hakobu.aws.sts import require_caller_identity
from hakobu.core.target import Target


def checked_target(region: str) -> Target:
    """The target of AWS in `region`, once STS has confirmed the credentials: without
    usable ones, a `PreflightError` (exit 2) before Terraform or any other AWS call."""
    target = Target(region=region)
    require_caller_identity(target)
    return target
