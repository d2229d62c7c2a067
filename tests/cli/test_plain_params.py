"""Plain parameter values (cli/plain_params.py) against typer's own coercion, for the whole app.

hakobu converts plain values (str, bool, int, float, Path, an Enum) without typer's
pydantic adapters. These tests build every command and group of `hakobu.cli.commands.app`
and feed each of their parameters good and bad values through typer's runtime param and
through hakobu's: the value (and its type) or the error (its class and message) must be
the same, so a typer release that converts differently fails here. The usual values (a
canonical string, the parameter's default) must not reach typer's coercion at all: that
is what keeps pydantic out of a run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._coercion import build_runtime_param

from hakobu.cli.commands import app
from hakobu.cli.plain_params import PlainRuntimeParam, plain_runtime_param

# Spellings a command line can carry, good and bad, per kind of parameter.
NUMBERS = ["0", "1", "7", "007", "-3", "+4", "-0", "29", "30", "31", "65535", "65536",
           "1_000", " 5", "5 ", "1.0", "1.5", "0.5", "1e3", "inf", "nan", "0x1f", "abc", "",
           "٣", "9" * 40, "9" * 5000, 0, 30, 100_000, 1.0, 0.5, True]  # fmt: skip
TEXTS = ["web", "", "ünïcode", "--x", "a b", b"bytes", 3]
BOOLS = [True, False, "true", "1", "no", "maybe", ""]


def _parameters() -> Iterator[tuple[str, Any, typer.Context]]:
    """Every parameter of every command and group, with a context for its command."""
    root = typer.main.get_command(app)

    def walk(command: Any, path: list[str], parent: Any) -> Iterator[tuple[str, Any, Any]]:
        ctx = typer.Context(command, info_name=path[-1], parent=parent)
        for param in command.get_params(ctx):
            yield " ".join([*path, param.name]), param, ctx
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name], ctx)

    yield from walk(root, ["hakobu"], None)


PARAMETERS = list(_parameters())


def _paths(tmp_path: Path) -> list[Any]:
    file, folder = tmp_path / "hakobu.toml", tmp_path / "dir"
    file.write_text("")
    folder.mkdir()
    missing = tmp_path / "missing"
    return ["hakobu.toml", "", ".", "./x", "a//b/", "-", str(file), f"{file}/", str(folder),
            f"{folder}/", str(missing), "~/x", "a\x00b", Path("x"), b"x", 3]  # fmt: skip


def _values(annotation: Any, paths: list[Any]) -> list[Any]:
    if annotation is bool:
        return BOOLS
    if annotation is str:
        return TEXTS
    if annotation in (int, float):
        return NUMBERS
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return paths
    assert issubclass(annotation, enum.Enum), annotation
    members = list(annotation)
    return [*members, *(m.value for m in members), *(m.value.upper() for m in members),
            *(m.name for m in members), "nope", "", 1]  # fmt: skip


def _usual(annotation: Any, param: Any) -> list[Any]:
    """What a command line normally gives: a canonical spelling, or the default."""
    default = [param.default] if param.default is not None else []
    if annotation is bool:
        return [True, False, *default]
    if annotation is str:
        return ["web", "", *default]
    if annotation in (int, float):
        info = param.type_descriptor.parameter_info
        low = info.min if info.min is not None else 0
        return [str(int(low)), str(int(low) + 1), *default]
    if issubclass(annotation, Path):
        return ["hakobu.toml", "out", *default]
    return [*(m.value for m in annotation), *default]


def _outcome(runtime: Any, value: Any, param: Any, ctx: typer.Context) -> tuple[Any, ...]:
    try:
        result = runtime.coerce(value, param=param, ctx=ctx)
    except Exception as error:  # any error: the comparison below is the assertion
        message = error.format_message() if isinstance(error, typer.BadParameter) else str(error)
        return "raised", type(error), message
    return "value", type(result), repr(result)


def test_every_plain_parameter_converts_as_typer_does(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    compared = 0
    for label, param, ctx in PARAMETERS:
        descriptor = param.type_descriptor
        plain = plain_runtime_param(descriptor)
        if plain is None:
            continue
        typer_param = build_runtime_param(descriptor)
        for value in [None, *_values(descriptor.annotation, paths)]:
            ours = _outcome(plain, value, param, ctx)
            assert ours == _outcome(typer_param, value, param, ctx), (label, value)
            compared += 1
    assert compared > 2000  # every command's parameters, not a handful


def test_usual_values_never_reach_typers_coercion() -> None:
    for label, param, ctx in PARAMETERS:
        plain = plain_runtime_param(param.type_descriptor)
        if plain is None:
            continue
        for value in [None, *_usual(param.type_descriptor.annotation, param)]:
            plain.coerce(value, param=param, ctx=ctx)
            assert not plain.delegated, (label, value)


def test_only_lists_keep_typers_coercion() -> None:
    kept = {
        repr(param.type_descriptor.annotation)
        for _, param, _ in PARAMETERS
        if plain_runtime_param(param.type_descriptor) is None
    }
    assert kept == {"list[str]"}


@pytest.mark.parametrize("path", [["cost"], ["secrets", "set"], ["db", "shell"], ["exec"]])
def test_the_built_commands_use_it(path: list[str]) -> None:
    """The commands `hakobu` builds (lazily, cli/lazy.py) get the plain conversion."""
    from hakobu.cli.lazy import root_group

    command: Any = root_group()
    ctx = typer.Context(command, info_name="hakobu")
    for word in path:
        command = command.get_command(ctx, word)
        ctx = typer.Context(command, info_name=word, parent=ctx)
    runtimes = [param._runtime_param for param in command.get_params(ctx)]
    assert any(isinstance(r, PlainRuntimeParam) for r in runtimes)
    # A list argument (`exec`'s command) keeps typer's, built when a value comes.
    assert all(r is None or isinstance(r, PlainRuntimeParam) for r in runtimes)
