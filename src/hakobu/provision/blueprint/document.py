"""A small typed builder for Terraform JSON documents.

Each part of the architecture returns a `Fragment`; `merge` joins them into one
document. References are plain Terraform interpolation strings, built by `ref`, so the
rendered JSON reads like hand-written Terraform when ejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Body = dict[str, Any]


def ref(address: str, attribute: str = "id") -> str:
    """An interpolation such as `${aws_vpc.main.id}`."""
    return f"${{{address}.{attribute}}}"


def literal(text: str) -> str:
    """Escape a value so Terraform does not read `${` or `%{` in it as a template."""
    return text.replace("${", "$${").replace("%{", "%%{")


def literal_words(words: list[str]) -> list[str]:
    """A command as the user wrote it: a shell's `${VAR}` is the shell's, not Terraform's."""
    return [literal(word) for word in words]


@dataclass
class Fragment:
    """The resources, data sources, ephemeral resources and outputs of one part."""

    part: str
    resources: dict[str, dict[str, Body]] = field(default_factory=dict)
    data: dict[str, dict[str, Body]] = field(default_factory=dict)
    ephemeral: dict[str, dict[str, Body]] = field(default_factory=dict)
    outputs: dict[str, Body] = field(default_factory=dict)
    # Extra AWS provider configurations (`alias` + `region`), e.g. us-east-1 for CloudFront.
    providers: list[Body] = field(default_factory=list)

    def resource(self, kind: str, name: str, body: Body) -> str:
        """Add a resource; return its address (`aws_vpc.main`)."""
        self.resources.setdefault(kind, {})[name] = body
        return f"{kind}.{name}"

    def data_source(self, kind: str, name: str, body: Body) -> str:
        self.data.setdefault(kind, {})[name] = body
        return f"data.{kind}.{name}"

    def ephemeral_resource(self, kind: str, name: str, body: Body) -> str:
        self.ephemeral.setdefault(kind, {})[name] = body
        return f"ephemeral.{kind}.{name}"

    def output(self, name: str, value: str, description: str, sensitive: bool = False) -> None:
        body: Body = {"value": value, "description": description}
        if sensitive:
            body["sensitive"] = True
        self.outputs[name] = body


def merge(header: Body, fragments: list[Fragment]) -> Body:
    """Join fragments under a header (terraform + provider blocks); names must not clash."""
    document: Body = dict(header)
    for section, attribute in (
        ("resource", "resources"),
        ("data", "data"),
        ("ephemeral", "ephemeral"),
    ):
        merged: dict[str, dict[str, Body]] = {}
        for fragment in fragments:
            for kind, named in getattr(fragment, attribute).items():
                target = merged.setdefault(kind, {})
                clash = target.keys() & named.keys()
                if clash:
                    raise ValueError(f"{section} {kind}.{sorted(clash)[0]} defined twice")
                target.update(named)
        if merged:
            document[section] = merged
    outputs: Body = {}
    for fragment in fragments:
        outputs.update(fragment.outputs)
    if outputs:
        document["output"] = outputs
    aliases = [alias for fragment in fragments for alias in fragment.providers]
    if aliases:
        # Each alias inherits the default configuration (default tags) and overrides it.
        default = document["provider"]["aws"]
        document["provider"] = {"aws": [default, *({**default, **a} for a in aliases)]}
    return document
