"""Statements Django 5.2's own test suite sends (tests/runtests.py replayed against gridpg
and plain PostgreSQL, h-django9), reproduced with psycopg: each test names what gridpg
did before it was fixed."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def _connect(cluster: Cluster, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(cluster.dsn(0), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


def test_explain_of_a_parenthesized_query(gridpg_cluster: Cluster, schema: str) -> None:
    """queries.test_explain: `QuerySet.union(...).explain()` sends `EXPLAIN (SELECT ...)
    UNION (SELECT ...)`. The parenthesis after EXPLAIN was taken for the option list:
    42601 at "UNION"; `EXPLAIN (SELECT ...)` alone closed the connection (XX000, FATAL)."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TABLE tag (id int PRIMARY KEY, name text)")
        for sql in ('EXPLAIN (SELECT "tag"."id" FROM "tag") UNION (SELECT "tag"."id" FROM "tag" WHERE name = %s)',
                    'EXPLAIN (SELECT id FROM tag WHERE name = %s)',
                    'EXPLAIN (FORMAT JSON) (SELECT id FROM tag) UNION ALL (SELECT id FROM tag WHERE name = %s)',
                    'EXPLAIN VERBOSE (SELECT id FROM tag WHERE name = %s)'):
            rows = conn.execute(sql, ("test",)).fetchall()
            assert rows, sql
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_an_error_at_describe_in_a_block_reports_the_block_failed(gridpg_cluster: Cluster, schema: str) -> None:
    """backends.postgresql.test_server_side_cursors: a named cursor's DECLARE with bound
    parameters that the server refuses (42P10, `SELECT DISTINCT ... ORDER BY` an expression
    not in the list) inside Django's test transaction. The error came from describing the
    statement; ReadyForQuery then said 'T' (in a block) instead of 'E' (failed block), so
    psycopg sent the cursor's CLOSE and got 25P02 where PostgreSQL's client sends nothing."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TABLE person (id serial PRIMARY KEY, first_name text)")
        for sql, params in (
            ("SELECT DISTINCT id FROM person ORDER BY COALESCE(first_name, %s)", ("",)),
            ("SELECT no_such_column FROM person WHERE id = %s", (1,)),
            ("DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT DISTINCT id, COALESCE(first_name, %s) "
             "FROM person ORDER BY COALESCE(first_name, %s)", ("", "")),
        ):
            conn.execute("BEGIN")
            try:
                conn.execute(sql, params)
                raise AssertionError(f"{sql} succeeded")
            except psycopg.errors.Error as exc:
                assert exc.sqlstate in ("42P10", "42703"), exc
            assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.INERROR, sql
            conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        cur = conn.cursor(name="c1", withhold=True)
        try:
            cur.execute("SELECT DISTINCT id FROM person ORDER BY COALESCE(first_name, %s)", ("",))
        except psycopg.errors.InvalidColumnReference:
            pass
        cur.close()  # nothing sent in a failed block; 25P02 before
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT 1").fetchone() == (1,)
