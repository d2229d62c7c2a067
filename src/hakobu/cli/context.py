"""One object hands a command what it needs: its environment, its target, its consoles and
the JSON envelope.

A command builds `CommandContext(config, env_name, sandbox)` and asks it for `env` (the
hakobu.toml section, loaded once), `target` (the AWS account, checked with STS first, or
the sandbox emulator, started when needed), `out` / `err` (Rich consoles) and `json`
(the versioned envelope on stdout). What is wired in (the consoles, and how a target is
made) is one `Wiring` object: the app's `obj` when a caller gives one
(`CliRunner().invoke(app, args, obj=Wiring(...))`), else `DEFAULT_WIRING`. Tests swap
that one object, not any module's globals.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

if TYPE_CHECKING:  # imported when a command runs: `hakobu --help` pays for none of them
    from rich.console import Console

    from hakobu.core.config import Environment
    from hakobu.core.target import Target

JSON_VERSION = 1
SANDBOX_BANNER = (
    "SANDBOX: this ran against the local AWS emulator. Nothing real was created, nothing "
    "is billed, and nothing left this machine."
)


class Consoles:
    """stdout and stderr: Rich consoles made on first use, and the raw stdout for JSON and
    pipes. Made lazily because Rich costs to import and `--help` needs none of it."""

    def __init__(
        self, out: Console | None = None, err: Console | None = None, stdout: TextIO | None = None
    ) -> None:
        self._out = out
        self._err = err
        self._stdout = stdout

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            # emoji=False: hakobu prints ARNs, log lines and names, where ":secret:" or
            # ":ok:" is text; rich need not load its emoji table either.
            self._out = Console(highlight=False, emoji=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, emoji=False)
        return self._err

    @property
    def stdout(self) -> TextIO:
        return self._stdout if self._stdout is not None else sys.stdout

    def write(self, text: str, flush: bool = False) -> None:
        """Plain text on stdout, untouched by Rich (JSON, log lines, a revealed password)."""
        self.stdout.write(text)
        if flush:
            self.stdout.flush()


@dataclass
class Wiring:
    """What a command is given from outside: its consoles and, for tests, a maker of
    targets (None: the real account, or the sandbox emulator)."""

    consoles: Consoles = field(default_factory=Consoles)
    make_target: Callable[[CommandContext], Target] | None = None


DEFAULT_WIRING = Wiring()


def current_wiring() -> Wiring:
    """The running command's wiring: the app's `obj` when a caller gave one, else
    `DEFAULT_WIRING`."""
    from typer.main import get_current_context

    try:
        root = get_current_context().find_root()
    except RuntimeError:  # called outside a command (a library caller, a test)
        return DEFAULT_WIRING
    return root.obj if isinstance(root.obj, Wiring) else DEFAULT_WIRING


def current_consoles() -> Consoles:
    return current_wiring().consoles


def write_json(
    consoles: Consoles, payload: Any, key: str | None = None, indent: int | None = 2
) -> None:
    """The `--json` envelope on stdout: `{"version": 1, KEY: payload}`, or `payload` as
    it is when it carries its own version. `CommandContext.json`, and the commands that
    read no hakobu.toml (`sandbox status`)."""
    document = {"version": JSON_VERSION, key: payload} if key else payload
    import json  # here, not at import: a help screen needs none of it

    consoles.write(json.dumps(document, indent=indent, ensure_ascii=False) + "\n")


@dataclass
class CommandContext:
    """What one command works on. `env` and `target` are resolved on first use, so a
    command that fails on its arguments loads nothing and starts nothing."""

    config: Path
    env_name: str | None = None
    sandbox: bool = False
    wiring: Wiring = field(default_factory=current_wiring)

    @property
    def consoles(self) -> Consoles:
        return self.wiring.consoles

    @property
    def out(self) -> Console:
        return self.consoles.out

    @property
    def err(self) -> Console:
        return self.consoles.err

    @cached_property
    def env(self) -> Environment:
        from hakobu.core.config import load_project

        return load_project(self.config).environment(self.env_name)

    @cached_property
    def target(self) -> Target:
        """Where AWS calls go. A real account's credentials are checked once, with STS,
        before anything runs: no Terraform and no AWS call happens without them."""
        if self.wiring.make_target is not None:
            return self.wiring.make_target(self)
        if self.sandbox:
            return self._sandbox_target()
        from hakobu.operate.account import checked_target

        return checked_target(self.env.region)

    def unchecked_target(self) -> Target:
        """The target without the credentials check, for `doctor`, whose own first check
        reports missing credentials (with the local checks beside it)."""
        if self.sandbox or self.wiring.make_target is not None:
            return self.target
        from hakobu.core.target import Target

        return Target(region=self.env.region)

    def _sandbox_target(self) -> Target:
        from hakobu.core.target import Target
        from hakobu.core.workspace import forget_sandbox_state
        from hakobu.sandbox import emulator

        env = self.env
        server, started = emulator.start(env.root)
        if started:
            forget_sandbox_state(env.root)  # a new emulator starts empty: so does its state
            self.err.print(
                f"Started the sandbox AWS emulator on {server.endpoint} "
                "(`hakobu sandbox stop` ends it)."
            )
        return Target(
            region=env.region,
            endpoint_url=server.endpoint,
            variables=emulator.client_environment(server, env.region),
            masked=emulator.MASKED_VARIABLES,
            stopped=emulator.watchdog(server.pid, env.root),
            runtime=lambda: emulator.wait_for_runtime(env.root),
        )

    def json(self, payload: dict[str, Any], key: str | None = None, indent: int | None = 2) -> None:
        """The `--json` envelope: `{"version": 1, KEY: payload}`, or `payload` as it is
        when it carries its own version (status, doctor, cost)."""
        write_json(self.consoles, payload, key, indent)

    def warn(self, text: str) -> None:
        from rich.markup import escape

        self.err.print(f"[yellow]Warning:[/] {escape(text)}", markup=True, soft_wrap=True)

    def banner(self) -> None:
        """Said after every sandbox run: nothing real happened."""
        if self.sandbox:
            self.out.print(f"[bold yellow]{SANDBOX_BANNER}[/]", markup=True)

    def confirm(self, question: str, default: bool = False) -> bool:
        return typer.confirm(question, default=default)

    def give_up(self, message: str = "Nothing was changed.") -> None:
        """The user said no: say what did (not) happen and exit 1."""
        self.out.print(message)
        raise typer.Exit(1)
