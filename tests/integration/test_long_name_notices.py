"""Identifiers of 64 bytes or more: PostgreSQL's scanner truncates them to 63 bytes and
says so with a NOTICE (42622) for each occurrence in the client's text. gridpg gave it
for some statements (an INSERT's node said it) and not for others (CREATE TABLE, a routed
or merged SELECT, an UPDATE): the coordinator now says it for the client's text and drops
the servers' repetitions (sql/long_names.py). Compared with plain PostgreSQL, in the
simple protocol (psql, several statements in one string) and the extended one."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

LONG = "a_table_with_a_name_that_is_far_too_long_for_postgres_to_keep_whole"
STATEMENTS = [
    f"CREATE TABLE {LONG} (id int PRIMARY KEY, v text)",
    f"INSERT INTO {LONG} VALUES (1, 'x'), (2, 'y')",
    f"SELECT v FROM {LONG} WHERE id = 1",
    f"SELECT count(*) FROM {LONG}",
    f"UPDATE {LONG} SET v = 'z' WHERE id = 2",
    'SELECT 1 AS "ééééééééééééééééééééééééééééééééééééé"',
    f"SELECT count(*) FROM {LONG} AS {LONG.upper()}",
    f"DROP TABLE {LONG}",
]


def _notices(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        said: list[tuple[str | None, str | None]] = []
        conn.add_notice_handler(lambda d: said.append((d.sqlstate, d.message_primary)))
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("SET client_min_messages = notice")
        for sql in STATEMENTS:  # extended protocol (psycopg sends a binary query so)
            said.clear()
            conn.cursor().execute(sql, binary=True)
            out.append((sql, list(said)))
        said.clear()
        conn.execute(";\n".join(STATEMENTS[:5]).encode(), prepare=False)  # one simple query
        conn.execute(f"DROP TABLE {LONG}")
        out.append(("simple", list(said)))
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_truncation_notices_as_postgresql_gives_them(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _notices(plain_pg, schema)
    assert sum(len(n) for _, n in expected) >= 9
    assert _notices(gridpg_cluster.dsn(0), schema) == expected
