"""A table changed through coord2 under statements coord1's sessions prepared or ran
before: the same answers and errors as one plain PostgreSQL server, where both sessions
are on the same server.

The table is dropped and created again (distributed by another column, or with another
column type), or has a column added or dropped (ALTER TABLE). Read before and after by
statements of a session using the simple protocol and of one preparing everything
(psycopg's prepare_threshold=0: every statement a named prepared statement): plain and
`SELECT *` queries, SQL PREPARE/EXECUTE, PL/pgSQL functions whose plans the catalog
server cached (`f`, `g`, `h`), views (one naming its columns, one `SELECT *`) and a DO
block. PostgreSQL replans each; a prepared statement whose result columns changed is
refused (0A000 "cached plan must not change result type"), never answered with rows of
another shape than the description its client holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import psycopg
import pytest

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE acc (id int PRIMARY KEY, bal int) DISTRIBUTE BY HASH (id)",
    "INSERT INTO acc SELECT g, g * 10 FROM generate_series(1, 20) g",
    "CREATE VIEW v AS SELECT id, bal FROM acc",
    "CREATE VIEW vs AS SELECT * FROM acc WHERE id < 3",
    "CREATE FUNCTION f(k int) RETURNS int LANGUAGE plpgsql AS "
    "$$ BEGIN RETURN (SELECT sum(bal) FROM acc WHERE id = k); END $$",
    "CREATE FUNCTION g() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM acc); END $$",
    "CREATE FUNCTION h(k int) RETURNS text LANGUAGE plpgsql AS "
    "$$ DECLARE r record; BEGIN SELECT * INTO r FROM acc WHERE id = k; RETURN r::text; END $$",
]

PREPARES = [
    "PREPARE p(int) AS SELECT bal FROM acc WHERE id = $1",
    "PREPARE ps(int) AS SELECT * FROM acc WHERE id = $1",
]

QUERIES = [
    "SELECT bal FROM acc WHERE id = 9",
    "SELECT * FROM acc WHERE id = 9",
    "SELECT * FROM acc",
    "SELECT bal FROM acc WHERE id = %s",
    "SELECT f(9)",
    "SELECT g()",
    "SELECT h(9)",
    "SELECT * FROM v WHERE id = 9",
    "SELECT * FROM vs",
    "EXECUTE p(9)",
    "EXECUTE ps(9)",
    "DO $$ DECLARE r int; BEGIN SELECT bal INTO r FROM acc WHERE id = 9 LIMIT 1; "
    "RAISE NOTICE 'r %', r; END $$",
]

CHANGES = {
    "recreated": [
        "DROP TABLE acc CASCADE",
        "CREATE TABLE acc (id int, bal int) DISTRIBUTE BY HASH (bal)",
        "INSERT INTO acc SELECT 9, g FROM generate_series(1, 3) g",
        "CREATE VIEW v AS SELECT id, bal FROM acc",
        "CREATE VIEW vs AS SELECT * FROM acc WHERE id < 3",
    ],
    "recreated_with_other_types": [
        "DROP TABLE acc CASCADE",
        "CREATE TABLE acc (id int, bal text) DISTRIBUTE BY HASH (id)",
        "INSERT INTO acc SELECT 9, 'b' || g FROM generate_series(1, 3) g",
        "CREATE VIEW v AS SELECT id, bal FROM acc",
        "CREATE VIEW vs AS SELECT * FROM acc WHERE id < 3",
    ],
    "column_added": [
        "ALTER TABLE acc ADD COLUMN extra text DEFAULT 'x'",
        "UPDATE acc SET extra = 'y' WHERE id = 9",
    ],
    "column_dropped": [
        "ALTER TABLE acc ADD COLUMN extra text DEFAULT 'x'",
        "ALTER TABLE acc DROP COLUMN bal CASCADE",
        "ALTER TABLE acc ADD COLUMN bal int DEFAULT 7",
    ],
}


def _plain(sql: str) -> str:
    return re.sub(r" DISTRIBUTE BY HASH \(\w+\)", "", sql)


def _script(first: str, second: str, schema: str, change: str, adapt: Callable[[str], str]) -> list[str]:
    """What coord1's two sessions read before and after `change` ran through `second`."""
    out: list[str] = []
    with psycopg.connect(first, autocommit=True) as setup:
        setup.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            setup.execute(adapt(sql))
    sessions = {"simple": psycopg.connect(first, autocommit=True, prepare_threshold=None),
                "prepared": psycopg.connect(first, autocommit=True, prepare_threshold=0)}
    try:
        notices: list[str] = []
        for conn in sessions.values():
            conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
            conn.execute(f'SET search_path = "{schema}"')
            for sql in PREPARES:
                conn.execute(sql)

        def read(when: str) -> None:
            for round_ in range(2):
                for kind, conn in sessions.items():
                    for sql in QUERIES:
                        notices.clear()
                        try:
                            cur = conn.execute(sql, (9,) if "%s" in sql else None)
                            got = sorted(cur.fetchall()) if cur.description else cur.statusmessage
                        except psycopg.Error as exc:
                            got = f"{exc.sqlstate} {str(exc).splitlines()[0]}"
                        out.append(f"{when} {round_} {kind} {sql[:40]!r}: {got} {notices}")

        read("before")
        with psycopg.connect(second, autocommit=True) as other:
            other.execute(f'SET search_path = "{schema}"')
            for sql in CHANGES[change]:
                other.execute(adapt(sql))
        read("after")
    finally:
        for conn in sessions.values():
            conn.close()
    return out


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_statements_after_a_change_through_the_other_coordinator(
        gridpg_cluster: Cluster, plain_pg: str, schema: str, change: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        expected = _script(plain_pg, plain_pg, schema, change, _plain)
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    got = _script(gridpg_cluster.dsn(0), gridpg_cluster.dsn(1), schema, change, lambda s: s)
    assert any("0A000 cached plan must not change result type" in line for line in expected) \
        or change == "recreated"
    assert got == expected


def test_libpq_statement_over_a_table_made_again_elsewhere(gridpg_cluster: Cluster, schema: str) -> None:
    """A libpq prepared statement pinned to one shard, then (the table re-created through
    coord2 by another column) run on every node, its rows merged on the catalog server:
    the merge's catalog connection keeps the session's search_path (a describe in the
    middle of the statement gave it back to the pool, where the coordinator's own lookup
    reset it: 42P01)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE acc (id int PRIMARY KEY, bal int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO acc SELECT g, g * 10 FROM generate_series(1, 20) g")
        conn.pgconn.prepare(b"moving", b"SELECT bal FROM acc WHERE id = $1 ORDER BY bal")
        for attempt in range(3):
            assert conn.pgconn.exec_prepared(b"moving", [b"9"]).get_value(0, 0) == b"90"
            with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
                other.execute(f'SET search_path = "{schema}"')
                other.execute("DROP TABLE acc")
                other.execute("CREATE TABLE acc (id int, bal int) DISTRIBUTE BY HASH (bal)")
                other.execute(f"INSERT INTO acc SELECT 9, g FROM generate_series(1, {10 + attempt}) g")
            result = conn.pgconn.exec_prepared(b"moving", [b"9"])
            assert result.error_message == b""
            assert [result.get_value(i, 0) for i in range(result.ntuples)] == \
                [str(g).encode() for g in range(1, 11 + attempt)]
            with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
                other.execute(f'SET search_path = "{schema}"')
                other.execute("DROP TABLE acc")
                other.execute("CREATE TABLE acc (id int PRIMARY KEY, bal int) DISTRIBUTE BY HASH (id)")
                other.execute("INSERT INTO acc SELECT g, g * 10 FROM generate_series(1, 20) g")
