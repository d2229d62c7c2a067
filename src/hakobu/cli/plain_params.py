"""Parameter values converted without typer's pydantic adapters where the answer is certain.

typer 0.29 converts every parameter's value through a pydantic `TypeAdapter`
(`typer._coercion.build_runtime_param` -> `typer._adapters`): importing pydantic and
building the adapters costs about 0.1 s a run, a third of what `hakobu cost` may take
(bench/startup.py). Most of hakobu's parameters are plain: `str`, `bool`, `int` or
`float` (with `min`/`max`), `Path`, an `Enum` (`Profile`, `diagram`'s `Format`), each also
as `X | None` (typer drops the `None` before this). For those, `PlainRuntimeParam` computes
the value typer's adapter would, for the inputs a command line gives: a canonical string,
or the parameter's own default. Anything else, every value typer would reject included, goes
to typer's own runtime param, built the first time it is needed: error messages stay
typer's by construction, and an unusual spelling (`1_000`, `0x1f`) is never guessed at.
Parameters of other kinds (lists, files, datetimes, custom parsers, `clamp`) keep typer's
coercion from the start.

This builds on typer's private names (the pin in pyproject.toml says which typer was
tested): `cli/help.py` and `cli/lazy.py` import this module inside a `try`, so with a typer
that lacks them, typer's coercion is used for everything. tests/cli/test_plain_params.py
runs every parameter of the whole app through typer's runtime param and this one, with
good and bad values, so a typer that converts differently fails there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MethodType
from typing import Any

from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import choice_coercion_annotation, coerce_cli_choice, coerce_cli_path
from typer._typing import get_origin

# Digits only (ASCII: `re` with a str pattern and [0-9]), as int() and pydantic read them.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class _Unsure(Exception):
    """This value is left to typer's own coercion."""


Converter = Callable[["PlainRuntimeParam", Any, Any, Context], Any]


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    """typer's conversion of one plain parameter, without pydantic for the usual values."""

    descriptor: TypeDescriptor
    convert: Converter

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        try:
            return self.convert(self, value, param, ctx)
        except _Unsure:
            return self.typer_param._coerce_value(value, param=param, ctx=ctx)

    @cached_property
    def typer_param(self) -> RuntimeParam:
        """typer's own runtime param for this parameter (imports pydantic)."""
        return build_runtime_param(self.descriptor)

    @property
    def delegated(self) -> bool:
        """Whether a value has gone to typer's coercion (for tests)."""
        return "typer_param" in self.__dict__


def _bool(plain: PlainRuntimeParam, value: Any, param: Any, ctx: Context) -> Any:
    # A flag's value is a bool already; a string (from an environment variable) is typer's.
    if type(value) is bool:
        return value
    raise _Unsure


def _str(plain: PlainRuntimeParam, value: Any, param: Any, ctx: Context) -> Any:
    if type(value) is str:
        return value
    raise _Unsure


def _number(plain: PlainRuntimeParam, value: Any, param: Any, ctx: Context) -> Any:
    kind = plain.annotation
    if type(value) is kind:
        number = value
    elif type(value) is str and (_INTEGER if kind is int else _DECIMAL).fullmatch(value):
        try:
            number = kind(value)
        except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
            raise _Unsure from None
    else:
        raise _Unsure
    info = plain.parameter_info
    if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        raise _Unsure  # typer's message says which bound
    return number


def _path(plain: PlainRuntimeParam, value: Any, param: Any, ctx: Context) -> Any:
    kind = plain.annotation
    if isinstance(value, kind):
        path = value
    elif type(value) is str:
        path = kind(value)  # what pydantic's Path validation makes of a str
    else:
        raise _Unsure
    try:
        # typer's own checks (exists, file/dir, readable, ...) on that path; its message
        # names the value as typed, so a rejected path is typer's to word. (A NUL byte
        # makes os.stat raise ValueError, which typer's adapter turns into its message.)
        return coerce_cli_path(path, plain.parameter_info, path_type=kind, param=param, ctx=ctx)
    except (BadParameter, ValueError):
        raise _Unsure from None


def _choice(plain: PlainRuntimeParam, value: Any, param: Any, ctx: Context) -> Any:
    choices = choice_coercion_annotation(plain.annotation, plain.parameter_info)
    assert choices is not None  # chosen by plain_runtime_param for this reason
    try:
        # The function typer's choice adapter calls, with the same arguments.
        return coerce_cli_choice(value, choices=choices[0], case_sensitive=choices[1], ctx=ctx)
    except ValueError:
        raise _Unsure from None


def _converter(descriptor: TypeDescriptor) -> Converter | None:
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None:
        return None
    if get_origin(annotation) is not None:  # list[...], tuple[...], Literal[...]
        return None
    if annotation is bool:
        return _bool
    if annotation is str:
        return _str
    if annotation in (int, float):
        return None if info.clamp else _number
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return _path if info.path_type is None else None
    if choice_coercion_annotation(annotation, info) is not None:  # an Enum
        return _choice
    return None


def plain_runtime_param(descriptor: TypeDescriptor) -> PlainRuntimeParam | None:
    """The plain conversion for a parameter of this type, or None to keep typer's."""
    convert = _converter(descriptor)
    if convert is None:
        return None
    return PlainRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=descriptor.annotation,
        descriptor=descriptor,
        convert=convert,
    )


def with_plain_coercion(params: list[Any]) -> list[Any]:
    """`params`, each plain one given a `PlainRuntimeParam` unless it has a runtime param."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if isinstance(descriptor, TypeDescriptor) and getattr(param, "_runtime_param", 0) is None:
            plain = plain_runtime_param(descriptor)
            if plain is not None:
                param._runtime_param = plain
    return params


def install(command: Any) -> None:
    """Give `command` and every command below it plain coercion for their parameters."""
    command.get_params = MethodType(_get_params, command)
    for sub in getattr(command, "commands", {}).values():
        install(sub)


def _get_params(command: Any, ctx: Context) -> list[Any]:
    return with_plain_coercion(type(command).get_params(command, ctx))
