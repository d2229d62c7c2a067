"""Sessions in the app's environment: ECS Exec shells, one-off tasks, and the database.

The guide's "ECS Execでコンテナに接続", "単発コマンドの実行" and "RDSデータベースへの接続" as
library calls, one module per concern:

- `plugin`: the Session Manager plugin's argument lists and the foreground processes
  (the plugin, mysql/psql) that own the terminal;
- `ecs_exec`: which task a session opens in, why it cannot, and the ECS Exec session;
- `database`: the database's endpoint, user and password;
- `tunnel`: SSM port forwarding to the database, and `db shell` through it;
- `one_off`: one-off tasks of the current revision.

Requests and argument lists are pure functions (tested as exact values); the executors
below them are small. Nothing here prints: the CLI renders what these functions return.
The sandbox's own sessions (the container engine, the local database) are in
operate/sandbox_sessions.py. Callers use the names re-exported here.
"""

from __future__ import annotations

from hakobu.operate.sessions.database import (
    Database,
    PasswordInfo,
    database,
    db_password,
    db_password_info,
)
from hakobu.operate.sessions.ecs_exec import (
    CONSOLE_COMMANDS,
    EXEC_AGENT,
    SHELL_COMMAND,
    ExecTask,
    console_command,
    exec_not_enabled,
    exec_problem,
    exec_session,
    exec_task,
    execute_command_request,
    process_service,
    session_target,
)
from hakobu.operate.sessions.one_off import STARTED_BY, RunResult, run_one_off
from hakobu.operate.sessions.plugin import (
    PLUGIN,
    PLUGIN_INSTALL,
    SESSION_RESPONSE_VARIABLE,
    USER_SIGNALS,
    Aws,
    child_environment,
    exec_plugin_argv,
    exit_status,
    ignoring_user_signals,
    plugin_reads_variable,
    plugin_version,
    profile_name,
    require_plugin,
    run_foreground,
    run_plugin,
    start_session_plugin_argv,
    stop_process,
)
from hakobu.operate.sessions.tunnel import (
    PORT_FORWARDING_DOCUMENT,
    TunnelPlan,
    background_tunnel,
    db_shell,
    forward_port,
    free_port,
    plan_tunnel,
    port_forwarding_request,
    require_free_port,
    wait_for_port,
)

__all__ = [
    "CONSOLE_COMMANDS",
    "EXEC_AGENT",
    "PLUGIN",
    "PLUGIN_INSTALL",
    "PORT_FORWARDING_DOCUMENT",
    "SESSION_RESPONSE_VARIABLE",
    "SHELL_COMMAND",
    "STARTED_BY",
    "USER_SIGNALS",
    "Aws",
    "Database",
    "ExecTask",
    "PasswordInfo",
    "RunResult",
    "TunnelPlan",
    "background_tunnel",
    "child_environment",
    "console_command",
    "database",
    "db_password",
    "db_password_info",
    "db_shell",
    "exec_not_enabled",
    "exec_plugin_argv",
    "exec_problem",
    "exec_session",
    "exec_task",
    "execute_command_request",
    "exit_status",
    "forward_port",
    "free_port",
    "ignoring_user_signals",
    "plan_tunnel",
    "plugin_reads_variable",
    "plugin_version",
    "port_forwarding_request",
    "process_service",
    "profile_name",
    "require_free_port",
    "require_plugin",
    "run_foreground",
    "run_one_off",
    "run_plugin",
    "session_target",
    "start_session_plugin_argv",
    "stop_process",
    "wait_for_port",
]
