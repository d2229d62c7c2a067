"""The database clients' command lines and password files (operate/db_clients.py):
exact values, and the file really private and really gone."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hakobu.operate import db_clients

PASSWORD = 'pa:ss\\w"ord'


def test_mysql_gets_its_option_file_first_and_no_password_in_argv() -> None:
    option = Path("/tmp/hakobu-db-x/client.cnf")
    command = db_clients.client_command("mysql", "mariadb", option, 40200, "shop", "shop_db")
    assert command.argv == [
        "mariadb",
        "--defaults-extra-file=/tmp/hakobu-db-x/client.cnf",
        "--host=127.0.0.1",
        "--port=40200",
        "--user=shop",
        "shop_db",
    ]
    assert command.environment({"PGPASSWORD": "x", "HOME": "/h"}) == {
        "PGPASSWORD": "x",
        "HOME": "/h",
    }


def test_psql_gets_pgpassfile_and_loses_a_pgpassword_of_the_users() -> None:
    passfile = Path("/tmp/hakobu-db-x/pgpass")
    command = db_clients.client_command("postgres", "psql", passfile, 40201, "shop", "shop_db")
    assert command.argv == [
        "psql",
        "--host=127.0.0.1",
        "--port=40201",
        "--username=shop",
        "--set=ON_ERROR_STOP=1",
        "shop_db",
    ]
    assert command.environment({"PGPASSWORD": "stale", "HOME": "/h"}) == {
        "HOME": "/h",
        "PGPASSFILE": "/tmp/hakobu-db-x/pgpass",
    }


def test_the_files_escape_what_each_format_treats_specially() -> None:
    assert db_clients.password_file_text("mysql", PASSWORD) == (
        '[client]\npassword="pa:ss\\\\w\\"ord"\n'
    )
    assert db_clients.password_file_text("postgres", PASSWORD) == '*:*:*:*:pa\\:ss\\\\w"ord\n'


@pytest.mark.parametrize("family", ["mysql", "postgres"])
def test_the_password_file_is_private_and_gone_afterwards(family: str) -> None:
    with db_clients.password_file(family, PASSWORD) as path:  # type: ignore[arg-type]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.read_text() == db_clients.password_file_text(family, PASSWORD)  # type: ignore[arg-type]
    assert not path.exists() and not path.parent.exists()


def test_examples_a_user_can_type() -> None:
    assert db_clients.tunnel_example("postgres", 15432, "app", "app_db") == (
        "psql -h 127.0.0.1 -p 15432 -U app app_db"
    )
    assert db_clients.tunnel_example("mysql", 13306, "app", "app_db") == (
        "mysql -h 127.0.0.1 -P 13306 -u app -p app_db"
    )
