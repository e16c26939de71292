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


def test_deeply_nested_statements_answer_or_fail_as_statements(gridpg_cluster: Cluster, schema: str) -> None:
    """A statement nested deeper than the coordinator's recursion (a parse tree of 5,000
    `||`, 800 nested sub-selects) fails with PostgreSQL's 54001 and the session goes on (it
    was closed with "internal error in the coordinator"); one as deep as applications
    generate (600 `||` with a parameter, 30 sub-selects over a distributed table) runs."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.deep (id int PRIMARY KEY, v text)")
        conn.execute(f"INSERT INTO {schema}.deep VALUES (1, 'a'), (2, 'b')")
        for statement in ("SELECT 'a' || " + " || ".join(["'x'"] * 5000),
                          "SELECT " + "(SELECT " * 800 + "1" + ")" * 800):
            try:
                conn.execute(statement)
                raise AssertionError("the statement ran")
            except psycopg.errors.StatementTooComplex as exc:
                assert exc.diag.message_primary == "stack depth limit exceeded"
        assert conn.execute("SELECT 1").fetchone() == (1,)
        row = conn.execute("SELECT %s::text || " + " || ".join(["'x'"] * 600), ("a",)).fetchone()
        assert row == ("a" + "x" * 600,)
        nested = f"SELECT count(*) FROM {schema}.deep WHERE id IN " + \
            f"(SELECT id FROM {schema}.deep WHERE id IN " * 30 + "(1, 2)" + ")" * 30
        assert conn.execute(nested).fetchone() == (2,)
        conn.execute("BEGIN")
        conn.execute(f"UPDATE {schema}.deep SET v = 'c' WHERE id = 1")
        try:
            conn.execute("SELECT " + "(SELECT " * 800 + "1" + ")" * 800)
            raise AssertionError("the statement ran")
        except psycopg.errors.StatementTooComplex:
            pass
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        conn.execute("ROLLBACK")
        assert conn.execute(f"SELECT v FROM {schema}.deep WHERE id = 1").fetchone() == ("a",)
