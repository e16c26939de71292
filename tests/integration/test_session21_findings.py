"""Findings of the 2026-12-06 night session (lead)."""

from __future__ import annotations

import psycopg

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
