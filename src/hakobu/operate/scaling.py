"""`hakobu scale`: change the number of tasks now, and record it in hakobu.toml.

The guide scales by editing `desired_count` in ecs.tf and running `terraform apply`.
hakobu calls `ecs.update_service(desiredCount=...)` directly (seconds, no Terraform run)
and writes the same number into hakobu.toml, so the next `hakobu plan` agrees with what
runs: no drift to undo, no surprise scale-down on the next `hakobu up`.

Where the number is written: in the environment's own `[environments.NAME]` section as
`service.desired_count`, never in the shared `[service]` table, because a shared value is
inherited by every environment and scaling production must not scale staging. A worker
(`hakobu scale worker=3`) is recorded the same way, as `processes.NAME.desired_count` of
that section, which hakobu.toml merges over the shared `[processes.NAME]`.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Table

from hakobu.aws.ecs import send_service_update, service_description
from hakobu.core.config import Environment, parse_project
from hakobu.core.config.processes import WEB, workers
from hakobu.core.config.schema import MAX_DESIRED_COUNT, MIN_DESIRED_COUNT
from hakobu.core.errors import HakobuError, InvalidArgument
from hakobu.core.names import Names
from hakobu.core.target import Target

# The bounds hakobu.toml accepts for service.desired_count, so both always agree.
MIN_COUNT, MAX_COUNT = MIN_DESIRED_COUNT, MAX_DESIRED_COUNT


@dataclass(frozen=True)
class ConfigEdit:
    """hakobu.toml after the edit, and the key written (None: it already said so)."""

    text: str
    key: str | None


@dataclass(frozen=True)
class ScaleResult:
    service: str
    previous: int
    desired: int
    config_key: str | None
    config_path: Path

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "previous": self.previous,
            "desired": self.desired,
            "config_key": self.config_key,
            "config_file": str(self.config_path),
        }


# --- pure -------------------------------------------------------------------------------


def parse_count(text: str | int) -> int:
    """The task count from the command line; `InvalidArgument` unless 0..100."""
    try:
        count = int(str(text).strip(), 10)
    except ValueError:
        raise InvalidArgument(
            f"COUNT must be a whole number, got {text!r}",
            f"pass the number of tasks, {MIN_COUNT} to {MAX_COUNT}: hakobu scale 3",
        ) from None
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise InvalidArgument(
            f"COUNT {count} is out of range",
            f"pass {MIN_COUNT} to {MAX_COUNT} ({MIN_COUNT} stops every task and keeps the "
            "service; more than that needs a quota increase and a look at the DB's connections)",
        )
    return count


def parse_target(text: str) -> tuple[str, int]:
    """`3` (web) or `worker=3`: the process and the count; `InvalidArgument` if either is bad."""
    name, equals, count = text.partition("=")
    if not equals:
        return WEB, parse_count(text)
    name = name.strip()
    if not name:
        raise InvalidArgument(
            f"{text!r} names no process",
            "write PROCESS=COUNT, for example: hakobu scale worker=3",
        )
    return name, parse_count(count)


def check_process(env: Environment, process: str) -> None:
    """The process is web or one of hakobu.toml's [processes.NAME]."""
    known = [WEB, *workers(env)]
    if process not in known:
        raise InvalidArgument(
            f"no process named {process!r}",
            f"scale one of: {', '.join(known)} (web, and each [processes.NAME] of hakobu.toml)",
        )


def update_request(cluster: str, service: str, count: int) -> dict[str, Any]:
    """`ecs.update_service` kwargs: only the count. The revision is left as it runs."""
    return {"cluster": cluster, "service": service, "desiredCount": count}


def desired_count_key(env_name: str, process: str = WEB) -> str:
    return f"environments.{env_name}.{'.'.join(_path(process))}.desired_count"


def _path(process: str) -> list[str]:
    """Where a process's count sits in an environment's section."""
    return ["service"] if process == WEB else ["processes", process]


def set_desired_count(text: str, env_name: str, count: int, process: str = WEB) -> ConfigEdit:
    """hakobu.toml with `service.desired_count = count` in `[environments.<env_name>]`.

    tomlkit keeps every comment, blank line and key order; only that one value is added or
    replaced (its trailing comment is kept). A missing section is appended (only the
    implicit `production` of a file without environments can lack one).
    """
    document = tomlkit.parse(text)
    environments = document.get("environments")
    if environments is None:
        environments = tomlkit.table(is_super_table=True)
        document.append("environments", environments)
    section = environments.get(env_name)
    if section is None:
        section = tomlkit.table()
        environments.append(env_name, section)
    path = _path(process)
    node, rest = section, list(path)
    while rest and node.get(rest[0]) is not None:
        node = node[rest.pop(0)]
    if not rest:
        if node.get("desired_count") == count:
            return ConfigEdit(text, None)
        node["desired_count"] = count
    elif isinstance(node, InlineTable):
        node.append(rest[0], _nested(rest[1:], count, tomlkit.inline_table))
    elif isinstance(node, Table) and node.is_super_table():
        # No [environments.NAME] header of its own (only sub-tables such as
        # [environments.NAME.database]): a dotted key here would land in the wrong table.
        table = _nested(rest[1:], count, tomlkit.table)
        table.add(tomlkit.nl())
        node.append(rest[0], table)
    else:
        # The dotted form the generated file uses in its [environments.staging] example.
        _add_after_last_key(node, tomlkit.key([*rest, "desired_count"]), count)
    return ConfigEdit(tomlkit.dumps(document), desired_count_key(env_name, process))


