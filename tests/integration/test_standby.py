"""PostgreSQL server control: a streaming standby made with pg_basebackup, then promoted."""

from __future__ import annotations

import secrets
import socket
import time
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.pgserver import PgServer, find_pg_bin, make_reachable, run_as_user


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server(directory: Path, name: str, password_file: Path) -> PgServer:
    return PgServer(name, directory / name, "127.0.0.1", _free_port(), directory / "run",
                    directory / "log" / f"{name}.log", find_pg_bin(), password_file)


def test_standby_streams_and_promotes(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("standby")
    make_reachable(directory, run_as_user())
    password_file = directory / "password"
    password = secrets.token_urlsafe(12)
    password_file.write_text(password + "\n")
    primary = _server(directory, "p", password_file)
    standby = _server(directory, "s", password_file)
    primary.init({"fsync": "off"})
    primary.start()
    try:
        dsn = f"postgresql://postgres:{password}@127.0.0.1:{{}}/postgres"
        with psycopg.connect(dsn.format(primary.port), autocommit=True) as conn:
            conn.execute("CREATE TABLE r (a int)")
            conn.execute("INSERT INTO r SELECT generate_series(1, 100)")
        standby.create_standby_of(primary)
        standby.start()
        assert standby.is_in_recovery()
        with psycopg.connect(dsn.format(primary.port), autocommit=True) as conn:
            conn.execute("INSERT INTO r SELECT generate_series(101, 150)")
        deadline = time.monotonic() + 20
        count = 0
        while time.monotonic() < deadline:
            with psycopg.connect(dsn.format(standby.port), autocommit=True) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
                count = conn.execute("SELECT count(*) FROM r").fetchone()[0]
            if count == 150:
                break
            time.sleep(0.1)
        assert count == 150
        with psycopg.connect(dsn.format(standby.port), autocommit=True) as conn:
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("INSERT INTO r VALUES (0)")
        primary.stop("immediate")
        standby.promote()
        with psycopg.connect(dsn.format(standby.port), autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
            conn.execute("INSERT INTO r VALUES (151)")
            assert conn.execute("SELECT count(*) FROM r").fetchone()[0] == 151
    finally:
        standby.stop("immediate")
        primary.stop("immediate")
