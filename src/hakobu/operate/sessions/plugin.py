"""The Session Manager plugin and the processes hakobu hands the terminal to.

Argument lists are built exactly as the AWS CLI builds them
(awscli/customizations/ecs/executecommand.py for ECS Exec,
awscli/customizations/sessionmanager.py for `ssm start-session`): same arguments, same
order, the same user signals ignored in the parent while the plugin owns the terminal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from hakobu.aws.clients import ClientSource
from hakobu.core.errors import PreflightError

PLUGIN = "session-manager-plugin"


# Plugins newer than this read the start-session response from this variable, so the
# session token is not visible in `ps`; the AWS CLI passes the variable's *name* to them.
SESSION_RESPONSE_VARIABLE = "AWS_SSM_START_SESSION_RESPONSE"
LAST_PLUGIN_WITHOUT_VARIABLE = (1, 2, 497, 0)
# The keys of the start-session response the plugin needs (not ResponseMetadata).
SESSION_KEYS = ("SessionId", "TokenValue", "StreamUrl")
# Keys the terminal sends as signals: the plugin forwards them to the remote side, so the
# parent must not die of them (the AWS CLI's `ignore_user_entered_signals`).
USER_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)


STOP_TIMEOUT_S = 5.0
PLUGIN_INSTALL = (
    "install the Session Manager plugin. macOS: `brew install --cask session-manager-plugin`. "
    "Linux (Debian/Ubuntu): `curl "
    '"https://s3.amazonaws.com/session-manager-downloads/plugin/latest/ubuntu_64bit/'
    'session-manager-plugin.deb" -o "session-manager-plugin.deb" && sudo dpkg -i '
    "session-manager-plugin.deb`. Check it with `session-manager-plugin --version`"
)


class Aws(ClientSource, Protocol):
    """What sessions need of a `Target`: its clients, and what a child process (the
    Session Manager plugin, mysql) must be given to reach the same place."""

    region: str
    masked: tuple[str, ...]

    def environment(self) -> dict[str, str]: ...


def exec_plugin_argv(
    session: Mapping[str, Any], region: str, profile: str, target: str, endpoint: str
) -> list[str]:
    """The plugin's argv for an ECS Exec session, in the AWS CLI's order."""
    return [
        PLUGIN,
        json.dumps(session),
        region,
        "StartSession",
        profile,
        json.dumps({"Target": target}),
        endpoint,
    ]


def start_session_plugin_argv(
    response: Mapping[str, Any],
    request: Mapping[str, Any],
    region: str,
    profile: str,
    endpoint: str,
    plugin_version: str,
) -> tuple[list[str], dict[str, str]]:
    """The plugin's argv for an `ssm.start_session` response, and variables to add.

    As `aws ssm start-session`: only SessionId/TokenValue/StreamUrl are passed, through
    AWS_SSM_START_SESSION_RESPONSE when the plugin is new enough to read it, else as JSON.
    """
    session = json.dumps({key: response[key] for key in SESSION_KEYS})
    variables: dict[str, str] = {}
    if plugin_reads_variable(plugin_version):
        variables[SESSION_RESPONSE_VARIABLE] = session
        session = SESSION_RESPONSE_VARIABLE
    argv = [PLUGIN, session, region, "StartSession", profile, json.dumps(request), endpoint]
    return argv, variables


def plugin_reads_variable(version: str) -> bool:
    """True if a plugin reporting `version` is newer than 1.2.497.0 (an invalid one: no)."""
    cleaned = re.sub(r"\s+", "", version)
    if not re.fullmatch(r"\d+(\.\d+){0,3}", cleaned):
        return False
    parts = [int(part) for part in cleaned.split(".")]
    return tuple(parts + [0] * (4 - len(parts))) > LAST_PLUGIN_WITHOUT_VARIABLE


def require_plugin() -> str:
    """The plugin's path; `PreflightError` with the install commands if it is missing."""
    path = shutil.which(PLUGIN)
    if path is None:
        raise PreflightError(
            f"{PLUGIN} is not installed: ECS Exec and SSM tunnels hand the session to it, "
            "as the AWS CLI does",
            PLUGIN_INSTALL,
        )
    return path


@contextmanager
def ignoring_user_signals() -> Iterator[None]:
    """Ctrl-C, Ctrl-\\ and Ctrl-Z belong to the child while it runs, not to hakobu."""
    previous = [signal.signal(sig, signal.SIG_IGN) for sig in USER_SIGNALS]
    try:
        yield
    finally:
        for sig, handler in zip(USER_SIGNALS, previous, strict=True):
            signal.signal(sig, handler)


def run_plugin(argv: list[str], env: Mapping[str, str]) -> int:
    """Run the plugin in the foreground; its exit code.

    Like the AWS CLI, the signals are ignored *before* the plugin starts: it inherits that
    and installs its own handlers, which forward the keys to the remote session.
    """
    with ignoring_user_signals():
        try:
            return exit_status(subprocess.call(argv, env=dict(env)))
        except FileNotFoundError:
            raise PreflightError(f"{PLUGIN} could not be started", PLUGIN_INSTALL) from None


def run_foreground(argv: list[str], env: Mapping[str, str] | None = None) -> int:
    """Run a program that owns the terminal (mysql); hakobu ignores the user's signals
    only once it has started, so the program begins with its normal handlers."""
    child = subprocess.Popen(argv, env=None if env is None else dict(env))
    with ignoring_user_signals():
        return exit_status(child.wait())


def exit_status(code: int) -> int:
    """A child's return code as a shell reports it: killed by signal N is 128 + N."""
    return 128 - code if code < 0 else code


def profile_name(aws: Aws) -> str:
    """The profile the plugin should use, as the AWS CLI passes it ("" when none is set)."""
    if aws.sandbox:
        return ""
    import botocore.session  # lazily: ~80 ms, and only a session hand-off needs it

    return str(botocore.session.get_session().get_config_variable("profile") or "")


def child_environment(aws: Aws, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's environment for a child, pointed where hakobu's own calls go."""
    variables = {k: v for k, v in os.environ.items() if k not in aws.masked}
    return {**variables, **aws.environment(), **(extra or {})}


def plugin_version() -> str:
    try:
        result = subprocess.run([PLUGIN, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip()


def stop_process(child: subprocess.Popen[bytes]) -> None:
    """SIGINT (the plugin's clean exit), then SIGTERM, then SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if child.poll() is not None:
            return
        child.send_signal(sig)
        try:
            child.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
