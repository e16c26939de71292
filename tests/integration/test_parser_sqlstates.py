"""Text PostgreSQL's parser refuses gets PostgreSQL's SQLSTATE (strings.sql, namespace.sql,
create_table.sql of the regression replay): pglast reports every parser error as 42601,
where PostgreSQL's scanner and grammar give 22025 (an invalid escape), 0A000 (Unicode
escapes without standard_conforming_strings, CREATE SCHEMA IF NOT EXISTS with elements),
22023 (an unknown partitioning strategy)."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

STATEMENTS = [
    r"SELECT E'wrong: \u061'",
    r"SELECT E'wrong: \U0061'",
    r"SELECT U&'wrong: \061'",
    "SET standard_conforming_strings TO off",
    r"SELECT U&'wrong: \061'",
    r"SELECT U&'wrong: \+0061'",
    "SELECT U&'wrong: +0061' UESCAPE '+'",
    "RESET standard_conforming_strings",
    "CREATE TABLE partitioned (a int) PARTITION BY MAGIC (a)",
    "CREATE SCHEMA IF NOT EXISTS ps_schema CREATE TABLE abc (a serial, b int UNIQUE)",
    "SELEC 1",
    "SELECT 1; SELEC 2",
    r"SELECT E'\u0061' AS fine",
]


def _outcomes(dsn: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in STATEMENTS:
            try:
                cur = conn.execute(statement)
                out.append(("ok", cur.fetchall() if cur.description else None))
            except psycopg.Error as exc:
                out.append((exc.sqlstate, exc.diag.message_primary))
    return out


def test_parser_errors_carry_postgresqls_sqlstate(gridpg_cluster: Cluster, plain_pg: str) -> None:
    expected = _outcomes(plain_pg)
    assert _outcomes(gridpg_cluster.dsn(0)) == expected
    assert {o[0] for o in expected} >= {"22025", "0A000", "22023", "42601", "ok"}
