"""Turning msgspec's and tomllib's errors into one message: the key, the problem, the fix.

msgspec stops at the first error and says it in one line, "Expected `int`, got `str` - at
`$.service.cpu`"; a section's own check is its `KeyProblem`, kept as the error's cause.
This reads the kind and the place from that line, the value from the file, and what the
key allows from the schema's types, so the message says what the user wrote and what to
write instead.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import msgspec

from hakobu.core.config.schema import CONFIG_FILE
from hakobu.core.config.section import KeyProblem
from hakobu.core.errors import ConfigError

# "<what> - at `$.service.cpu`"; no place when the error is the whole file's.
_ERROR_LINE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<place>[^`]*)`)?$", re.DOTALL)
# A place's parts: ".cpu", "[0]", and "[...]" for a key of a table of tables.
_PLACE_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_TYPE_ERROR = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")
_RANGE_ERROR = re.compile(r"^Expected `[^`]+` (?P<op>>=|<=|>|<) (?P<bound>\S+)$")
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_ANY_KEY = "[...]"


def toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """tomllib's message, with the line where an unclosed array or table was opened."""
    message = str(exc)
    if not message.endswith("(at end of document)"):
        return message
    lines = text.splitlines()
    for count in range(len(lines), 0, -1):
        try:
            tomllib.loads("\n".join(lines[: count - 1]))
        except tomllib.TOMLDecodeError:
            continue
        problem = message.removesuffix(" (at end of document)")
        return f"{problem} (opened at line {count}, never closed)"
    return message


def config_error(
    exc: msgspec.ValidationError,
    model: type,
    data: dict[str, Any],
    prefix: str,
    overridden: dict[str, Any] | None,
) -> ConfigError:
    """Turn msgspec's error into one message with the key path and the fix."""
    what, location = _where(exc, model, data)
    cause = exc.__cause__
    if isinstance(cause, KeyProblem):
        location = [*location, *cause.key.split(".")]
        key, problem, fix = _key_path(location), cause.problem, cause.fix
    else:
        problem, fix, location = _describe(what, location, model, data)
        key = _key_path(location)
    return located(key, problem, fix, location, prefix, overridden)


def problem_error(
    problem: KeyProblem, prefix: str, overridden: dict[str, Any] | None
) -> ConfigError:
    """A `KeyProblem` found before the sections were read (its key is the whole path)."""
    location = problem.key.split(".")
    return located(problem.key, problem.problem, problem.fix, location, prefix, overridden)


def located(
    key: str,
    problem: str,
    fix: str,
    location: list[str],
    prefix: str,
    overridden: dict[str, Any] | None,
) -> ConfigError:
    # A key set in an environment section is reported there; one inherited from the shared
    # settings is reported where the user wrote it.
    if overridden is not None and _has_path(overridden, location):
        key = prefix + key
    elif overridden:
        problem += f" (in [{prefix.rstrip('.')}], with its overrides)"
    return ConfigError(key, problem, fix)


def _where(
    exc: msgspec.ValidationError, model: type, data: Any
) -> tuple[str, list[str]]:
    """The error's text and its place as keys. msgspec names a table-of-tables key
    "[...]": that one is found by reading each entry again until one fails the same way."""
    match = _ERROR_LINE.match(str(exc))
    assert match is not None  # the pattern matches any text
    what, place = match["what"], match["place"] or ""
    location: list[str] = []
    for name, index in _PLACE_PART.findall(place):
        part = name or index
        if part != "...":
            location.append(part)
            continue
        found = _failing_entry(model, data, location)
        if found is None:
            return what, location
        key, inner = found
        entry = _where(inner, _entry_type(model, location), _at(data, [*location, key]))
        return entry[0], [*location, key, *entry[1]]
    return what, location


def _failing_entry(
    model: type, data: Any, location: list[str]
) -> tuple[str, msgspec.ValidationError] | None:
    entries = _at(data, location)
    kind = _entry_type(model, location)
    if not isinstance(entries, dict) or kind is None:
        return None
    for key, value in entries.items():
        try:
            msgspec.convert(value, kind)
        except msgspec.ValidationError as error:
            return str(key), error
    return None


