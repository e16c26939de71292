"""Settings given by ALTER ROLE ... SET, ALTER ROLE ... IN DATABASE ... SET and ALTER
DATABASE ... SET hold from login, as in PostgreSQL (pg_db_role_setting, the client's
startup options over them, RESET back to them), through both coordinators and on the
datanodes' connections.

What it guards (h-jepsen8): gridpg's sessions ignored them. An application whose role or
database says `default_transaction_isolation = serializable` ran every transaction in READ
COMMITTED without a word: the on-call write skew PostgreSQL refuses with 40001 committed
both sides, and a transaction over two datanodes ran where SERIALIZABLE is refused (0A000).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster

ROLE = "rs_jepsen_app"
PASSWORD = "rs-secret"

ROLE_SETUP = [
    f"DROP ROLE IF EXISTS {ROLE}",
    f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'",
    f"ALTER ROLE {ROLE} SET statement_timeout = '7s'",
    f"ALTER ROLE {ROLE} IN DATABASE postgres SET statement_timeout = '8s'",
    f"ALTER ROLE {ROLE} SET work_mem = '5MB'",
    f"ALTER ROLE {ROLE} SET rs_jepsen.marker = 'role'",
    f"ALTER ROLE {ROLE} SET default_transaction_isolation = 'serializable'",
    "ALTER DATABASE postgres SET rs_jepsen.marker = 'database'",
    "ALTER DATABASE postgres SET rs_jepsen.db_only = 'db'",
]
ROLE_TEARDOWN = [
    "ALTER DATABASE postgres RESET rs_jepsen.marker",
    "ALTER DATABASE postgres RESET rs_jepsen.db_only",
    f"DROP OWNED BY {ROLE}",
    f"DROP ROLE IF EXISTS {ROLE}",
]

SCRIPT = [
    "SHOW statement_timeout", "SHOW work_mem", "SHOW default_transaction_isolation",
    "SELECT current_setting('rs_jepsen.marker'), current_setting('rs_jepsen.db_only')",
    "BEGIN", "SHOW transaction_isolation", "ROLLBACK",
    "SET work_mem = '9MB'", "RESET work_mem", "SHOW work_mem",
    "SET statement_timeout = 0", "RESET ALL", "SHOW statement_timeout",
]


def _as_role(dsn: str, options: str = "") -> str:
    rest = dsn.split("@", 1)[1]
    return f"postgresql://{ROLE}:{PASSWORD}@{rest}" + (f"?options={options}" if options else "")


def _run(dsn: str, script: list[str]) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in script:
            cur = conn.execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
    return out


@pytest.fixture()
def app_role(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[str]:
    for dsn in (plain_pg, gridpg_cluster.dsn(0)):
        with psycopg.connect(dsn, autocommit=True) as conn:
            for sql in ROLE_SETUP:
                conn.execute(sql)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {ROLE}')
    try:
        yield schema
    finally:
        for dsn in (plain_pg, gridpg_cluster.dsn(0)):
            with psycopg.connect(dsn, autocommit=True) as conn:
                for sql in ROLE_TEARDOWN:
                    conn.execute(sql)


def test_role_and_database_settings_hold_from_login(gridpg_cluster: Cluster, plain_pg: str, app_role: str) -> None:
    expected = _run(_as_role(plain_pg), SCRIPT)
    assert expected[0] == [("8s",)] and expected[2] == [("serializable",)]  # the reference itself
    for coordinator in (0, 1):
        assert _run(_as_role(gridpg_cluster.dsn(coordinator)), SCRIPT) == expected
    # The client's startup options win over the role's; a superuser's login has the database's.
    override = ["SHOW work_mem", "SHOW default_transaction_isolation"]
    options = "-c%20work_mem%3D6MB%20-c%20default_transaction_isolation%3Drepeatable%5C%20read"
    assert _run(_as_role(gridpg_cluster.dsn(1), options), override) == \
        _run(_as_role(plain_pg, options), override) == [[("6MB",)], [("repeatable read",)]]
    marker = ["SELECT current_setting('rs_jepsen.marker')"]
    assert _run(gridpg_cluster.dsn(0), marker) == _run(plain_pg, marker) == [[("database",)]]
    # The datanodes' connections run the session's statements with the role's values.
    table = f'"{app_role}".t'
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {table} SELECT generate_series(1, 8)")
        conn.execute(f"GRANT SELECT ON {table} TO {ROLE}")
    with psycopg.connect(_as_role(gridpg_cluster.dsn(1)), autocommit=True) as conn:
        rows = conn.execute(f"SELECT DISTINCT current_setting('work_mem'), "
                            f"current_setting('statement_timeout') FROM {table}").fetchall()
    assert rows == [("5MB", "8s")]


def _node_of(conn: psycopg.Connection, table: str, key: int) -> str:
    plan = [r[0].strip() for r in conn.execute(f"EXPLAIN SELECT * FROM {table} WHERE id = {key}")]
    return next(line for line in plan if line.startswith("Nodes:"))


def test_a_role_default_of_serializable_is_serializable(gridpg_cluster: Cluster, app_role: str) -> None:
    table = f'"{app_role}".doctors'
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, on_call bool NOT NULL) "
                     "DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {table} SELECT g, true FROM generate_series(1, 20) g")
        conn.execute(f"GRANT SELECT, UPDATE ON {table} TO {ROLE}")
        nodes = {key: _node_of(conn, table, key) for key in range(1, 21)}
    first = 1
    same = next(k for k in range(2, 21) if nodes[k] == nodes[first])
    other = next(k for k in range(2, 21) if nodes[k] != nodes[first])
    with psycopg.connect(_as_role(gridpg_cluster.dsn(0))) as alice, \
            psycopg.connect(_as_role(gridpg_cluster.dsn(1))) as bob:
        # Two doctors on one datanode: each checks that two are on call, then leaves.
        # PostgreSQL's SERIALIZABLE lets one of them commit; the other gets 40001.
        check = f"SELECT count(*) FROM {table} WHERE on_call AND id IN ({first}, {same})"
        assert alice.execute(check).fetchone() == (2,)
        assert bob.execute(check).fetchone() == (2,)
        alice.execute(f"UPDATE {table} SET on_call = false WHERE id = {first}")
        bob.execute(f"UPDATE {table} SET on_call = false WHERE id = {same}")
        alice.commit()
        with pytest.raises(psycopg.errors.SerializationFailure):
            bob.commit()
        bob.rollback()
        # A transaction reaching a second datanode is refused, as for BEGIN ... SERIALIZABLE.
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            alice.execute(f"SELECT count(*) FROM {table} WHERE on_call AND id IN ({first}, {other})")
        alice.rollback()
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        on_call = conn.execute(f"SELECT count(*) FROM {table} WHERE on_call AND id IN ({first}, {same})").fetchone()
    assert on_call == (1,)
