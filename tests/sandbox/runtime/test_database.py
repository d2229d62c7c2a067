"""Local database servers standing in for RDS: real mariadbd and postgres on 127.0.0.1.

Clients connect as an app would, over TCP with the password (PyMySQL; psql with PGPASSWORD
in its environment), and from a container through the engine's host gateway.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hakobu.core.errors import HakobuError
from hakobu.sandbox.runtime.database import (
    DatabaseSpec,
    LocalDatabase,
    RunningDatabase,
    family,
    find_server,
    mysql_setup_sql,
    postgres_setup_sql,
    process_alive,
)
from hakobu.sandbox.runtime.engine import ContainerEngine, ContainerSpec
from tests.support.images import (
    engine_or_unavailable,
    http_image,
    python_base,
    unavailable,
    wait_until,
)
from tests.support.needs import missing

# Quotes and a backslash: the statements must escape them, the server must accept them.
PASSWORD = "Pa5s'wo\\rd-" + uuid.uuid4().hex[:8]
RDS_HOST = "app-db.abc123xyz.ap-northeast-1.rds.amazonaws.com"

# --- statements as data ------------------------------------------------------------------


def spec_for(engine: str, data_dir: Path, password: str = "p'w") -> DatabaseSpec:
    return DatabaseSpec(engine, "app_production", "app", password, data_dir)


def test_mysql_setup_creates_the_database_and_a_master_user_for_any_host() -> None:
    assert mysql_setup_sql(spec_for("mysql", Path("/d"), "p'w\\x")) == (
        "FLUSH PRIVILEGES;\n"
        "DELETE FROM mysql.global_priv WHERE User IN ('root', '');\n"
        "FLUSH PRIVILEGES;\n"
        "CREATE DATABASE IF NOT EXISTS `app_production` CHARACTER SET utf8mb4;\n"
        "CREATE USER 'app'@'%' IDENTIFIED BY 'p''w\\\\x';\n"
        "GRANT ALL PRIVILEGES ON *.* TO 'app'@'%' WITH GRANT OPTION;\n"
    )


def test_postgres_setup_creates_the_role_and_its_database() -> None:
    assert postgres_setup_sql(spec_for("postgres", Path("/d"))) == (
        "CREATE ROLE \"app\" LOGIN CREATEDB CREATEROLE PASSWORD 'p''w';\n"
        'CREATE DATABASE "app_production" OWNER "app";\n'
    )


def test_rds_engines_map_to_a_server_family() -> None:
    assert [family(e) for e in ("mysql", "aurora-mysql", "postgres", "aurora-postgresql")] == [
        "mysql", "mysql", "postgres", "postgres",
    ]  # fmt: skip
    with pytest.raises(HakobuError, match="oracle-ee"):
        family("oracle-ee")


def test_the_password_is_not_in_a_repr() -> None:
    assert "p'w" not in repr(spec_for("mysql", Path("/d")))


# --- real servers ------------------------------------------------------------------------


@pytest.fixture(params=["mysql", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalDatabase]:
    engine = request.param
    if find_server(engine) is None:
        unavailable(f"no local {engine} server (Debian: mariadb-server, postgresql)")
    db = LocalDatabase(DatabaseSpec(engine, "app_production", "app", PASSWORD, tmp_path / "db"))
    yield db
    db.stop()


def query(db: LocalDatabase, running: RunningDatabase, sql: str, password: str = PASSWORD,
          user: str = "app") -> list[tuple[str, ...]]:  # fmt: skip
    """Rows as strings, over TCP to 127.0.0.1 with a password, as the app would connect."""
    if db.family == "mysql":
        try:
            import pymysql
        except ImportError:
            missing("PyMySQL", "run .ci/install-test-deps")
        connection = pymysql.connect(
            host=running.host, port=running.port, user=user, password=password,
            database=db.spec.database, connect_timeout=10, autocommit=True,
        )  # fmt: skip
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(str(v) for v in row) for row in cursor.fetchall()]
    psql = [
        "psql", "-h", running.host, "-p", str(running.port), "-U", user, "-d",
        db.spec.database, "-w", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql,
    ]  # fmt: skip
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    result = subprocess.run(psql, env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise PermissionError(result.stderr)
    return [tuple(line.split("\t")) for line in result.stdout.splitlines()]


def refused(db: LocalDatabase, running: RunningDatabase, **login: str) -> bool:
    try:
        query(db, running, "SELECT 1", **login)
    except PermissionError:
        return True
    except Exception as exc:  # PyMySQL's OperationalError (1045 access denied)
        return "denied" in str(exc).lower() or "1045" in str(exc)
    return False


def test_first_start_creates_the_database_and_user_with_its_password(
    database: LocalDatabase,
) -> None:
    running = database.start()
    assert running.host == "127.0.0.1"
    current_user = "SELECT current_user" if database.family == "postgres" else "SELECT user()"
    assert query(database, running, current_user)[0][0].startswith("app")
    assert refused(database, running, password="wrong")
    # No superuser without a password (a container's connection also comes from 127.0.0.1).
    superuser = "postgres" if database.family == "postgres" else "root"
    assert refused(database, running, user=superuser, password="")


def test_start_is_idempotent_and_stop_leaves_no_process(database: LocalDatabase) -> None:
    first = database.start()
    assert database.start() == first
    assert LocalDatabase(database.spec).running() == first  # seen from another instance too
    database.stop()
    assert database.running() is None
    assert not process_alive(first.pid, str(database.data))
    with pytest.raises(ProcessLookupError):
        os.kill(first.pid, 0)


def test_data_survives_stop_and_start_on_the_same_port(database: LocalDatabase) -> None:
    running = database.start()
    query(database, running, "CREATE TABLE notes (body VARCHAR(50))")
    query(database, running, "INSERT INTO notes VALUES ('kept')")
    database.stop()
    again = LocalDatabase(database.spec).start()  # a new process of the sandbox
    assert again.port == running.port and again.pid != running.pid
    assert query(database, again, "SELECT body FROM notes") == [("kept",)]


def test_the_password_is_in_no_argv_and_no_file_of_ours(database: LocalDatabase) -> None:
    database.start()
    secret = PASSWORD.encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            assert secret not in argv, f"pid {entry.name} shows the password"
    # The server keeps a hash; the plain password is nowhere under the data dir (logs included).
    for path in database.spec.data_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert secret not in path.read_bytes(), f"{path} holds the password"


# --- from a container, through the engine's host gateway ----------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> ContainerEngine:
    return engine_or_unavailable(tmp_path_factory.mktemp("engine"))


@pytest.fixture
def labels(engine: ContainerEngine) -> Iterator[dict[str, str]]:
    mine = {"hakobu.sandbox": f"test-{uuid.uuid4().hex[:12]}"}
    yield mine
    engine.remove_all(mine)


def run_to_exit(engine: ContainerEngine, spec: ContainerSpec) -> list[str]:
    started = engine.run(spec)
    wait_until(lambda: not engine.state(started.id).running, f"{spec.name} to exit", 120)
    lines = [line for _, _, line in engine.logs(started.id)]
    assert engine.state(started.id).exit_code == 0, lines
    return lines


MYSQL_CLIENT = """
import os, pymysql
c = pymysql.connect(host=os.environ["DB_HOST"], port=int(os.environ["DB_PORT"]),
                    user="app", password=os.environ["DB_PASSWORD"], database="app_production",
                    autocommit=True, connect_timeout=10)
