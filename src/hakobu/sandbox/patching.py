"""Changes to moto's classes that can be undone: the emulator's fixes are installed with these.

Both `sandbox/moto_gaps.py` (answers moto lacks, for Terraform) and the runtime's
`bridge/api_fixes.py` (ECS as the runtime runs it) patch moto in place; a `Patches` keeps
what each changed so that `undo()` puts moto back, newest change first. Its `lock` makes
an installer's "patch unless patched" one step against a concurrent `undo()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any


class Patches:
    """The changes one installer made, in order."""

    def __init__(self) -> None:
        # (owner, attribute, original); None as original: the attribute was added.
        self._made: list[tuple[Any, str, Any]] = []
        # Reentrant: an installer holds it while it patches, and undo() takes it too.
        self.lock = threading.RLock()

    def __bool__(self) -> bool:
        return bool(self._made)

    def wrap(self, owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
        """`owner.name(*args)` becomes `wrapper(original, *args)`."""
        original = getattr(owner, name)

        @wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            return wrapper(original, *args, **kwargs)

        setattr(owner, name, patched)
        self._made.append((owner, name, original))

    def add(self, owner: Any, name: str, function: Callable[..., Any]) -> None:
        """A handler moto lacks; if a later moto has it, moto's is kept."""
        if name in vars(owner):
            return
        setattr(owner, name, function)
        self._made.append((owner, name, None))

    def replace_property(self, owner: Any, name: str, getter: Callable[[Any], Any]) -> None:
        self._made.append((owner, name, vars(owner)[name]))
        setattr(owner, name, property(getter))

    def undo(self) -> None:
        with self.lock:
            while self._made:
                owner, name, original = self._made.pop()
                if original is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
