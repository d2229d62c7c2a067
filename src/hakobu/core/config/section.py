"""What every hakobu.toml section is built on: a strict msgspec struct and `KeyProblem`.

msgspec, not pydantic: every command reads hakobu.toml, and importing pydantic and building
these models cost about 0.2 s of each start-up, more than `hakobu cost` and `hakobu
diagram` do in all (docs/design.md, "Start-up"). msgspec checks the types, the ranges
(`Annotated[int, Meta(ge=..., le=...)]`) and the unknown keys; each section's own rules
are its `__post_init__`, which msgspec runs when it reads the section and also when code
builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


class KeyProblem(ValueError):
    """Raised by a section's checks so the error names the exact key and carries a fix.

    A ValueError: msgspec then reports it with the section's place in the file (`- at
    $.service`) and keeps it as the error's cause, where `messages.py` finds it.
    """

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix


class Section(msgspec.Struct, forbid_unknown_fields=True):
    """A table of hakobu.toml: unknown keys are errors (a typo must not be silently
    ignored), and TOML's types are taken as they are ("1024" or true is not a number).

    msgspec does not pass `kw_only` on to subclasses: a section with a required key after
    optional ones says `kw_only=True` itself.
    """


def within(prefix: str, check: Callable[[], None]) -> None:
    """Run `check`, naming any key it reports under `prefix` (a nested table's path)."""
    try:
        check()
    except KeyProblem as problem:
        raise KeyProblem(f"{prefix}.{problem.key}", problem.problem, problem.fix) from None


def field(default_factory: Callable[[], Any]) -> Any:
    """A default built fresh for every struct (a section, a list, a table)."""
    return msgspec.field(default_factory=default_factory)
