"""standard_conforming_strings = off in the simple protocol (psql, and every statement a
client sends without parameters), where gridpg routes a statement it has seen before
without reading it again (StatementRunner.start_query_now): a constant holding a
backslash must be read as the escape string it is, the first time and every time after.
Compared with plain PostgreSQL."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE nss_t (id int PRIMARY KEY, v text)",
    "INSERT INTO nss_t VALUES (1, 'a'), (2, 'it''s'), (3, E'x\\\\y'), (4, E'tab\\there')",
    "SET standard_conforming_strings = off",
    "SET escape_string_warning = off",
]
REPEATED = [
    r"SELECT id FROM nss_t WHERE id = 2 AND v = 'it\'s'",
    r"SELECT id FROM nss_t WHERE id = 3 AND v = 'x\\y'",
    r"SELECT id FROM nss_t WHERE id = 4 AND v = 'tab\there'",
    r"SELECT id, v FROM nss_t WHERE id = 1 AND v <> 'q\' OR id = 3 --'",
    r"UPDATE nss_t SET v = v || '\\' WHERE id = 1 RETURNING v",
]


def _answers(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            conn.execute(sql.encode(), prepare=False)
        for _ in range(4):
            for sql in REPEATED:
                cur = conn.execute(sql.encode(), prepare=False)  # the simple protocol
                out.append((sql, cur.fetchall()))
        conn.execute("RESET standard_conforming_strings")
        out.append(conn.execute("SELECT id, v FROM nss_t ORDER BY id").fetchall())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_routed_simple_statements_read_escape_strings(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _answers(plain_pg, schema)
    assert expected[1][1] == [(3,)]
    assert _answers(gridpg_cluster.dsn(0), schema) == expected