with c.cursor() as cur:
    cur.execute("CREATE TABLE visits (source VARCHAR(20))")
    cur.execute("INSERT INTO visits VALUES ('container')")
    cur.execute("SELECT USER()")
    print("connected as", cur.fetchone()[0])
"""


def test_a_container_uses_the_mysql_database_by_its_rds_name_with_the_password(
    engine: ContainerEngine, labels: dict[str, str], tmp_path: Path
) -> None:
    if find_server("mysql") is None:
        unavailable("no local mysql server (Debian: mariadb-server)")
    db = LocalDatabase(DatabaseSpec("mysql", "app_production", "app", PASSWORD, tmp_path / "db"))
    try:
        running = db.start()
        lines = run_to_exit(engine, ContainerSpec(
            name=f"hakobu-test-{uuid.uuid4().hex[:12]}", image=python_base(engine),
            command=["python3", "-c", MYSQL_CLIENT], labels=labels,
            environment={"DB_HOST": RDS_HOST, "DB_PORT": str(running.port),
                         "DB_PASSWORD": PASSWORD},
            add_hosts={RDS_HOST: engine.host_gateway},
        ))  # fmt: skip
        # slirp4netns delivers the container's connection from the host's loopback.
        assert lines == ["connected as app@127.0.0.1"]
        assert query(db, running, "SELECT source FROM visits") == [("container",)]
    finally:
        db.stop()


def test_a_container_reaches_postgres_from_loopback_where_password_login_works(
    engine: ContainerEngine, labels: dict[str, str], tmp_path: Path
) -> None:
    """The container image has no PostgreSQL client: it opens the connection and the
    server's own log names the source address; a password login from there is proven above."""
    if find_server("postgres") is None:
        unavailable("no local postgres server (Debian: postgresql)")
    db = LocalDatabase(DatabaseSpec("postgres", "app_production", "app", PASSWORD,
                                    tmp_path / "db"))  # fmt: skip
    try:
        running = db.start()
        image = http_image(engine, tmp_path)
        run_to_exit(engine, ContainerSpec(
            name=f"hakobu-test-{uuid.uuid4().hex[:12]}", image=image, labels=labels,
            entrypoint=["/bin/sh", "-c", f"echo | timeout 5 nc {RDS_HOST} {running.port}; true"],
            add_hosts={RDS_HOST: engine.host_gateway},
        ))  # fmt: skip
        wait_until(
            lambda: "connection received: host=127.0.0.1" in db.log.read_text(),
            "the server to log the container's connection",
        )
        assert query(db, running, "SELECT inet_client_addr()") == [("127.0.0.1",)]
    finally:
        db.stop()
