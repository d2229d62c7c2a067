"""A real MySQL (MariaDB) or PostgreSQL server per RDS instance, run as a local process.

Where images cannot be pulled, a database container is not an option; Debian's (or
Homebrew's) server binaries are. Each instance gets its own data directory (kept between
starts, like an RDS volume), listens on 127.0.0.1 only, and is stopped by its PID, which is
recorded next to the data. A task container reaches it through the engine's host gateway
(slirp4netns delivers those connections from 127.0.0.1), so the app's user is created for
any host ('%' in MySQL, every `host` line of pg_hba on loopback), with a password, as RDS does.

The password goes to the server on stdin while no network is up (MariaDB's --bootstrap,
PostgreSQL's single-user mode): never in argv (`ps` shows argv), never in a file or log of
ours; what the server stores is its own hash. Server errors are redacted before they are
raised, in case a server ever echoes a statement.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hakobu.core.errors import HakobuError, PreflightError

LOOPBACK = "127.0.0.1"
MYSQL_FAMILY = ("mysql", "aurora-mysql", "mariadb", "aurora")
POSTGRES_FAMILY = ("postgres", "aurora-postgresql")
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")
POSTGRES_LIBS = Path("/usr/lib/postgresql")  # Debian: one bin/ per major version
START_TIMEOUT_S = 60.0
SETUP_TIMEOUT_S = 120.0
LOG_TAIL_LINES = 15
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
STATE_FILE = "server.json"
LOG_FILE = "server.log"
READY_FILE = "initialised"  # written last: a half-made data dir is made again


@dataclass(frozen=True)
class DatabaseSpec:
    engine: str  # RDS's engine name: mysql, aurora-mysql, postgres, aurora-postgresql
    database: str
    username: str
    password: str = field(repr=False)
    data_dir: Path


@dataclass(frozen=True)
class RunningDatabase:
    pid: int
    port: int
    host: str = LOOPBACK


def family(engine: str) -> str:
    """ "mysql" or "postgres": the server that stands in for RDS's `engine`."""
    if engine in MYSQL_FAMILY:
        return "mysql"
    if engine in POSTGRES_FAMILY:
        return "postgres"
    raise HakobuError(
        f"the sandbox cannot run a local database for engine {engine!r}",
        f"use one of: {', '.join(MYSQL_FAMILY + POSTGRES_FAMILY)}",
    )


def find_server(engine: str) -> Path | None:
    """mariadbd (or MariaDB's mysqld), or postgres (newest of /usr/lib/postgresql, else PATH)."""
    if family(engine) == "mysql":
        return _which("mariadbd") or _which("mysqld")
    versions = sorted(POSTGRES_LIBS.glob("*/bin/postgres"), key=_major_version, reverse=True)
    return versions[0] if versions else _which("postgres")


def _which(name: str) -> Path | None:
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))
    return Path(found) if found else None


def _major_version(server: Path) -> int:
    name = server.parent.parent.name
    return int(name) if name.isdigit() else 0


