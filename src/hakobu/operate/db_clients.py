"""The database's own command-line client for `hakobu db shell`: mysql or psql.

Both get the password in a private file, never on their command line (`ps` shows argv)
and never in hakobu's output: mysql an option file given as `--defaults-extra-file`
(it must be the first argument), psql a password file named by PGPASSFILE (libpq's
`.pgpass` format; libpq ignores it unless it is 0600). The file is 0600 in a 0700
directory of its own and goes with that directory when the block ends, however the
client ends. PGPASSWORD is taken out of psql's environment: libpq would prefer it.

Argument lists and file contents are pure functions; nothing here prints.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hakobu.core.engines import Family
from hakobu.core.errors import PreflightError

LOOPBACK = "127.0.0.1"
CLIENTS: dict[Family, tuple[str, ...]] = {"mysql": ("mysql", "mariadb"), "postgres": ("psql",)}
INSTALL: dict[Family, str] = {
    "mysql": "macOS: `brew install mysql-client` (then add its bin directory to PATH); "
    "Debian/Ubuntu: `sudo apt install default-mysql-client`",
    "postgres": "macOS: `brew install libpq` (then add its bin directory to PATH); "
    "Debian/Ubuntu: `sudo apt install postgresql-client`",
}
FILE_NAMES: dict[Family, str] = {"mysql": "client.cnf", "postgres": "pgpass"}


@dataclass(frozen=True)
class ClientCommand:
    """What to run: the argv, and the variables to add to (or take out of) its environment."""

    argv: list[str]
    add: dict[str, str]
    remove: tuple[str, ...] = ()

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        kept = {k: v for k, v in base.items() if k not in self.remove}
        return {**kept, **self.add}


# --- pure -----------------------------------------------------------------------------


def option_file_text(password: str) -> str:
    """A MySQL option file giving the client its password (quoted, backslashes escaped)."""
    escaped = password.replace("\\", "\\\\").replace('"', '\\"')
    return f'[client]\npassword="{escaped}"\n'


def pgpass_text(password: str) -> str:
    """A libpq password file whose one line matches any host, port, database and user
    (the file exists for this one connection); `:` and `\\` escaped as libpq wants."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


def password_file_text(family: Family, password: str) -> str:
    return option_file_text(password) if family == "mysql" else pgpass_text(password)


def client_command(
    family: Family, client: str, password_file: Path, port: int, user: str, database: str
) -> ClientCommand:
    """The client on 127.0.0.1:`port` (a tunnel, or the sandbox's local server)."""
    if family == "mysql":
        argv = [
            client,
            f"--defaults-extra-file={password_file}",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--user={user}",
            database,
        ]
        return ClientCommand(argv, {})
    argv = [
        client,
        f"--host={LOOPBACK}",
        f"--port={port}",
        f"--username={user}",
        # A piped script stops at its first error and exits 3, as mysql's batch mode stops
        # with 1 (interactively, psql just returns to its prompt).
        "--set=ON_ERROR_STOP=1",
        database,
    ]
    return ClientCommand(argv, {"PGPASSFILE": str(password_file)}, remove=("PGPASSWORD",))


def tunnel_example(family: Family, port: int, user: str, database: str) -> str:
    """The line a user can type to connect to 127.0.0.1:`port` by hand."""
    if family == "postgres":
        return f"psql -h {LOOPBACK} -p {port} -U {user} {database}"
    return f"mysql -h {LOOPBACK} -P {port} -u {user} -p {database}"


# --- the machine ----------------------------------------------------------------------


def require_client(family: Family, also: str = "") -> str:
    """The installed client's path; `PreflightError` naming what to install."""
    for name in CLIENTS[family]:
        path = shutil.which(name)
        if path is not None:
            return path
    names = " or ".join(CLIENTS[family])
    raise PreflightError(f"no {names} client is installed", INSTALL[family] + also)


@contextmanager
def password_file(family: Family, password: str) -> Iterator[Path]:
    """The client's password file: 0600 in a private (0700) directory, deleted with the
    directory when the block ends."""
    with tempfile.TemporaryDirectory(prefix="hakobu-db-") as directory:
        path = Path(directory) / FILE_NAMES[family]
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(password_file_text(family, password))
        yield path
