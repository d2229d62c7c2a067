"""Turning pydantic's and tomllib's errors into one message: the key, the problem, the fix."""

from __future__ import annotations

import difflib
import tomllib
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from hakobu.core.config.schema import CONFIG_FILE, KeyProblem
from hakobu.core.errors import ConfigError


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
    exc: ValidationError,
    model: type[BaseModel],
    prefix: str,
    overridden: dict[str, Any] | None,
) -> ConfigError:
    """Turn pydantic's first error into one message with the key path and the fix."""
    error = exc.errors(include_url=False)[0]
    location = [str(part) for part in error["loc"]]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, KeyProblem):
        location = [*location, cause.key]
        key, problem, fix = _key_path(location), cause.problem, cause.fix
    else:
        key = _key_path(location)
        problem, fix = _describe(error, location, model)
    # A key set in an environment section is reported there; one inherited from the shared
    # settings is reported where the user wrote it.
    if overridden is not None and _has_path(overridden, location):
        key = prefix + key
    elif overridden:
        problem += f" (in [{prefix.rstrip('.')}], with its overrides)"
    return ConfigError(key, problem, fix)


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


def _describe(error: Any, location: list[str], model: type[BaseModel]) -> tuple[str, str]:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        known = _known_keys(model, location[:-1])
        close = difflib.get_close_matches(location[-1], known, n=1)
        hint = f"did you mean {close[0]!r}? Otherwise " if close else ""
        return (
            f"unknown key {location[-1]!r}",
            f"{hint}remove it or use one of: {', '.join(known)}" if known else "remove it",
        )
    if kind == "missing":
        return "this key is required", f"add {location[-1]} = ... to {CONFIG_FILE}"
    if kind == "literal_error":
        return f"{value!r} is not allowed", f"use {error['ctx']['expected']}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {value!r}", "write it without quotes, e.g. 512"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {value!r}", "write it without quotes, e.g. 2 or 0.5"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {value!r}", "write true or false without quotes"
    if kind in ("string_type",):
        return f"expected a string, got {value!r}", "put the value in double quotes"
    if kind in ("list_type",):
        return f"expected a list, got {value!r}", 'write it as ["a", "b"]'
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a table, got {value!r}", f"write it as a [{'.'.join(location)}] section"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        words = {"ge": "at least", "le": "at most", "gt": "more than", "lt": "less than"}
        bounds = " and ".join(f"{words[k]} {v}" for k, v in error["ctx"].items() if k in words)
        return f"{value!r} is out of range", f"use a value {bounds}"
    return error["msg"], "see the comments in a fresh `hakobu init` file for the allowed values"


def _known_keys(model: type[BaseModel], location: list[str]) -> list[str]:
    for part in location:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        # An optional section ([domain], [alarms]) is `Section | None`.
        annotation = next((a for a in get_args(annotation) if a is not type(None)), annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)