class LocalDatabase:
    """One database server: its data, its process and its port, under `spec.data_dir`."""

    def __init__(self, spec: DatabaseSpec, port: int | None = None) -> None:
        self.spec = spec
        self.requested_port = port  # None: a free port, chosen on first start and kept
        self.family = family(spec.engine)
        self._process: subprocess.Popen[bytes] | None = None
        root = spec.data_dir
        self.data = root / "data"
        self.log = root / LOG_FILE
        self.state = root / STATE_FILE

    def start(self) -> RunningDatabase:
        """Start the server (initialising the data on first start); idempotent."""
        current = self.running()
        if current is not None:
            return current
        server = find_server(self.spec.engine)
        if server is None:
            raise PreflightError(
                f"no {self.family} server is installed for the sandbox's database",
                "Debian/Ubuntu: `sudo apt-get install mariadb-server postgresql`; "
                "macOS: `brew install mariadb postgresql`",
            )
        self.spec.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (self.spec.data_dir / READY_FILE).exists():
            self._initialise(server)
        return self._launch(server)

    def running(self) -> RunningDatabase | None:
        """The server started for this data, if its process is alive."""
        state = self._read_state()
        pid, port = state.get("pid"), state.get("port")
        if isinstance(pid, int) and isinstance(port, int) and self._alive(pid):
            return RunningDatabase(pid, port)
        return None

    def stop(self, timeout_s: float = 10) -> None:
        """Shut the server down by its PID (KILL after `timeout_s`); nothing running is fine."""
        current = self.running()
        if current is not None:
            # PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its clean, fast
            # shutdown. mariadbd shuts down cleanly on SIGTERM.
            self._signal(
                current.pid, signal.SIGINT if self.family == "postgres" else signal.SIGTERM
            )
            if not self._wait_gone(current.pid, timeout_s):
                self._signal(current.pid, signal.SIGKILL)
                self._wait_gone(current.pid, timeout_s)
            # The port is kept: the next start listens where the app was told to connect.
            self._write_state(None, current.port)

    # --- first start -----------------------------------------------------------------------

    def _initialise(self, server: Path) -> None:
        if self.data.exists():
            shutil.rmtree(self.data)  # left by an interrupted first start
        if self.family == "mysql":
            self._initialise_mysql(server)
        else:
            self._initialise_postgres(server)
        (self.spec.data_dir / READY_FILE).write_text("", encoding="utf-8")

    def _initialise_mysql(self, server: Path) -> None:
        install = _which("mariadb-install-db") or _which("mysql_install_db")
        if install is None or "mariadb" not in _version(server).lower():
            raise PreflightError(
                f"{server} is not MariaDB's server with mariadb-install-db",
                "install MariaDB (Debian: mariadb-server; macOS: brew install mariadb)",
            )
        # --force: else install-db runs `resolveip $(uname -n)`, a lookup of the machine's
        # name that goes to DNS wherever /etc/hosts lacks it (--force skips only that check;
        # --skip-name-resolve still looks the name up). The root accounts it names after
        # the host are deleted below anyway.
        self._setup(
            [str(install), "--no-defaults", f"--datadir={self.data}", *_as_root(),
             f"--tmpdir={self._tmpdir()}", "--auth-root-authentication-method=normal",
             "--skip-test-db", "--force"],
            "mariadb-install-db",
        )  # fmt: skip
        # --bootstrap: SQL from stdin, no network. FLUSH PRIVILEGES loads the grant tables
        # (bootstrap starts without them). install-db's root accounts have no password and
        # would match the containers' 127.0.0.1: they go; the app's user stands in for RDS's
        # master user (every privilege, with grant option).
        self._setup(
            [str(server), "--no-defaults", f"--datadir={self.data}", *_as_root(),
             f"--tmpdir={self._tmpdir()}", "--bootstrap", "--log-warnings=0"],
            "mariadbd --bootstrap",
            stdin=mysql_setup_sql(self.spec),
        )  # fmt: skip

    def _initialise_postgres(self, server: Path) -> None:
        initdb = server.parent / "initdb"
        self._setup(
            [*_unprivileged(), str(initdb), "-D", str(self.data), "--username=postgres",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
             "--locale=C"],
            "initdb",
        )  # fmt: skip
        # Single-user mode: statements from stdin, no network. An error's STATEMENT line
        # (which would carry the password) is never logged at this level.
        self._setup(
            [*_unprivileged(), str(server), "--single", "-D", str(self.data),
             "-c", "log_min_error_statement=panic", "postgres"],
            "postgres --single",
            stdin=postgres_setup_sql(self.spec),
        )  # fmt: skip

    def _setup(self, argv: list[str], step: str, stdin: str | None = None) -> None:
        result = subprocess.run(
            argv, input=stdin or "", capture_output=True, text=True,
            timeout=SETUP_TIMEOUT_S, check=False,
        )  # fmt: skip
        # Output is kept (for the log) only without the password, whatever the server echoed.
        output = self._redact(result.stdout + result.stderr)
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"--- {step}\n{output}")
        # Single-user postgres goes on (exit 0) after a failed statement: its ERROR counts.
        if result.returncode != 0 or (stdin is not None and "ERROR" in output):
            raise HakobuError(
                f"{step} failed for the sandbox database in {self.spec.data_dir}:\n"
                + _tail(output),
                f"remove {self.spec.data_dir} to start from an empty database",
            )

    # --- each start ------------------------------------------------------------------------

    def _launch(self, server: Path) -> RunningDatabase:
        port = self.requested_port or self._saved_port() or free_port()
        for attempt in range(3):
            process = self._spawn(server, port)
            self._write_state(process.pid, port)
            if self._wait_ready(process, port):
                return RunningDatabase(process.pid, port)
            taken = "already in use" in self._log_tail().lower()
            if not taken or self.requested_port is not None or attempt == 2:
                break
            port = free_port()  # another process took the port between choice and bind
        raise HakobuError(
            f"the sandbox's {self.family} server did not start:\n{self._log_tail()}",
            f"see {self.log}",
        )

    def _tmpdir(self) -> Path:
        """MariaDB's own temporary directory: servers set up side by side in one TMPDIR
        collide on its `#sql-temptable-*` names (mariadb-install-db then fails)."""
        path = self.spec.data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _spawn(self, server: Path, port: int) -> subprocess.Popen[bytes]:
        if self.family == "mysql":
            argv = [
                str(server), "--no-defaults", f"--datadir={self.data}", *_as_root(),
                f"--tmpdir={self._tmpdir()}", f"--bind-address={LOOPBACK}", f"--port={port}",
                f"--socket={self._socket()}",
                f"--pid-file={self.spec.data_dir / 'mariadbd.pid'}",
                # No reverse lookups of clients: nothing is looked up outside the machine.
                "--skip-name-resolve",
                # RDS MySQL 8's default character set (MariaDB's is latin1).
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            ]  # fmt: skip
        else:
            argv = [
                *_unprivileged(), str(server), "-D", str(self.data), "-p", str(port),
                "-c", f"listen_addresses={LOOPBACK}",
                "-c", "unix_socket_directories=",  # TCP only: no socket path to outgrow
                "-c", "log_connections=on",
            ]  # fmt: skip
        with self.log.open("ab") as log:
            # Its own session: the server outlives the process that started it (the sandbox
            # server may restart) and a terminal's Ctrl-C does not reach it.
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        return self._process

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if self._accepts(port):
                return True
            time.sleep(0.05)
        self._signal(process.pid, signal.SIGKILL)
        process.wait()
        return False

    def _accepts(self, port: int) -> bool:
        if self.family == "mysql":
            return mysql_greets(port)
        ready = find_server(self.spec.engine)
        pg_isready = ready.parent / "pg_isready" if ready else None
        if pg_isready is None or not pg_isready.exists():
            return _tcp_open(port)
        argv = [str(pg_isready), "-q", "-h", LOOPBACK, "-p", str(port), "-t", "2"]
        return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode == 0

    # --- helpers ---------------------------------------------------------------------------

    def _socket(self) -> Path:
        path = self.spec.data_dir / "mariadbd.sock"
        if len(str(path)) <= SOCKET_PATH_MAX:
            return path
        digest = hashlib.sha256(str(self.spec.data_dir).encode()).hexdigest()[:16]
        return Path("/tmp") / f"hakobu-db-{digest}.sock"

    def _saved_port(self) -> int | None:
        port = self._read_state().get("port")
        return port if isinstance(port, int) else None

    def _read_state(self) -> dict[str, object]:
        try:
            state = json.loads(self.state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, pid: int | None, port: int) -> None:
        self.state.write_text(json.dumps({"pid": pid, "port": port}), encoding="utf-8")

    def _alive(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None  # our child: poll() also reaps it
        return process_alive(pid, str(self.data))

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    @staticmethod
    def _signal(pid: int, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    def _redact(self, text: str) -> str:
        return text.replace(self.spec.password, "********") if self.spec.password else text

    def _log_tail(self) -> str:
        try:
            return _tail(self.log.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return ""


def mysql_setup_sql(spec: DatabaseSpec) -> str:
    """Bootstrap statements: the database, the master user for any host, no root."""
    user = f"'{_mysql_string(spec.username)}'@'%'"
    database = "`" + spec.database.replace("`", "``") + "`"
    return "\n".join([
        "FLUSH PRIVILEGES;",
        "DELETE FROM mysql.global_priv WHERE User IN ('root', '');",
        "FLUSH PRIVILEGES;",
        f"CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4;",
        f"CREATE USER {user} IDENTIFIED BY '{_mysql_string(spec.password)}';",
        f"GRANT ALL PRIVILEGES ON *.* TO {user} WITH GRANT OPTION;",
        "",
    ])  # fmt: skip


def postgres_setup_sql(spec: DatabaseSpec) -> str:
    """Single-user statements (one per line): the master user and its database."""
    role = '"' + spec.username.replace('"', '""') + '"'
    database = '"' + spec.database.replace('"', '""') + '"'
    password = spec.password.replace("'", "''")
    # RDS's master user is no superuser either: it creates databases and roles.
    return (
        f"CREATE ROLE {role} LOGIN CREATEDB CREATEROLE PASSWORD '{password}';\n"
        f"CREATE DATABASE {database} OWNER {role};\n"
    )


def _mysql_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def _as_root() -> list[str]:
    # mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
    return ["--user=root"] if os.geteuid() == 0 else []


def _unprivileged() -> list[str]:
    """A prefix that runs PostgreSQL as a non-root user when we are root.

    postgres refuses to run as root. Rather than switching to another user (who would need
    the data dir chowned to it and every parent directory traversable, and /root and pytest's
    temp dirs are 0700), it runs in a user namespace where our uid appears as the `postgres`
    user's (or `nobody`'s): inside it is not root, owns its data dir, and can read its path;
    outside, the files stay ours and the process is stopped by its PID like any other.
    """
    if os.geteuid() != 0:
        return []
    unshare = _which("unshare")
    if unshare is None:
        raise PreflightError(
            "PostgreSQL cannot run as root and `unshare` (util-linux) is missing",
            "install util-linux, or run the sandbox as a non-root user",
        )
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        account = pwd.getpwnam("nobody")
    return [str(unshare), "--user", f"--map-user={account.pw_uid}",
            f"--map-group={account.pw_gid}"]  # fmt: skip


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def mysql_greets(port: int) -> bool:
    """True once the server sends its handshake (protocol 10), not an error packet."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=2) as connection:
            header = connection.recv(5)
    except OSError:
        return False
    return len(header) == 5 and header[4] == 10


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=2):
            return True
    except OSError:
        return False


def process_alive(pid: int, marker: str) -> bool:
    """`pid` runs (not a zombie) and its argv names `marker` (a reused PID does not)."""
    proc = Path("/proc") / str(pid)
    if not proc.exists():
        try:
            os.kill(pid, 0)  # no /proc (macOS): existence is all we can tell
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        status = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False
    return status not in ("Z", "X") and marker in argv


def _version(server: Path) -> str:
    try:
        result = subprocess.run(
            [str(server), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])
