"""`hakobu init` reads a Procfile: its lines other than web become [processes.NAME].

`web` is the service behind the load balancer (its command stays the Dockerfile's CMD);
`release` is Heroku's release phase, which hakobu runs as deploy.release_command. A line
that uses the shell (`$PORT`, `&&`, ...) runs through `sh -c`.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from hakobu.core.config.processes import PROCESS_NAME, reserved_suffixes

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
SHELL = re.compile(r"[$&|;<>`]")


@dataclass(frozen=True)
class ProcfileEntry:
    name: str
    command: tuple[str, ...]


@dataclass(frozen=True)
class Procfile:
    processes: tuple[ProcfileEntry, ...]  # beside web, hakobu names
    notes: tuple[str, ...]  # what was skipped or kept, for people


def read_procfile(root: Path) -> Procfile | None:
    path = root / "Procfile"
    if not path.is_file():
        return None
    entries: list[ProcfileEntry] = []
    notes: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = LINE.match(line.strip())
        if not match or line.lstrip().startswith("#"):
            continue
        raw_name, command = match.group(1), match.group(2).strip()
        name = raw_name.lower().replace("_", "-")
        if name == "web":
            notes.append("web: the service behind the load balancer (the Dockerfile's CMD)")
        elif name == "release":
            notes.append(f"release: set deploy.release_command = {json.dumps(command)}")
        elif not PROCESS_NAME.match(name) or name in reserved_suffixes():
            notes.append(f"{raw_name}: skipped (not a name hakobu can give a service)")
        else:
            entries.append(ProcfileEntry(name, _argv(command)))
    return Procfile(tuple(entries), tuple(notes))


def _argv(command: str) -> tuple[str, ...]:
    if SHELL.search(command):
        return ("sh", "-c", command)
    return tuple(shlex.split(command))


def processes_toml(procfile: Procfile) -> str:
    """The [processes.NAME] sections for hakobu.toml, with the defaults written out."""
    sections = []
    for entry in procfile.processes:
        # JSON strings are TOML basic strings: quotes and backslashes arrive escaped.
        command = ", ".join(json.dumps(word) for word in entry.command)
        sections.append(
            f"[processes.{entry.name}]        # from the Procfile\n"
            f"command = [{command}]\n"
            "cpu = 256\nmemory = 512\ndesired_count = 1\n"
            "# spot = true                  # Fargate Spot: cheaper, stopped at 2 minutes' notice\n"
        )
    return "\n".join(sections)


def init_notes(procfile: Procfile | None) -> list[str]:
    """What `hakobu init` says about the Procfile (storage: `provision.storage_hint`)."""
    if procfile is None:
        return []
    found = ", ".join(f"[processes.{e.name}]" for e in procfile.processes) or "no other process"
    return [f"Procfile: {'; '.join([found, *procfile.notes])}."]
