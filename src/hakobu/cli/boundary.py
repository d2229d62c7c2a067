"""The CLI's one error boundary: every failure becomes `Error:` + `Fix:` and an exit code.

What hakobu knows is a `HakobuError` (its exit code: 2 for bad input, 1 for a failure,
130 for Ctrl-C). What it did not anticipate is put in the same terms here: an AWS error
not mapped yet, a file that cannot be written or read (`OSError`), a tool that failed or
hung (`subprocess`), a state file that is not valid JSON or TOML. Anything else is a bug,
said as such. No traceback is printed unless asked for: `--traceback` (anywhere before a
`--`) or `HAKOBU_TRACEBACK=1` prints it after the message, for a bug report.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence

from hakobu.core.errors import EXIT_BAD_INPUT, EXIT_FAILURE, HakobuError

TRACEBACK_FLAG = "--traceback"
TRACEBACK_ENV = "HAKOBU_TRACEBACK"
EXIT_INTERRUPTED = 130
TRACEBACK_HINT = "run it again with --traceback and include the output in a bug report"

# Errors about the path a user gave or the directory hakobu writes in: bad input (exit 2).
_PATH_ERRNOS = {
    errno.EACCES: "check its permissions, or choose a path you can write",
    errno.EPERM: "check its permissions, or choose a path you can write",
    errno.EROFS: "the file system is read-only: run hakobu from a writable directory or "
    "choose another path",
    errno.ENOENT: "check that the path exists (its parent directories are created only "
    "where hakobu says so)",
    errno.EISDIR: "a directory stands where a file is expected: move it away or point "
    "--config at the file",
    errno.ENOTDIR: "a file stands where a directory is expected: move it away or choose "
    "another path",
    errno.ENOSPC: "the disk is full: free some space and run it again",
}


def run(app: Callable[..., object], argv: Sequence[str] | None = None) -> None:
    """Run the typer `app` on `argv` (default: the process's) and exit with its code."""
    args, wanted = strip_traceback_flag(list(sys.argv[1:] if argv is None else argv))
    show_traceback = wanted or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")
    try:
        app(args=args, prog_name="hakobu")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        # typer turns a Ctrl-C inside a command into exit 130; this one came outside it.
        _print_error(HakobuError("interrupted"), show_traceback)
        sys.exit(EXIT_INTERRUPTED)
    except BaseException as exc:  # the boundary: nothing escapes as a traceback
        error = as_hakobu_error(exc)
        _print_error(error, show_traceback)
        sys.exit(error.exit_code)


def strip_traceback_flag(args: list[str]) -> tuple[list[str], bool]:
    """`--traceback` is accepted anywhere before `--` (after it, it is the remote
    command's own argument)."""
    end = args.index("--") if "--" in args else len(args)
    head = [arg for arg in args[:end] if arg != TRACEBACK_FLAG]
    return head + args[end:], len(head) != end


def as_hakobu_error(exc: BaseException) -> HakobuError:
    """`exc` in hakobu's terms: what went wrong and what to do next."""
    # Imported on an error only: a command that succeeds need not load them (start-up).
    import json
    import subprocess
    import tomllib

    if isinstance(exc, HakobuError):
        return exc
    if type(exc).__module__.startswith(("botocore", "boto3")):
        from hakobu.core.errors import aws_error

        return aws_error(exc)  # type: ignore[arg-type]
    if isinstance(exc, subprocess.TimeoutExpired):
        return HakobuError(
            f"`{_command(exc.cmd)}` did not finish within {exc.timeout:g} s and was stopped",
            "check that the tool works on its own (run it by hand), then run hakobu again",
        )
    if isinstance(exc, subprocess.CalledProcessError):
        output = (exc.stderr or exc.output or "").strip()
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        return HakobuError(
            f"`{_command(exc.cmd)}` failed with exit code {exc.returncode}"
            + (f":\n{output[-2000:]}" if output else ""),
            "read the tool's message above, fix the cause and run hakobu again",
        )
    if isinstance(exc, (json.JSONDecodeError, tomllib.TOMLDecodeError)):
        return HakobuError(
            f"a file hakobu reads (its state under .hakobu/, or a tool's output) is not "
            f"valid {'JSON' if isinstance(exc, json.JSONDecodeError) else 'TOML'}: {exc}",
            "if a file under .hakobu/ was edited or cut short, restore it or remove it "
            f"(hakobu recreates what it can); else {TRACEBACK_HINT}",
        )
    if isinstance(exc, OSError):
        return os_error(exc)
    return HakobuError(
        f"hakobu failed unexpectedly: {type(exc).__name__}: {exc}",
        f"this is a bug in hakobu: {TRACEBACK_HINT}",
    )


def os_error(exc: OSError) -> HakobuError:
    """A file or directory hakobu could not use, named, with the fix for that errno."""
    where = f" {exc.filename}" if exc.filename is not None else ""
    what = exc.strerror or str(exc)
    fix = _PATH_ERRNOS.get(exc.errno or 0)
    error = HakobuError(f"cannot use{where}: {what}", fix or TRACEBACK_HINT)
    error.exit_code = EXIT_BAD_INPUT if fix else EXIT_FAILURE
    return error


def _command(cmd: object) -> str:
    if isinstance(cmd, (list, tuple)):
        return " ".join(str(part) for part in cmd[:3]) + (" ..." if len(cmd) > 3 else "")
    return str(cmd)


def _print_error(error: HakobuError, show_traceback: bool) -> None:
    from hakobu.cli.context import current_consoles

    report(error)
    if show_traceback:
        import traceback

        current_consoles().err.file.flush()
        traceback.print_exc()


def report(error: HakobuError) -> None:
    from rich.markup import escape

    from hakobu.cli.context import current_consoles

    err = current_consoles().err
    # Messages quote TOML ("[environments.staging]"): never read them as Rich markup; and
    # ARNs hold ":secret:" and the like, which Rich would turn into emoji.
    plain = {"markup": True, "soft_wrap": True, "emoji": False}
    err.print(f"[bold red]Error:[/] {escape(error.problem)}", **plain)
    if error.fix:
        err.print(f"[bold]Fix:[/] {escape(error.fix)}", **plain)
