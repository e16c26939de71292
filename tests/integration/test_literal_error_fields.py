"""Errors about a literal of a routed simple-protocol statement, which gridpg's fast path
sends as a parameter (planner/text.normalize_literals): PostgreSQL points at the literal
when its input is invalid (22P02, found while parsing) and gives no position for a
domain's CHECK (23514, found while the statement runs). gridpg put the literal's position
on the domain error too, and the second time the statement's form was run (the fast cycle
of an already prepared form) the node's "unnamed portal parameter $2 = '...'" CONTEXT
reached the client. Compared with plain PostgreSQL: SQLSTATE, position and context."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

STATEMENTS = [
    "INSERT INTO tagged VALUES (1, '{a,b}')",
    "INSERT INTO tagged VALUES (2, '{a,b,c,d}')",
    "INSERT INTO tagged VALUES (3, '{a,b,c,d,e}')",
    "INSERT INTO tagged VALUES ('x', '{a}')",
    "INSERT INTO tagged VALUES ('y', '{a}')",
    "INSERT INTO mailed VALUES (1, 'no-at-sign')",
    "INSERT INTO mailed VALUES (2, 'still-none')",
]


def _run(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE DOMAIN few_tags AS text[] CHECK (cardinality(VALUE) <= 3)")
        conn.execute("CREATE DOMAIN email AS text CHECK (VALUE ~ '@')")
        conn.execute("CREATE TABLE tagged (id int PRIMARY KEY, tags few_tags)")
        conn.execute("CREATE TABLE mailed (id int PRIMARY KEY, addr email)")
        for sql in STATEMENTS:  # simple protocol (no parameters)
            try:
                conn.execute(sql)
                out.append((sql, "ok"))
            except psycopg.Error as exc:
                diag = exc.diag
                out.append((sql, exc.sqlstate, diag.statement_position, diag.context))
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_literal_errors_carry_postgresql_s_fields(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _run(plain_pg, schema)
    assert expected[3][1:3] == ("22P02", "28")
    assert _run(gridpg_cluster.dsn(0), schema) == expected
