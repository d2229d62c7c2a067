"""The `hakobu` command line: its entry point, `main`.

Nothing is imported here at package import: `hakobu --version` (the first thing a bug
report asks for, and what scripts call to check the install) answers from here without
typer, rich or any command module; anything else runs the root group of cli/lazy.py,
which imports and builds only the command invoked, inside the error boundary
(cli/boundary.py). The typer app with every command registered is
`hakobu.cli.commands.app` (`hakobu.cli.app` is the module that defines it, with only the
commands imported so far).
"""

from __future__ import annotations

import sys

# The root options `--version` can come with; any other argument goes through typer.
_VERSION_OPTIONS = {"--version", "--verbose", "-v", "--traceback"}


def main() -> None:
    args = sys.argv[1:]
    if "--version" in args and set(args) <= _VERSION_OPTIONS:
        from hakobu.cli.versions import version_lines

        verbose = "-v" in args or "--verbose" in args
        print("\n".join(version_lines(verbose)), flush=True)
        return
    from hakobu.cli.boundary import run
    from hakobu.cli.lazy import root_group

    run(root_group())


__all__ = ["main"]