def _key_path(location: list[str]) -> str:
    return ".".join(location) if location else "(top level)"


def _has_path(data: dict[str, Any], location: list[str]) -> bool:
    node: Any = data
    for part in location:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _at(data: Any, location: list[str]) -> Any:
    """The value the file gives at `location`, or None."""
    node = data
    for part in location:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _describe(
    what: str, location: list[str], model: type, data: Any
) -> tuple[str, str, list[str]]:
    """The problem and the fix for one of msgspec's errors, and the key it is about."""
    if found := re.fullmatch(r"Object contains unknown field `(.+)`", what):
        location = [*location, found[1]]
        known = _known_keys(model, location[:-1])
        from difflib import get_close_matches  # only a mistyped key needs it

        close = get_close_matches(location[-1], known, n=1)
        hint = f"did you mean {close[0]!r}? Otherwise " if close else ""
        fix = f"{hint}remove it or use one of: {', '.join(known)}" if known else "remove it"
        return f"unknown key {location[-1]!r}", fix, location
    if found := re.fullmatch(r"Object missing required field `(.+)`", what):
        location = [*location, found[1]]
        return "this key is required", f"add {found[1]} = ... to {CONFIG_FILE}", location
    value = _at(data, location)
    if what.startswith("Invalid enum value"):
        allowed = _literal_values(_field_type(model, location))
        return f"{value!r} is not allowed", f"use {_alternatives(allowed)}", location
    if found := _RANGE_ERROR.match(what):
        words = f"{_BOUND_WORDS[found['op']]} {found['bound']}"
        return f"{value!r} is out of range", f"use a value {words}", location
    if found := _TYPE_ERROR.match(what):
        return (*_type_problem(found["expected"], value, location), location)
    return what, "see the comments in a fresh `hakobu init` file for the allowed values", location


def _type_problem(expected: str, value: Any, location: list[str]) -> tuple[str, str]:
    kind = expected.split(" | ")[0]
    if kind == "int":
        return f"expected a whole number, got {value!r}", "write it without quotes, e.g. 512"
    if kind == "float":
        return f"expected a number, got {value!r}", "write it without quotes, e.g. 2 or 0.5"
    if kind == "bool":
        return f"expected true or false, got {value!r}", "write true or false without quotes"
    if kind == "str":
        return f"expected a string, got {value!r}", "put the value in double quotes"
    if kind == "array":
        return f"expected a list, got {value!r}", 'write it as ["a", "b"]'
    if kind == "object":
        return f"expected a table, got {value!r}", f"write it as a [{'.'.join(location)}] section"
    return f"expected {expected}, got {value!r}", "see the comments in a fresh `hakobu init` file"


def _alternatives(values: list[Any]) -> str:
    """'a', 'b' or 'c'."""
    quoted = [repr(value) for value in values]
    if len(quoted) < 2:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


# --- what the schema's types say about a key ----------------------------------------------


def _field_type(model: type, location: list[str]) -> Any:
    """The declared type at `location` (keys of a table of tables and list indexes read
    through), without `| None` and `Annotated`; None when the schema says nothing."""
    kind: Any = model
    for part in location:
        kind = _bare(kind)
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            kind = typing.get_type_hints(kind, include_extras=True).get(part)
        elif get_origin(kind) in (dict, list):
            kind = get_args(kind)[-1] if get_args(kind) else None
        else:
            return None
    return _bare(kind)


def _entry_type(model: type, location: list[str]) -> Any:
    """The type of each entry of the table of tables at `location`."""
    return _field_type(model, [*location, _ANY_KEY])


def _bare(kind: Any) -> Any:
    if get_origin(kind) is typing.Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        kind = options[0] if len(options) == 1 else kind
    if get_origin(kind) is typing.Annotated:
        kind = get_args(kind)[0]
    return kind


def _literal_values(kind: Any) -> list[Any]:
    return list(get_args(kind)) if get_origin(kind) is Literal else []


def _known_keys(model: type, location: list[str]) -> list[str]:
    kind = _field_type(model, location)
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return sorted(kind.__struct_fields__)
    return []
