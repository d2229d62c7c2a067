"""The port the app's image listens on, read from its Dockerfile: the final stage's
`EXPOSE`. Rails 7.2's generated Dockerfile exposes 3000 (Puma), Rails 8's 80 (Thruster in
front of Puma), the Django example 8000; a health check on any other port fails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCKERFILE = "Dockerfile"
_INSTRUCTION = re.compile(r"^\s*(\w+)\s+(.*)$")


@dataclass(frozen=True)
class ExposedPort:
    port: int
    source: str  # where it was read, for people: "EXPOSE 80 in Dockerfile's final stage"


def exposed_port(root: Path) -> ExposedPort | None:
    """The first port of the final stage's last `EXPOSE`, or None (no Dockerfile, no
    EXPOSE, or one naming a build variable such as $PORT)."""
    path = root / DOCKERFILE
    if not path.is_file():
        return None
    stage: list[tuple[str, str]] = []
    for keyword, argument in _instructions(path.read_text(encoding="utf-8", errors="replace")):
        if keyword == "FROM":
            stage = []  # a new stage: only the last one is the image that runs
        stage.append((keyword, argument))
    exposes = [argument for keyword, argument in stage if keyword == "EXPOSE"]
    if not exposes:
        return None
    first = exposes[-1].split()[0].split("/")[0]
    if not first.isdigit():
        return None
    thruster = any("thrust" in argument for keyword, argument in stage if keyword == "CMD")
    via = " (Thruster serves the app there)" if thruster else ""
    return ExposedPort(int(first), f"EXPOSE {first} in {DOCKERFILE}'s final stage{via}")


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, argument) per instruction, comments dropped, `\\` continuations joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not pending and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        match = _INSTRUCTION.match(pending + line)
        pending = ""
        if match:
            found.append((match.group(1).upper(), match.group(2).strip()))
    return found


def port_mismatch(root: Path, configured: int) -> str | None:
    """A warning when hakobu.toml's service.port is not the port the image exposes."""
    exposed = exposed_port(root)
    if exposed is None or exposed.port == configured:
        return None
    return (
        f"service.port = {configured} in hakobu.toml, but the image listens on "
        f"{exposed.port} ({exposed.source}): the load balancer's health checks would fail "
        f"and ECS would roll the deploy back. Set service.port = {exposed.port} (or change "
        "the Dockerfile)."
    )
