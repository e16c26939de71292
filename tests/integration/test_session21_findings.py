"""Findings of the 2026-12-06 night session (lead)."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_an_extension_aggregate_does_not_make_max_look_like_user_code(gridpg_cluster: Cluster,
                                                                     schema: str) -> None:
    """With citext installed, its max(citext) and min(citext) made every statement naming
    max() or min() look as if it called user code, so currval() in such a statement was
    refused (0A000). An aggregate over C functions runs no SQL: it no longer counts; one
    over a SQL function still does. Its SQL wrappers (replace(), strpos()) call no sequence
    function, so currval() beside them is served too."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(f"CREATE EXTENSION citext SCHEMA {schema}")
        try:
            conn.execute("CREATE SEQUENCE order_no")
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, label text)")
            last = conn.execute("SELECT nextval('order_no')").fetchone()[0]
            conn.execute("INSERT INTO orders VALUES (%s, 'paper'), (%s, 'pens')", [last, last - 1])
            assert conn.execute("SELECT count(*), max(id) = currval('order_no'), min(label) "
                                "FROM orders WHERE label LIKE 'p%'").fetchone() == (2, True, "paper")
            # citext's SQL wrappers of replace() and strpos() draw from no sequence
            assert conn.execute("SELECT replace(label, 'p', 'P'), currval('order_no') FROM orders "
                                "WHERE strpos(label, 'ap') > 0").fetchall() == [("PaPer", last)]
            # code that draws first still runs before currval, as in PostgreSQL
            conn.execute("CREATE FUNCTION draw() RETURNS bigint LANGUAGE sql AS $$SELECT nextval('order_no')$$")
            assert conn.execute("SELECT draw(), currval('order_no') FROM orders WHERE id = %s",
                                [last]).fetchone() == (last + 1, last + 1)
            # a user aggregate whose step is SQL still goes through the check, and answers
            conn.execute("CREATE FUNCTION add_len(int, text) RETURNS int LANGUAGE sql "
                         "AS 'SELECT $1 + length($2)'")
            conn.execute("CREATE AGGREGATE total_len(text) (sfunc = add_len, stype = int, initcond = '0')")
            assert conn.execute("SELECT total_len(label) FROM orders").fetchone() == (9,)
        finally:
            conn.execute("DROP TABLE IF EXISTS orders")
            conn.execute("DROP EXTENSION citext")


def test_a_read_only_transaction_joins_temp_and_distributed_tables(gridpg_cluster: Cluster, schema: str) -> None:
    """In a read-only transaction, a SELECT over a temp table and a distributed one failed
    (25006 "cannot execute CREATE TABLE AS in a read-only transaction": the distributed
    rows are gathered into a scratch table beside the temp table), and so did a write of the
    temp table reading distributed rows (transactions.sql:110). A SELECT runs aside, over
    copies of the temp tables; a write runs where the temp table is, reading the distributed
    tables through the loopback; one naming them with their schema is refused (0A000)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        conn.execute("CREATE TABLE people (id int PRIMARY KEY, age int, m mood)")
        conn.execute("INSERT INTO people SELECT g, 20 + g, (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::mood "
                     "FROM generate_series(1, 50) g")
        conn.execute("CREATE TEMP TABLE picked (id int, w numeric(6, 2), twice int GENERATED ALWAYS AS (id * 2) "
                     "STORED, m mood)")
        conn.execute("INSERT INTO picked (id, w, m) VALUES (3, 1.25, 'ok'), (7, NULL, 'happy'), (99, 2, 'sad')")
        conn.execute("BEGIN READ ONLY")
        joined = "SELECT p.id, p.age, k.w, k.twice, k.m = p.m FROM picked k JOIN people p USING (id) ORDER BY 1"
        expected = [(3, 23, Decimal("1.25"), 6, False), (7, 27, None, 14, False)]
        assert conn.execute(joined).fetchall() == expected
        assert conn.execute(joined.replace("ORDER BY", "WHERE p.age > %s ORDER BY"), [25],
                            prepare=True).fetchall() == expected[1:]
        assert conn.execute("SELECT count(*) FROM people WHERE id IN (SELECT id FROM picked)").fetchone() == (2,)
        conn.execute("UPDATE picked SET w = 5 WHERE id = 99")  # the temp table alone: PostgreSQL's way
        # writes of the temp table from distributed rows (transactions.sql's UPDATE ... FROM)
        assert conn.execute("UPDATE picked SET w = p.age FROM people p WHERE p.id = picked.id "
                            "RETURNING picked.id, w").fetchall() == [(3, Decimal(23)), (7, Decimal(27))]
        assert conn.execute("INSERT INTO picked (id, m) SELECT id, m FROM people WHERE age = %s",
                            [40]).rowcount == 1
        conn.execute("SAVEPOINT s")
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # would read the catalog server's copy
            conn.execute(f"DELETE FROM picked USING {schema}.people p WHERE p.id = picked.id")
        conn.execute("ROLLBACK TO s")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO people VALUES (100, 1, 'ok')")
        conn.execute("ROLLBACK")
        conn.execute("SET default_transaction_read_only = on")
        conn.execute("DELETE FROM picked USING people p WHERE p.id = picked.id AND p.age > 25")
        assert conn.execute("SELECT id, w FROM picked ORDER BY 1").fetchall() == [(3, Decimal("1.25")),
                                                                                   (99, Decimal(2))]
        conn.execute("RESET default_transaction_read_only")
        assert conn.execute("SELECT count(*) FROM people").fetchone() == (50,)
        conn.execute("DROP TABLE picked")


def test_create_table_as_in_a_read_only_transaction_names_the_command(gridpg_cluster: Cluster, schema: str) -> None:
    """PostgreSQL refuses CREATE TABLE AS in a read-only transaction naming that command;
    gridpg's refusal came from the CREATE TABLE it makes the table with (transactions.sql:114)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE source_rows (id int PRIMARY KEY)")
        conn.execute("BEGIN READ ONLY")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction,
                           match="cannot execute CREATE TABLE AS in a read-only transaction"):
            conn.execute("CREATE TABLE copied AS SELECT * FROM source_rows")
        conn.execute("ROLLBACK")
