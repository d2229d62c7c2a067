"""The policies as customer managed policies a user can create: named, each within AWS's size.

IAM quotas (AWS IAM User Guide, "IAM and AWS STS quotas"): a customer managed policy holds at
most 6,144 characters, whitespace not counted, and a user or role can have 10 managed
policies attached by default. The provision policy is larger than one, so it comes as one
policy per group of its statements (network, edge, compute, iam, data, monitoring), named
`{prefix}-hakobu-provision-{group}`: adding an optional part changes what a policy holds,
not which policies there are. A group that outgrows the limit on its own (a long app name,
many schedules) is split into `-{group}-2`, `-{group}-3`, ... Deploy and operate are one
policy each, `{prefix}-hakobu-deploy` / `-operate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.iam_policies import (
    Kind,
    Scope,
    Statement,
    document,
    policy,
    provision_policy_groups,
)

MANAGED_POLICY_LIMIT = 6144
DEFAULT_ATTACHED_POLICIES = 10


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    document: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "document": self.document}


def size(policy_document: dict[str, Any]) -> int:
    """The characters IAM counts: the document without whitespace outside its strings."""
    return len(json.dumps(policy_document, separators=(",", ":")))


def managed_policies(env: Environment, kind: Kind, scope: Scope) -> list[ManagedPolicy]:
    """What a `kind` user of `env` attaches: one policy, or provision's several."""
    base = f"{Names.of(env).prefix}-hakobu-{kind}"
    if kind != "provision":
        # One document (the tests keep every configuration they know within the limit);
        # one that outgrows it (many workers and schedules and every optional part) is
        # split as provision's groups are, rather than refused by IAM.
        return _named(base, policy(env, kind, scope)["Statement"])
    groups = provision_policy_groups(env, scope)
    return [named for group, part in groups.items() for named in _named(f"{base}-{group}", part)]


def _named(name: str, statements: list[Statement]) -> list[ManagedPolicy]:
    parts = _packed(statements)
    return [
        ManagedPolicy(name + (f"-{number}" if number > 1 else ""), document(part))
        for number, part in enumerate(parts, 1)
    ]


def _packed(statements: list[Statement]) -> list[list[Statement]]:
    """The statements in order, as few documents as fit the limit (none for no statement)."""
    parts: list[list[Statement]] = []
    for statement in statements:
        if parts and size(document([*parts[-1], statement])) <= MANAGED_POLICY_LIMIT:
            parts[-1].append(statement)
            continue
        assert size(document([statement])) <= MANAGED_POLICY_LIMIT, statement["Sid"]
        parts.append([statement])
    return parts