def _nested(names: list[str], count: int, make: Any) -> Any:
    """`{names[0] = {names[1] = ... {desired_count = count}}}` as tables made by `make`."""
    innermost = make()
    innermost.append("desired_count", count)
    for name in reversed(names):
        outer = make()
        outer.append(name, innermost)
        innermost = outer
    return innermost


def _add_after_last_key(section: Table, key: Any, value: int) -> None:
    """Add `key` after the section's last key, before the comments and blank lines that
    close it: those usually introduce what follows (the generated file's commented-out
    [environments.staging] example), and a key below them would read as part of it."""
    container = section.value
    keyed = [index + 1 for index, (name, _) in enumerate(container.body) if name is not None]
    position = max(keyed, default=0)
    if position >= len(container.body) or not hasattr(container, "_insert_at"):
        section.append(key, value)  # nothing closes the section (or an older tomlkit)
    else:
        container._insert_at(position, key, value)


def check_edit(
    before: str, after: str, env_name: str, count: int, root: Path, process: str = WEB
) -> None:
    """Prove the edited file says `count` for this environment and nothing else changed."""
    old = parse_project(tomllib.loads(before), root).environments
    try:
        new = parse_project(tomllib.loads(after), root).environments
    except (tomllib.TOMLDecodeError, HakobuError):
        new = {}
    changed = [
        name
        for name in old
        if name != env_name and (name not in new or old[name].settings != new[name].settings)
    ]
    expected = copy.deepcopy(old[env_name].settings)
    if process == WEB:
        expected.service.desired_count = count
    else:
        expected.processes[process].desired_count = count
    ours = new[env_name].settings if env_name in new else None
    if changed or ours != expected:
        raise HakobuError(
            "hakobu could not record the new count in hakobu.toml without changing "
            f"something else ({', '.join(changed) or env_name})",
            f"set {desired_count_key(env_name, process)} = {count} by hand; nothing was scaled",
        )


# --- executor ---------------------------------------------------------------------------


def scale(
    env: Environment, target: Target, count: int, config_path: Path, process: str = WEB
) -> ScaleResult:
    """Set the process's service's desired count and record it in `config_path` (hakobu.toml).

    Everything that can fail without AWS (the count, the edit of the file, whether the file
    can be written) is checked first; then ECS is updated; then the file is written.
    """
    count = parse_count(count)
    check_process(env, process)
    before = config_path.read_text(encoding="utf-8")
    edit = set_desired_count(before, env.name, count, process)
    if edit.key is not None:
        check_edit(before, edit.text, env.name, count, env.root, process)
        _check_writable(config_path)
    names = Names.of(env)
    service = names.service if process == WEB else names.process(process)
    ecs = target.client("ecs")
    previous = int(service_description(ecs, names.cluster, service)["desiredCount"])
    if previous != count:
        send_service_update(ecs, update_request(names.cluster, service, count))
    if edit.key is not None:
        _write_unless_changed(config_path, before, edit.text, edit.key, count)
    return ScaleResult(service, previous, count, edit.key, config_path)


def _check_writable(path: Path) -> None:
    if not os.access(path, os.W_OK):
        raise HakobuError(
            f"{path} cannot be written; nothing was scaled",
            "make it writable: hakobu records the count there so the next plan agrees",
        )


def _write_unless_changed(path: Path, before: str, after: str, key: str, count: int) -> None:
    """Write the edit, unless someone changed the file since it was read (theirs wins)."""
    if path.read_text(encoding="utf-8") != before:
        raise HakobuError(
            f"the service was scaled, but {path} changed while hakobu ran, so the count "
            "was not recorded",
            f"set {key} = {count} in it, or the next `hakobu up` scales the service back",
        )
    temporary = path.with_name(f".{path.name}.hakobu-tmp")
    temporary.write_text(after, encoding="utf-8")
    os.chmod(temporary, path.stat().st_mode)
    temporary.replace(path)  # atomic: the file is never seen half-written
